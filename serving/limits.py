"""A non-blocking concurrency limit: a request that finds every slot taken is answered at
once (503 with Retry-After) instead of queueing behind the others and holding a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from serving.errors import Busy

__all__ = ["ConcurrencyLimit"]


class ConcurrencyLimit:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self, what: str) -> Iterator[None]:
        """Hold one slot for the block; ``Busy`` when none is free."""
        if not self._semaphore.acquire(blocking=False):
            raise Busy(f"busy: {self.slots} {what} already being scored; retry", retry_after=1)
        try:
            yield
        finally:
            self._semaphore.release()
