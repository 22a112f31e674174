"""Actions in a PostgreSQL database: ``KAM_ACTIONS_URL=postgresql://user:pw@host/kam``.

The same statements, schema migrations and answers as the SQLite store
(``kam_ml.actions.store``); times are ``timestamptz``, the id an identity column. Use a
database of its own, not MLflow's: MLflow's Alembic migrations own every table in theirs.

Connections: opening one costs about 17 ms here (TCP, a backend process forked, the
session set up) against 0.15 ms for a statement on an open one, so a store keeps up to
``max_idle`` idle connections for the next operation (psycopg_pool is one more dependency
for these twenty lines). A connection taken from the idle ones is checked with one round
trip first, so a server restarted meanwhile costs a reconnect, not a failed request. Each
connection is used by one thread at a time, so one store serves the API's worker threads.

psycopg (the ``postgres`` extra) is imported on first use: kam-ml runs without it until a
``postgresql://`` store is opened.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from kam_ml.actions.migrations import migrate
from kam_ml.actions.record import NewAction, RecordedAction
from kam_ml.actions.store import Statements, checked, replay, stored_action
from kam_ml.errors import ActionStoreError
from kam_ml.uris import hide_passwords

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresActionStore"]

_PG: Final = Statements("%s")


class PostgresActionStore:
    """Actions in one PostgreSQL database (its tables created on first use)."""

    def __init__(self, url: str, connect_timeout_seconds: int = 10, max_idle: int = 4) -> None:
        self._url = url
        # libpq knows postgresql:// and postgres://, not SQLAlchemy's driver suffix
        self._conninfo = "postgresql://" + url.partition("://")[2]
        self.connect_timeout_seconds = connect_timeout_seconds
        self.max_idle = max_idle
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._ready = False
        # a store dropped without close() still closes its idle connections
        weakref.finalize(self, _close_all, self._idle)

    @property
    def url(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"PostgresActionStore({hide_passwords(self._url)!r})"

    def record(self, action: NewAction, at: dt.datetime | None = None) -> RecordedAction:
        action, at = checked(action, at)
        key = action.idempotency_key
        values = (
            action.account_id,
            action.action.value,
            action.category,
            action.note,
            action.manager,
            action.recorded_by,
            at,
            key,
        )
        with self._connection() as connection:
            if key is not None:  # a retry writes nothing
                found = connection.execute(_PG.by_key, (key,)).fetchone()
                if found is not None:
                    return replay(action, stored_action(found))
            # one statement, its own transaction: a racing insert of the same key makes it
            # wait for that one to commit and then do nothing, so the read after it finds it
            inserted = connection.execute(_PG.insert, values).fetchone()
            found = None if inserted else connection.execute(_PG.by_key, (key,)).fetchone()
        if found is not None:
            return replay(action, stored_action(found))
        assert inserted is not None
        return stored_action((inserted[0], *values))

    def history(self, account_id: str, limit: int | None = None) -> list[RecordedAction]:
        sql = _PG.history + ("" if limit is None else " LIMIT %s")
        parameters = (account_id,) if limit is None else (account_id, int(limit))
        with self._connection() as connection:
            return [stored_action(row) for row in connection.execute(sql, parameters)]

    def last_actions(self, account_ids: Collection[str] | None = None) -> dict[str, RecordedAction]:
        with self._connection() as connection:
            if account_ids is None:
                rows = connection.execute(_PG.newest()).fetchall()
            else:  # one array parameter, however many ids
                ids = sorted(set(account_ids))
                newest = _PG.newest("WHERE account_id = ANY(%s)")
                rows = connection.execute(newest, (ids,)).fetchall() if ids else []
        return {row[1]: stored_action(row) for row in rows}

    def close(self) -> None:
        """Close the idle connections (the store still works: it opens new ones)."""
        with self._lock:
            _close_all(self._idle)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        import psycopg

        try:
            connection = self._take()
        except psycopg.Error as error:
            raise ActionStoreError(
                f"Cannot open the actions store {hide_passwords(self._url)}: "
                f"{hide_passwords(str(error).strip())}"
            ) from None
        try:
            if not self._ready:
                self._create(connection)
            yield connection
        except psycopg.Error as error:
            connection.close()
            raise ActionStoreError(
                f"The actions store {hide_passwords(self._url)} failed: "
                f"{hide_passwords(str(error).strip())}"
            ) from None
        except BaseException:  # e.g. a reused key: the connection is fine
            self._give_back(connection)
            raise
        self._give_back(connection)

    def _take(self) -> psycopg.Connection[Any]:
        """An idle connection that still answers, else a new one."""
        import psycopg

        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return psycopg.connect(
                    self._conninfo, autocommit=True, connect_timeout=self.connect_timeout_seconds
                )
            try:
                connection.execute("SELECT 1")
                return connection
            except psycopg.Error:  # the server restarted, or dropped it: try the next one
                connection.close()

    def _give_back(self, connection: psycopg.Connection[Any]) -> None:
        import psycopg

        fine = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if fine and len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def _create(self, connection: psycopg.Connection[Any]) -> None:
        with self._lock:
            if self._ready:
                return
        migrate(connection, "postgresql", hide_passwords(self._url))
        self._ready = True


def _close_all(connections: list[psycopg.Connection[Any]]) -> None:
    while connections:
        connections.pop().close()
