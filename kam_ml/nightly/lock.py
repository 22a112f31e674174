"""One nightly run per output folder at a time: ``OUT/.nightly.lock``.

Two runs into one folder (a scheduler that starts the job while last night's is still
running, or an operator's manual rerun) used to clash: the second one's clean-up deleted the
first one's staging folder and the first stopped with ``FileNotFoundError``. A second run now
stops at once with exit 1 and a message naming the run that holds the folder (pid, host,
start time), instead of waiting: a run that waits would start its night late and queue
behind a run that may be stuck; the scheduler's next attempt (or the operator) decides.

The lock is ``flock`` on the lock file (``kam_ml.file_locks``): the kernel drops it when
the holder dies, SIGKILL included, so a crashed run never blocks the next one.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from kam_ml.errors import KamMLError
from kam_ml.file_locks import LockHeld, exclusive_lock

__all__ = ["LOCK_FILE", "NightlyRunning", "output_folder_lock"]

LOCK_FILE: Final = ".nightly.lock"


class NightlyRunning(KamMLError):
    """Another nightly run holds the output folder."""


@contextmanager
def output_folder_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir``'s nightly lock for the block (creating the folder); raise
    ``NightlyRunning`` naming the holder when another run has it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    me = f"pid {os.getpid()} on {socket.gethostname()}, started {started}"
    try:
        with exclusive_lock(out_dir / LOCK_FILE, wait=False, holder=me):
            yield
    except LockHeld as held:
        raise NightlyRunning(
            f"Another kam-ml nightly is writing {out_dir} ({held.holder or 'holder unknown'}). "
            "Wait for it to finish, or give this run another --out; nothing was written."
        ) from None
