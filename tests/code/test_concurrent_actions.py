"""Issue 12: 8 concurrent writers posting 1,000 actions store each exactly once.

Eight real processes (``tests.action_writers``, each with its own store and connections)
post the same 1,000 actions under the same idempotency keys, each in its own order, all
released at once: every key is stored once, every writer is answered with that one action,
none is lost. On a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kam_ml.actions import open_action_store
from tests.action_writers import ACCOUNTS, ACTIONS, action, race

WRITERS = 8


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_eight_writers_posting_the_same_1000_actions_store_each_exactly_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'actions.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database("actions_writers")
    outputs = race(url, "write", WRITERS)

    ids_by_key: dict[str, set[int]] = {}
    created = 0
    for output in outputs:
        answers = [json.loads(line) for line in output.splitlines()]
        assert len(answers) == ACTIONS
        for key, action_id, replayed in answers:
            ids_by_key.setdefault(key, set()).add(action_id)
            created += not replayed
    assert created == ACTIONS  # one writer stored each; seven were answered with its action
    assert all(len(ids) == 1 for ids in ids_by_key.values())  # all eight got the same one

    store = open_action_store(url)
    stored = [a for account in range(ACCOUNTS) for a in store.history(f"A{account}")]
    assert len(stored) == ACTIONS and len({a.id for a in stored}) == ACTIONS
    by_key = {a.idempotency_key: a for a in stored}
    assert set(by_key) == {f"crm-{i:04d}" for i in range(ACTIONS)}
    assert {key: {a.id} for key, a in by_key.items()} == ids_by_key
    assert all(action(int(str(key)[4:])).same_action(a) for key, a in by_key.items())
