"""What every request passes before a route reads it: the key check for bodies, the body
size limit, the failed-key throttle, security headers and the last-resort error answer.

Why an ASGI middleware and not dependencies: FastAPI reads and parses a body *before* any
dependency runs, so a key check in ``deps`` comes after a 200 MB body has been parsed. Here
a request with a body is refused (401, or 429 when throttled) on its headers alone, and an
authenticated one is read up to ``max_body_bytes`` (413 beyond), chunk by chunk, so neither
ever costs more memory than the limit.

Why the last-resort answer is here: Starlette's outermost error middleware sends the
handler's response and then re-raises, and uvicorn answers a re-raised error by closing the
connection without ``Connection: close``, so a pooled client loses its *next* request. An
error caught here never reaches it: the client gets a 503 and its connection stays usable.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from serving.errors import ServingError, error_headers

__all__ = ["FailedKeyThrottle", "RequestGuard", "SECURITY_HEADERS", "PAGE_POLICY"]

logger = logging.getLogger("serving")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
# The risk-list pages are self-contained (inline style, inline sort script, inline SVG):
# nothing else may load, frame them or receive their forms.
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PRIVATE_PREFIXES = ("/v1/", "/risk-lists", "/portfolio")  # revenue: never cached
_PAGE_PREFIXES = ("/risk-lists", "/portfolio")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class FailedKeyThrottle:
    """Counts wrong API keys per client and refuses a client that sent ``limit`` of them in
    the last ``window_seconds`` until the oldest leaves the window.

    Every request of a refused client is refused, a right key included, so that a guesser
    learns nothing from the answer. ``max_clients`` bounds the memory a spray of source
    addresses can take (the least recently failing client is forgotten first).
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window_seconds, self.max_clients = limit, window_seconds, max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try again, or None when it is not refused."""
        failures = self._failures.get(client)
        if failures is None:
            return None
        self._forget_old(failures)
        if len(failures) < self.limit:
            return None
        return max(1, int(failures[0] + self.window_seconds - self._clock() + 0.999))

    def record_failure(self, client: str) -> None:
        failures = self._failures.setdefault(client, deque())
        self._failures.move_to_end(client)
        failures.append(self._clock())
        self._forget_old(failures)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def _forget_old(self, failures: deque[float]) -> None:
        horizon = self._clock() - self.window_seconds
        while failures and failures[0] <= horizon:
            failures.popleft()


class RequestGuard:
    """The pure ASGI middleware described in the module docstring."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        max_body_bytes: int,
        check_key: Callable[[Request], object],
    ) -> None:
        self.app, self.max_body_bytes, self.check_key = app, max_body_bytes, check_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *_headers_for(path)]
            await send(message)

        if scope.get("method") in _BODY_METHODS:
            refusal = self._refusal(scope)
            if refusal is not None:
                await _send_json(send_with_headers, *refusal)
                return
            body = await _read_body(receive, self.max_body_bytes)
            if body is None:
                detail = f"request body larger than {self.max_body_bytes:,} bytes"
                await _send_json(send_with_headers, 413, {"detail": detail}, {})
                return
            receive = _replay(body, receive)
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("unexpected error on %s %s", scope.get("method"), path)
            if started:
                raise  # nothing left to answer with; uvicorn closes the connection
            unable = {"detail": "temporarily unable to serve"}
            await _send_json(send_with_headers, 503, unable, {"Retry-After": "1"})

    def _refusal(self, scope: Scope) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """The answer to a body-carrying request refused on its headers, or None."""
        declared = dict(scope.get("headers", [])).get(b"content-length")
        try:
            self.check_key(Request(scope))
        except ServingError as error:
            return error.status_code, {"detail": error.detail}, error_headers(error)
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return 413, {"detail": f"request body larger than {self.max_body_bytes:,} bytes"}, {}
        return None


def _headers_for(path: str) -> list[tuple[bytes, bytes]]:
    headers = list(SECURITY_HEADERS)
    if path.startswith(_PRIVATE_PREFIXES):
        headers.append((b"cache-control", b"no-store"))
    if path.startswith(_PAGE_PREFIXES):
        headers.append((b"content-security-policy", PAGE_POLICY.encode()))
    return headers


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes (the rest is not read)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, original: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then is the real one (which
    reports the client's disconnect when it comes)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str]
) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
