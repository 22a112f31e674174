"""Where actions are kept: the ``ActionStore`` interface, its SQLite implementation and the
one place a URL becomes a store (``open_action_store``).

Callers hold an ``ActionStore`` and never see SQL. Both stores (this SQLite one and
``kam_ml.actions.postgres.PostgresActionStore``) share the statements below, written once
with a placeholder mark, and the schema of ``kam_ml.actions.migrations``, applied when a
store is first used. Both answer alike: newest first, ties the later recorded first; one
action per idempotency key, enforced by a unique index, so two writers racing on one key
store it once (the loser reads the winner's action back).

SQLite specifics, and why:

* every operation opens its own connection (a few tens of microseconds), so one store is
  safe to share between the API's worker threads and needs no closing;
* the database runs in WAL mode, so the nightly job reads while the API writes, and every
  write is one ``BEGIN IMMEDIATE`` transaction: two writes at once queue on the write lock
  (for up to ``timeout_seconds``) and neither is lost;
* times are stored as fixed-width ISO 8601 UTC text, so text order is time order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable
from urllib.parse import urlsplit

from kam_ml.actions.migrations import migrate
from kam_ml.actions.record import ActionKind, NewAction, RecordedAction
from kam_ml.errors import ActionKeyReusedError, ActionStoreError, InvalidActionError
from kam_ml.uris import hide_passwords

__all__ = [
    "ACTIONS_FILE",
    "ActionStore",
    "SQLiteActionStore",
    "default_actions_url",
    "open_action_store",
]

ACTIONS_FILE: Final = "actions.db"
_COLUMNS: Final = (
    "id, account_id, action, category, note, manager, recorded_by, recorded_at, idempotency_key"
)
_IN_CHUNK: Final = 500  # ids per IN (...) list: far below any database's parameter limit
_POSTGRES_SCHEMES: Final = ("postgresql", "postgresql+psycopg", "postgres")


@runtime_checkable
class ActionStore(Protocol):
    """Record actions and read them back; every implementation behaves like this one."""

    @property
    def url(self) -> str:
        """Where the actions are, as configured (``KAM_ACTIONS_URL``)."""

    def record(self, action: NewAction, at: dt.datetime | None = None) -> RecordedAction:
        """Check ``action`` and store it at ``at`` (timezone-aware; default: now, UTC).

        With an ``idempotency_key`` already stored, nothing is stored: the earlier action
        comes back with ``replayed`` set, if it is the same action (``NewAction.same_action``),
        else ``ActionKeyReusedError``."""

    def history(self, account_id: str, limit: int | None = None) -> list[RecordedAction]:
        """The account's actions, newest first (ties: the later recorded first)."""

    def last_actions(self, account_ids: Collection[str] | None = None) -> dict[str, RecordedAction]:
        """The newest action of each account that has one (of ``account_ids``, or all)."""


class Statements:
    """The SQL both stores run, with the driver's placeholder (``?`` or ``%s``)."""

    def __init__(self, mark: str) -> None:
        self.mark = mark
        self.insert = (
            "INSERT INTO account_actions (account_id, action, category, note, manager,"
            f" recorded_by, recorded_at, idempotency_key) VALUES ({', '.join([mark] * 8)})"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
        )
        self.by_key = f"SELECT {_COLUMNS} FROM account_actions WHERE idempotency_key = {mark}"
        self.history = (
            f"SELECT {_COLUMNS} FROM account_actions WHERE account_id = {mark}"
            " ORDER BY recorded_at DESC, id DESC"
        )

    def newest(self, where: str = "") -> str:
        """The newest action of each account (of those ``where`` keeps)."""
        return (
            f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY"
            " account_id ORDER BY recorded_at DESC, id DESC) AS newest FROM account_actions"
            f" {where}) AS ranked WHERE newest = 1"
        )


def checked(action: NewAction, at: dt.datetime | None) -> tuple[NewAction, dt.datetime]:
    """``action`` checked and its time in UTC (now, when none)."""
    action.check()
    at = dt.datetime.now(dt.UTC) if at is None else at
    if at.tzinfo is None:
        raise InvalidActionError(
            "recorded_at", f"An action's time must carry a time zone. Got {at} instead."
        )
    return action, at.astimezone(dt.UTC)


def replay(action: NewAction, stored: RecordedAction) -> RecordedAction:
    """The answer to ``action`` when its key is already ``stored``: that action, or 409."""
    if not action.same_action(stored):
        assert action.idempotency_key is not None  # only keyed actions are found by key
        raise ActionKeyReusedError(action.idempotency_key, stored.id)
    return dataclasses.replace(stored, replayed=True)


