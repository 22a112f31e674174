"""Processes that race on one actions store, for the concurrency tests.

``python -m tests.action_writers URL open|write WRITER`` opens the store, prints ``ready``
and waits for a line on stdin, so that every process starts at the same moment; then
``open`` reads once (which applies the migrations) and ``write`` posts the ``ACTIONS``
actions of ``action(i)`` in the writer's own order, printing one JSON line
``[key, id, replayed]`` per answer. A plain subprocess importing only ``kam_ml.actions``
starts in a quarter of the time a ``multiprocessing`` child of pytest takes.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys

from kam_ml.actions import ActionKind, NewAction, open_action_store

ACTIONS, ACCOUNTS = 1000, 40


def action(i: int) -> NewAction:
    """The i-th action every writer posts (its key names it)."""
    kind = (ActionKind.called, ActionKind.met, ActionKind.lost)[i % 3]
    return NewAction(
        f"A{i % ACCOUNTS}", kind, "crm", note=f"note {i}", idempotency_key=f"crm-{i:04d}"
    )


def race(url: str, mode: str, writers: int) -> list[str]:
    """Start ``writers`` processes, release them together, and return each one's output;
    raises if any fails."""
    command = [sys.executable, "-m", "tests.action_writers", url, mode]
    processes = [
        subprocess.Popen(
            [*command, str(w)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for w in range(writers)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    codes = [process.returncode for process in processes]
    if codes != [0] * writers:
        raise AssertionError(f"writers exited with {codes}")
    return outputs


def main(url: str, mode: str, writer: int) -> None:
    store = open_action_store(url)
    if mode == "write":
        store.history("A0")  # migrated before the race: this race is about actions
    print("ready", flush=True)
    sys.stdin.readline()
    if mode == "open":
        store.history("A0")
        return
    order = list(range(ACTIONS))
    random.Random(writer).shuffle(order)
    for i in order:
        recorded = store.record(action(i))
        print(json.dumps([recorded.idempotency_key, recorded.id, recorded.replayed]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
