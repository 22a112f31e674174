"""Drive a real headless Chromium over the DevTools protocol on a pipe (no extra package).

``--remote-debugging-pipe`` makes Chromium read commands on fd 3 and write replies and
events on fd 4, each a JSON message ended by a NUL byte, so a test can type, click and
wait for pages to load like a user does; the standard library is all it takes.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Browser:
    """One headless Chromium with one tab; ``with Browser(...) as tab:`` closes it."""

    def __init__(self, chromium: str, profile: Path, timeout: float = 60.0) -> None:
        to_browser, self._commands = os.pipe()
        self._replies, from_browser = os.pipe()
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        # fds 3 and 4 of the child must be the two pipe ends, whatever numbers they have here
        # (bash: dash refuses fd numbers above 9)
        shell = f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}'
        self._process = subprocess.Popen(
            ["/bin/bash", "-c", shell, *command],
            pass_fds=(to_browser, from_browser),
            stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("KAM_CDP_DEBUG") else subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self.timeout = timeout
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        # the browser may be gone already; it is killed below anyway
        with contextlib.suppress(Exception):
            self._call("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._commands)
        os.close(self._replies)

    # -- what a test does ------------------------------------------------------------------
    def go(self, url: str) -> None:
        """Open ``url`` and wait until it (and any redirect) has loaded."""
        self._events.clear()
        self.call("Page.navigate", {"url": url})
        self._wait_for("Page.loadEventFired")

    def reload(self) -> None:
        self._events.clear()
        self.call("Page.reload", {"ignoreCache": True})
        self._wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} failed in the page: {result['exceptionDetails']}")
        return result["result"].get("value")

    def type_into(self, selector: str, text: str) -> None:
        """Focus the element and type ``text`` as keyboard input."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", {"text": text})

    def click(self, selector: str, *, then_load: bool = False) -> None:
        """A mouse click in the middle of the element (scrolled into view first)."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        x, y = box
        self._events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )
        if then_load:
            self._wait_for("Page.loadEventFired")

    def html(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML"))

    # -- the protocol ---------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call(method, params, self._session)

    def _call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        wanted = self._next_id
        reply = self._receive(lambda m: m.get("id") == wanted)
        if "error" in reply:
            raise AssertionError(f"{method} failed: {reply['error']}")
        return dict(reply.get("result", {}))

    def _wait_for(self, event: str) -> dict[str, Any]:
        for seen in self._events:
            if seen.get("method") == event:
                self._events.remove(seen)
                return seen
        return self._receive(lambda m: m.get("method") == event, keep_events=False)

    def _receive(
        self, done: Callable[[dict[str, Any]], bool], keep_events: bool = True
    ) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if done(message):
                    return dict(message)
                if keep_events and "method" in message:
                    self._events.append(message)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._replies], [], [], left)
            if ready:
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buffer += chunk
