"""Schema migrations of the actions store: a file from before them is recognised as version 1
and upgraded with every action kept; a failed upgrade changes nothing; a newer database is
refused; processes starting together apply each migration once (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from kam_ml.actions import ActionKind, NewAction, SQLiteActionStore, open_action_store
from kam_ml.actions.migrations import LATEST_VERSION, MIGRATIONS
from kam_ml.errors import ActionStoreError
from tests.action_writers import race

# The schema and the write of kam-ml before migrations (kam_ml/actions/store.py at 6ca8100),
# verbatim: what every actions.db in the field holds today.
_V1_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS account_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ({kinds})),
        category TEXT,
        note TEXT,
        manager TEXT,
        recorded_by TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    )""".format(kinds=", ".join(f"'{k.value}'" for k in ActionKind)),
    """CREATE INDEX IF NOT EXISTS account_actions_by_account
        ON account_actions (account_id, recorded_at, id)""",
)
_V1_INSERT = (
    "INSERT INTO account_actions (account_id, action, category, note, manager,"
    " recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_V1_ROWS = [
    ("A1", "called", None, "voicemail", "Ava", "Ava", "2026-11-02T09:30:00.000000+00:00"),
    ("A1", "offered", "handbags", None, "Ava", "Ava", "2026-11-03T10:00:00.123456+00:00"),
    ("A2", "lost", None, "moved to a rival", None, "API key 1a2b3c4d", "2026-11-02T09:30:00+00:00"),
]


def _version_one_file(path: Path) -> None:
    """An actions.db exactly as kam-ml wrote it before migrations: WAL, user_version 1."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN IMMEDIATE")
        for statement in _V1_SCHEMA:
            connection.execute(statement)
        connection.execute("PRAGMA user_version = 1")
        connection.execute("COMMIT")
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(_V1_INSERT, _V1_ROWS)
        connection.execute("COMMIT")


def _sqlite(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        return list(connection.execute(sql))


def test_a_file_from_before_migrations_is_version_1_and_upgrades_keeping_every_action(tmp_path):
    path = tmp_path / "actions.db"
    _version_one_file(path)
    store = SQLiteActionStore(path)
    kept = store.history("A1") + store.history("A2")
    assert [(a.account_id, a.action, a.category, a.note, a.recorded_by) for a in kept] == [
        ("A1", ActionKind.offered, "handbags", None, "Ava"),
        ("A1", ActionKind.called, None, "voicemail", "Ava"),
        ("A2", ActionKind.lost, None, "moved to a rival", "API key 1a2b3c4d"),
    ]
    assert [a.id for a in kept] == [2, 1, 3] and kept[0].recorded_at == dt.datetime(
        2026, 11, 3, 10, 0, 0, 123456, tzinfo=dt.UTC
    )
    assert all(a.idempotency_key is None for a in kept)
    versions = _sqlite(path, "SELECT version, description FROM kam_schema_migrations")
    assert versions == [
        (1, "found: created by an earlier kam-ml"),
        (2, MIGRATIONS[1].description),
    ]
    assert _sqlite(path, "PRAGMA user_version") == [(LATEST_VERSION,)]  # old code refuses it
    new = NewAction("A2", ActionKind.won_back, "Ava", idempotency_key="crm-77")
    first = store.record(new)
    assert first.id == 4 and store.record(new).replayed
    assert len(store.history("A2")) == 2
    # opened again (a restart): nothing runs twice, nothing changes
    again = SQLiteActionStore(path)
    assert again.history("A1") + again.history("A2") == store.history("A1") + store.history("A2")
    assert len(_sqlite(path, "SELECT * FROM kam_schema_migrations")) == 2


def test_an_upgrade_that_fails_half_way_changes_nothing_and_the_next_start_completes_it(tmp_path):
    path = tmp_path / "actions.db"
    _version_one_file(path)
    # a stray index under the name migration 2 creates: its second statement fails
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE INDEX account_actions_by_key ON account_actions (note)")
        connection.commit()
    with pytest.raises(ActionStoreError, match="account_actions_by_key already exists"):
        SQLiteActionStore(path).history("A1")
    columns = [row[1] for row in _sqlite(path, "PRAGMA table_info(account_actions)")]
    assert "idempotency_key" not in columns  # the ALTER TABLE before it was rolled back
    tables = _sqlite(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    assert ("kam_schema_migrations",) not in tables  # its recognition of version 1 too
    assert _sqlite(path, "PRAGMA user_version") == [(1,)]
    assert len(_sqlite(path, "SELECT * FROM account_actions")) == len(_V1_ROWS)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("DROP INDEX account_actions_by_key")
        connection.commit()
    store = SQLiteActionStore(path)
    assert len(store.history("A1")) == 2 and len(store.history("A2")) == 1
    assert _sqlite(path, "SELECT MAX(version) FROM kam_schema_migrations") == [(LATEST_VERSION,)]


def test_a_database_newer_than_this_kam_ml_is_refused(tmp_path, postgres):
    path = tmp_path / "actions.db"
    SQLiteActionStore(path).history("A1")
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("INSERT INTO kam_schema_migrations VALUES (99, 'future', 'x')")
        connection.commit()
    url = postgres.create_database("actions_newer")
    open_action_store(url).history("A1")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("INSERT INTO kam_schema_migrations VALUES (99, 'future', 'x')")
    for store in (SQLiteActionStore(path), open_action_store(url)):
        with pytest.raises(ActionStoreError, match="has schema version 99; this kam-ml knows"):
            store.history("A1")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_eight_processes_starting_at_once_apply_each_migration_once(kind, tmp_path, postgres):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'actions.db'}"
    else:
        url = postgres.create_database("actions_race")
    race(url, "open", 8)
    sql = "SELECT version FROM kam_schema_migrations ORDER BY version"
    if kind == "sqlite":
        versions = [row[0] for row in _sqlite(tmp_path / "actions.db", sql)]
    else:
        with psycopg.connect(url) as connection:
            versions = [row[0] for row in connection.execute(sql)]
    assert versions == [m.version for m in MIGRATIONS]
