"""Where actions are kept: the ``ActionStore`` interface and its SQLite implementation.

``open_action_store(url)`` is the one place a URL becomes a store, so a PostgreSQL store
(the next step) is one more class implementing ``ActionStore`` and one more branch there;
callers hold an ``ActionStore`` and never see SQL. The SQL is plain (no SQLite-only
syntax), with one ``account_actions`` table and an index by account.

SQLite specifics, and why:

* every operation opens its own connection (a few tens of microseconds), so one store is
  safe to share between the API's worker threads and needs no closing;
* the database runs in WAL mode, so the nightly job reads while the API writes, and every
  write is one ``BEGIN IMMEDIATE`` transaction: two writes at once queue on the write lock
  (for up to ``timeout_seconds``) and neither is lost;
* times are stored as fixed-width ISO 8601 UTC text, so text order is time order.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from kam_ml.actions.record import ActionKind, NewAction, RecordedAction
from kam_ml.errors import ActionStoreError, InvalidActionError

__all__ = [
    "ACTIONS_FILE",
    "ActionStore",
    "SQLiteActionStore",
    "default_actions_url",
    "open_action_store",
]

ACTIONS_FILE: Final = "actions.db"
_SCHEMA_VERSION: Final = 1
_COLUMNS: Final = "id, account_id, action, category, note, manager, recorded_by, recorded_at"
_IN_CHUNK: Final = 500  # ids per IN (...) list: far below any database's parameter limit
_SCHEMA: Final = (
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


@runtime_checkable
class ActionStore(Protocol):
    """Record actions and read them back; every implementation behaves like this one."""

    @property
    def url(self) -> str:
        """Where the actions are, as configured (``KAM_ACTIONS_URL``)."""

    def record(self, action: NewAction, at: dt.datetime | None = None) -> RecordedAction:
        """Check ``action`` and store it at ``at`` (timezone-aware; default: now, UTC)."""

    def history(self, account_id: str, limit: int | None = None) -> list[RecordedAction]:
        """The account's actions, newest first (ties: the later recorded first)."""

    def last_actions(self, account_ids: Collection[str] | None = None) -> dict[str, RecordedAction]:
        """The newest action of each account that has one (of ``account_ids``, or all)."""


class SQLiteActionStore:
    """Actions in one SQLite file (created, with its folder and table, on first use)."""

    def __init__(self, path: Path, timeout_seconds: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_seconds = timeout_seconds
        self._ready = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def __repr__(self) -> str:
        return f"SQLiteActionStore({str(self.path)!r})"

    def record(self, action: NewAction, at: dt.datetime | None = None) -> RecordedAction:
        action.check()
        at = dt.datetime.now(dt.UTC) if at is None else at
        if at.tzinfo is None:
            raise InvalidActionError(
                "recorded_at", f"An action's time must carry a time zone. Got {at} instead."
            )
        at = at.astimezone(dt.UTC)
        values = (
            action.account_id,
            action.action.value,
            action.category,
            action.note,
            action.manager,
            action.recorded_by,
            _text(at),
        )
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                cursor = connection.execute(
                    "INSERT INTO account_actions (account_id, action, category, note, manager,"
                    " recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        row_id = cursor.lastrowid
        assert row_id is not None  # an INSERT into a rowid table always sets it
        return RecordedAction(row_id, *_record_fields(values))

    def history(self, account_id: str, limit: int | None = None) -> list[RecordedAction]:
        sql = (
            f"SELECT {_COLUMNS} FROM account_actions WHERE account_id = ?"
            " ORDER BY recorded_at DESC, id DESC"
        )
        parameters: tuple[Any, ...] = (account_id,)
        if limit is not None:
            sql, parameters = sql + " LIMIT ?", (account_id, int(limit))
        with self._connection() as connection:
            return [_action(row) for row in connection.execute(sql, parameters)]

    def last_actions(self, account_ids: Collection[str] | None = None) -> dict[str, RecordedAction]:
        newest = (
            f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY"
            " account_id ORDER BY recorded_at DESC, id DESC) AS newest FROM account_actions"
            " {where}) AS ranked WHERE newest = 1"
        )
        with self._connection() as connection:
            if account_ids is None:
                rows = list(connection.execute(newest.format(where="")))
            else:
                ids, rows = sorted(set(account_ids)), []
                for start in range(0, len(ids), _IN_CHUNK):
                    chunk = ids[start : start + _IN_CHUNK]
                    marks = ", ".join("?" * len(chunk))
                    where = f"WHERE account_id IN ({marks})"
                    rows.extend(connection.execute(newest.format(where=where), chunk))
        return {row[1]: _action(row) for row in rows}

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            if not self._ready:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; writes say BEGIN IMMEDIATE
            connection = sqlite3.connect(
                self.path, timeout=self.timeout_seconds, isolation_level=None
            )
        except (OSError, sqlite3.Error) as error:
            raise ActionStoreError(f"Cannot open the actions store {self.path}: {error}") from None
        with closing(connection):
            try:
                if not self._ready:
                    self._create(connection)
                yield connection
            except sqlite3.Error as error:
                raise ActionStoreError(f"The actions store {self.path} failed: {error}") from None

    def _switch_to_wal(self, connection: sqlite3.Connection) -> None:
        """``PRAGMA journal_mode=WAL``, retried while another connection holds the file.

        SQLite answers a journal-mode change with "database is locked" at once, without
        waiting on the busy timeout, when a second store (another worker on the same file)
        is writing; the mode is a property of the file, so retrying until it is free (up to
        ``timeout_seconds``) is enough.
        """
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _create(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            if self._ready:
                return
            self._switch_to_wal(connection)
            connection.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                connection.execute(statement)
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version > _SCHEMA_VERSION:
                connection.execute("ROLLBACK")
                raise ActionStoreError(
                    f"The actions store {self.path} has schema version {version}; this kam-ml "
                    f"knows version {_SCHEMA_VERSION}. Upgrade kam-ml."
                )
            connection.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            connection.execute("COMMIT")
            self._ready = True


def default_actions_url(nightly_dir: Path) -> str:
    """``sqlite:///<nightly_dir>/actions.db``: by default the actions live with the nights
    they are about, where the API (``KAM_NIGHTLY_DIR``) and the nightly job (``--out``)
    both look, so the two agree with no setting at all."""
    return f"sqlite:///{Path(nightly_dir).resolve() / ACTIONS_FILE}"


def open_action_store(url: str) -> ActionStore:
    """The store a URL names: ``sqlite:///relative.db`` or ``sqlite:////absolute.db``."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite" and rest.startswith("/") and rest not in ("/", "/:memory:"):
        return SQLiteActionStore(Path(rest[1:]))
    if scheme.startswith("postgres"):
        raise ActionStoreError(
            f"KAM_ACTIONS_URL={url!r}: a PostgreSQL actions store is not implemented yet; "
            "use sqlite:///PATH (the default keeps actions.db in the nightly folder)."
        )
    raise ActionStoreError(
        f"KAM_ACTIONS_URL={url!r} is not a store kam-ml knows: use sqlite:///PATH "
        "(three slashes, then a relative path; four for an absolute one)."
    )


def _text(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds")


def _record_fields(values: tuple[Any, ...]) -> tuple[Any, ...]:
    account_id, action, category, note, manager, recorded_by, recorded_at = values
    return (
        account_id,
        ActionKind(action),
        category,
        note,
        manager,
        recorded_by,
        dt.datetime.fromisoformat(recorded_at),
    )


def _action(row: tuple[Any, ...]) -> RecordedAction:
    return RecordedAction(int(row[0]), *_record_fields(tuple(row[1:])))
