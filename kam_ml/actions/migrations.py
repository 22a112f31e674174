"""The actions store's schema, as numbered migrations, and the runner that applies them.

Every store opens by calling ``migrate``: it applies, in order, the migrations the database
has not had yet, each in its own transaction together with its row in
``kam_schema_migrations`` (version, description, when applied). A migration either lands
whole or not at all, so an upgrade interrupted half-way leaves the previous version, every
action still in it; the next start carries on. Migrations only add (columns, indexes); none
rewrites or drops a row.

Two processes starting at once (two API workers, the API and the nightly job) apply each
migration once: the transaction begins with the database's own write lock, ``BEGIN
IMMEDIATE`` on SQLite and ``pg_advisory_xact_lock`` on PostgreSQL, and reads the version
under it. A database newer than this code is refused, and on SQLite ``PRAGMA
user_version`` follows the version too, so the kam-ml releases from before this runner (which
set it to 1 and refuse anything newer) refuse an upgraded file instead of misreading it.

Why not Alembic: it is installed (through MLflow), but for one table it brings a
configuration file, an ``env.py`` and a versions folder to ship inside the package, a
SQLAlchemy engine in front of sqlite3 and psycopg, and autogenerate, which we would not use.
Sixty lines of runner over a tuple of SQL statements per dialect are read in one sitting,
and the SQL that runs is the SQL in this file.

Version 1 is the schema kam-ml created before migrations existed (``PRAGMA user_version =
1``, no ``kam_schema_migrations`` table): such a file is recognised as version 1 and only
later migrations run on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, Literal

from kam_ml.actions.record import ActionKind
from kam_ml.errors import ActionStoreError

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Dialect", "Migration", "migrate"]

Dialect = Literal["sqlite", "postgresql"]
_KINDS: Final = ", ".join(f"'{k.value}'" for k in ActionKind)
# any constant bigint: the advisory lock every kam-ml process takes to migrate this database
_PG_LOCK: Final = 0x6B616D5F616374  # "kam_act"


@dataclass(frozen=True)
class Migration:
    """One step of the schema: its SQL for each dialect, applied in one transaction."""

    version: int
    description: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]

    def statements(self, dialect: Dialect) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgresql


_BY_ACCOUNT: Final = """CREATE INDEX IF NOT EXISTS account_actions_by_account
        ON account_actions (account_id, recorded_at, id)"""
_KEY: Final = (
    "ALTER TABLE account_actions ADD COLUMN idempotency_key TEXT",
    "CREATE UNIQUE INDEX account_actions_by_key ON account_actions (idempotency_key)",
)

MIGRATIONS: Final = (
    Migration(
        1,
        "account_actions, indexed by account and time",
        sqlite=(
            f"""CREATE TABLE IF NOT EXISTS account_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ({_KINDS})),
        category TEXT,
        note TEXT,
        manager TEXT,
        recorded_by TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    )""",
            _BY_ACCOUNT,
        ),
        postgresql=(
            f"""CREATE TABLE IF NOT EXISTS account_actions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ({_KINDS})),
        category TEXT,
        note TEXT,
        manager TEXT,
        recorded_by TEXT NOT NULL,
        recorded_at TIMESTAMPTZ NOT NULL
    )""",
            _BY_ACCOUNT,
        ),
    ),
    # NULLs are distinct in a unique index (both databases), so actions without a key stay
    Migration(
        2, "idempotency_key, unique: one action per client key", sqlite=_KEY, postgresql=_KEY
    ),
)
LATEST_VERSION: Final = MIGRATIONS[-1].version

_VERSIONS_TABLE: Final = """CREATE TABLE IF NOT EXISTS kam_schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


def migrate(connection: Any, dialect: Dialect, where: str) -> int:
    """Bring the database of ``connection`` (sqlite3, or psycopg in autocommit mode) to
    ``LATEST_VERSION``; returns the version found. ``where`` names it in messages."""
    found: int | None = None
    while True:
        connection.execute("BEGIN IMMEDIATE" if dialect == "sqlite" else "BEGIN")
        try:
            version = _locked_version(connection, dialect)
            found = version if found is None else found
            if version > LATEST_VERSION:
                raise ActionStoreError(
                    f"The actions store {where} has schema version {version}; this kam-ml "
                    f"knows versions up to {LATEST_VERSION}. Upgrade kam-ml."
                )
            if version == LATEST_VERSION:
                connection.execute("COMMIT")
                return found
            step = MIGRATIONS[version]  # versions are 1, 2, ...: the next one
            for statement in step.statements(dialect):
                connection.execute(statement)
            _note(connection, dialect, step.version, step.description)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def _locked_version(connection: Any, dialect: Dialect) -> int:
    """The version, read after taking the migration lock (in the open transaction)."""
    if dialect == "postgresql":
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
    connection.execute(_VERSIONS_TABLE)
    (recorded,) = connection.execute("SELECT MAX(version) FROM kam_schema_migrations").fetchone()
    if recorded is not None or dialect != "sqlite":
        return int(recorded or 0)
    # a file from before this runner: its version is in the header, since version 1
    (legacy,) = connection.execute("PRAGMA user_version").fetchone()
    if legacy:
        _note(connection, dialect, int(legacy), "found: created by an earlier kam-ml")
    return int(legacy)


def _note(connection: Any, dialect: Dialect, version: int, description: str) -> None:
    mark = "?" if dialect == "sqlite" else "%s"
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    connection.execute(
        f"INSERT INTO kam_schema_migrations (version, description, applied_at)"
        f" VALUES ({mark}, {mark}, {mark})",
        (version, description, now),
    )
    if dialect == "sqlite":
        connection.execute(f"PRAGMA user_version = {int(version)}")
