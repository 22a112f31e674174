"""Exclusive advisory file locks (``fcntl.flock``): the one way kam-ml keeps two processes apart.

Two places need one: a fresh MLflow SQLite store, which MLflow migrates on first open without
a lock of its own (``kam_ml.registry.tracking``), and a nightly output folder, which two runs
must not write at once (``kam_ml.nightly.lock``). ``flock`` locks die with the process that
holds them, so a run killed with SIGKILL never leaves a stale lock behind: the lock file
itself may stay, unlocked, and the next run takes it.

A top-level module, below every layer, because ``kam_ml.registry`` and ``kam_ml.nightly``
both need it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["LockHeld", "exclusive_lock"]


class LockHeld(Exception):
    """Another process holds the lock; ``holder`` is what it wrote into the lock file."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is locked by another process ({holder or 'unknown holder'})")
        self.path = path
        self.holder = holder


@contextmanager
def exclusive_lock(
    path: Path, *, wait: bool = True, holder: str | None = None
) -> Iterator[IO[str]]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block.

    ``wait=False`` raises ``LockHeld`` at once when another process holds it, with the text
    that process wrote as ``holder`` (who it is: pid, start time), so the message can name
    the other run. The holder text is written only once the lock is ours.
    """
    with open(path, "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            lock.seek(0)
            raise LockHeld(Path(path), lock.read().strip()) from None
        try:
            if holder is not None:
                lock.seek(0)
                lock.truncate()
                lock.write(holder + "\n")
                lock.flush()
                os.fsync(lock.fileno())
            yield lock
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
