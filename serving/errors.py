"""Domain errors of the API and the one place they become HTTP responses.

Every ``detail`` string here is stable (tests and clients match on it)::

    ServingError                 -> its status, {"detail": message}
    ├── NotAuthenticated   401   "missing API key" / "invalid API key"
    ├── TooManyAttempts    429   "too many invalid API keys from this client" (Retry-After)
    ├── RequestTooLarge    422   a batch or history over the configured limit (named)
    ├── NotReady           503   "not ready: no nightly snapshot loaded" / "...models..."
    │   ├── ActionsUnavailable 503 "actions store unavailable" (logged with the cause)
    │   └── Busy          503   "busy: ..." (Retry-After): a concurrency limit is full
    ├── UnknownAccount     404   "unknown account: <id>"
    ├── UnknownManager     404   "unknown manager: <name>"
    ├── UnknownPage        404   "unknown page: <path>" (a file of the night not served)
    ├── ActionKeyConflict  409   "idempotency key already used for action <id>, a different
    │                            action: a retry repeats it exactly, a new action needs a new key"
    └── InvalidHistory     422   the data-contract message (table, column, rule, rows)
    KamMLError (from the library) -> 422 with its message (bad input reached the library)
    RequestValidationError        -> 422 {"detail": "<field>: <message>",
                                           "errors": [{"field", "rule", "message"}]}
    anything else                 -> 503 "temporarily unable to serve" (never a bare 500),
                                     answered by ``serving.guard.RequestGuard``

Every answer has the one shape ``serving.schemas.ErrorResponse`` (``detail`` a string,
``errors`` a list or absent), so a client generated from the OpenAPI document parses all.

Bodies are rendered with ASCII escapes, so a lone surrogate echoed from a request (legal in
JSON text, not encodable as UTF-8) cannot turn a 422 into an error of its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kam_ml.errors import KamMLError

__all__ = [
    "ActionKeyConflict",
    "ActionsUnavailable",
    "Busy",
    "InvalidHistory",
    "NotAuthenticated",
    "NotReady",
    "RequestTooLarge",
    "ServingError",
    "TooManyAttempts",
    "UnknownAccount",
    "UnknownManager",
    "UnknownPage",
    "error_headers",
    "install_error_handlers",
]


class ServingError(Exception):
    status_code = 500

    def __init__(self, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class NotAuthenticated(ServingError):
    status_code = 401


class NotReady(ServingError):
    status_code = 503


class ActionsUnavailable(NotReady):
    pass


class Busy(NotReady):
    pass


class TooManyAttempts(ServingError):
    status_code = 429


class RequestTooLarge(ServingError):
    status_code = 422


class UnknownAccount(ServingError):
    status_code = 404


class UnknownManager(ServingError):
    status_code = 404


class UnknownPage(ServingError):
    status_code = 404


class ActionKeyConflict(ServingError):
    status_code = 409


class InvalidHistory(ServingError):
    status_code = 422


class _AsciiJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_headers(error: ServingError) -> dict[str, str]:
    """The headers an error's answer carries: the auth scheme on 401, Retry-After on a limit."""
    headers = {"WWW-Authenticate": "APIKey"} if error.status_code == 401 else {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return headers


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServingError)
    async def serving_error(_: Request, error: ServingError) -> JSONResponse:
        return _AsciiJSONResponse(
            {"detail": error.detail}, error.status_code, headers=error_headers(error)
        )

    @app.exception_handler(KamMLError)
    async def library_error(_: Request, error: KamMLError) -> JSONResponse:
        return _AsciiJSONResponse({"detail": str(error)}, 422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [_problem(e) for e in error.errors()]
        first = problems[0] if problems else {"field": "body", "message": "invalid request"}
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        detail = f"{first['field']}: {first['message']}{more}"
        return _AsciiJSONResponse({"detail": detail, "errors": problems}, 422)


def _problem(error: Mapping[str, Any]) -> dict[str, str]:
    """One pydantic error as a ``FieldProblem``; the input is not echoed (it may be huge, a
    lone surrogate or NaN, and the message already says what was expected)."""
    location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    return {
        "field": ".".join(location) or "body",
        "rule": str(error.get("type", "invalid")),
        "message": str(error.get("msg", "")),
    }