def stored_action(row: tuple[Any, ...]) -> RecordedAction:
    """A row of ``_COLUMNS`` as an action; the time arrives as text (SQLite) or as a
    timezone-aware datetime (PostgreSQL, in the session's zone)."""
    row_id, account_id, action, category, note, manager, recorded_by, at, key = row
    at = dt.datetime.fromisoformat(at) if isinstance(at, str) else at
    return RecordedAction(
        int(row_id),
        account_id,
        ActionKind(action),
        category,
        note,
        manager,
        recorded_by,
        at.astimezone(dt.UTC),
        key,
    )


_SQLITE: Final = Statements("?")


class SQLiteActionStore:
    """Actions in one SQLite file (created, with its folder and tables, on first use)."""

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
        action, at = checked(action, at)
        values = (
            action.account_id,
            action.action.value,
            action.category,
            action.note,
            action.manager,
            action.recorded_by,
            _text(at),
            action.idempotency_key,
        )
        with self._connection() as connection:
            key = action.idempotency_key
            if key is not None:  # a retry needs no write lock
                found = connection.execute(_SQLITE.by_key, (key,)).fetchone()
                if found is not None:
                    return replay(action, stored_action(found))
            connection.execute("BEGIN IMMEDIATE")
            try:
                inserted = connection.execute(_SQLITE.insert, values).fetchone()
                found = None if inserted else connection.execute(_SQLITE.by_key, (key,)).fetchone()
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        if found is not None:
            return replay(action, stored_action(found))
        return stored_action((inserted[0], *values))

    def history(self, account_id: str, limit: int | None = None) -> list[RecordedAction]:
        sql = _SQLITE.history + ("" if limit is None else " LIMIT ?")
        parameters = (account_id,) if limit is None else (account_id, int(limit))
        with self._connection() as connection:
            return [stored_action(row) for row in connection.execute(sql, parameters)]

    def last_actions(self, account_ids: Collection[str] | None = None) -> dict[str, RecordedAction]:
        with self._connection() as connection:
            if account_ids is None:
                rows = list(connection.execute(_SQLITE.newest()))
            else:
                ids, rows = sorted(set(account_ids)), []
                for start in range(0, len(ids), _IN_CHUNK):
                    chunk = ids[start : start + _IN_CHUNK]
                    where = f"WHERE account_id IN ({', '.join('?' * len(chunk))})"
                    rows.extend(connection.execute(_SQLITE.newest(where), chunk))
        return {row[1]: stored_action(row) for row in rows}

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
            migrate(connection, "sqlite", str(self.path))
            self._ready = True


def default_actions_url(nightly_dir: Path) -> str:
    """``sqlite:///<nightly_dir>/actions.db``: by default the actions live with the nights
    they are about, where the API (``KAM_NIGHTLY_DIR``) and the nightly job (``--out``)
    both look, so the two agree with no setting at all."""
    return f"sqlite:///{Path(nightly_dir).resolve() / ACTIONS_FILE}"


def open_action_store(url: str, tracking_uri: str | None = None) -> ActionStore:
    """The store a URL names: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, or
    ``postgresql://user:password@host:port/database`` (also ``postgresql+psycopg://``).

    ``tracking_uri`` (MLflow's) is refused as the store: MLflow's own migrations manage
    every table of its database, so the actions need a database of their own."""
    if tracking_uri is not None and _database(url) == _database(tracking_uri):
        raise ActionStoreError(
            f"KAM_ACTIONS_URL={hide_passwords(url)!r} names MLflow's database "
            "(MLFLOW_TRACKING_URI); MLflow's migrations manage every table in it. Give the "
            "actions a database of their own, e.g. postgresql://kam@db/kam_actions."
        )
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite" and rest.startswith("/") and rest not in ("/", "/:memory:"):
        return SQLiteActionStore(Path(rest[1:]))
    if scheme in _POSTGRES_SCHEMES and rest:
        from kam_ml.actions.postgres import PostgresActionStore

        return PostgresActionStore(url)
    raise ActionStoreError(
        f"KAM_ACTIONS_URL={hide_passwords(url)!r} is not a store kam-ml knows: use "
        "sqlite:///PATH (three slashes, then a relative path; four for an absolute one) or "
        "postgresql://USER:PASSWORD@HOST:PORT/DATABASE."
    )


def _database(url: str) -> tuple[str, ...]:
    """What identifies a URL's database: the file, or the server and database name."""
    parts = urlsplit(url)
    scheme = parts.scheme.partition("+")[0]
    scheme = "postgresql" if scheme == "postgres" else scheme
    if scheme == "sqlite":
        return (scheme, str(Path(url.partition(":///")[2]).resolve()))
    try:
        port = str(parts.port or 5432)
    except ValueError:  # not a port: not equal to a working tracking URI either
        port = parts.netloc
    return (scheme, (parts.hostname or "").lower(), port, parts.path.strip("/"))


def _text(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds")
