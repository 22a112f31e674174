"""A night's scores into PostgreSQL: the ``kam_scores`` table and the ``kam_scores_latest`` view.

A CRM that reads its own database then needs no API call: one row per (as-of, account)
with the probability, band, revenue at risk, value, the structured reasons, offers and
changes as ``jsonb``, and the model versions (columns: ``kam_ml.nightly.score_rows``).

Why the write is safe to kill: the rows are bulk-loaded (ADBC's Arrow ingest, a binary
``COPY``; bench/bench_publish.py measures it against psycopg's ``COPY``) into a temporary
table of the connection, and then, in the same transaction, the night's old rows are
deleted and the new ones inserted from it. Nothing is visible before ``COMMIT``: a process
killed, or a connection cut, at any point leaves every night as it was, and a night
published again is replaced exactly (no duplicates, no mix). Two publishers of one night
queue on an advisory lock instead of colliding on the primary key.

The schema is created when missing and carries a version (``kam_schema``), so a later
kam-ml can migrate it; a database with a newer schema than this kam-ml is refused.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pandas as pd

from kam_ml.errors import ScoresDatabaseError
from kam_ml.nightly.score_rows import SCORE_COLUMNS, score_rows
from kam_ml.nightly.snapshot import read_snapshot
from kam_ml.uris import hide_passwords

__all__ = ["SCHEMA_VERSION", "PublishedScores", "publish_night", "publish_scores"]

SCHEMA_VERSION = 1
TABLE, VIEW, STAGING = "kam_scores", "kam_scores_latest", "kam_scores_staging"
APPLICATION_NAME = "kam-ml publish"  # what pg_stat_activity shows for the publisher
_LOCK = 0x6B616D  # advisory-lock class of kam-ml's scores ("kam"); the night is the key
_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class PublishedScores:
    """What a publish wrote: the night, its rows, the rows it replaced and where (shown)."""

    as_of: str
    rows: int
    replaced: int
    target: str


def publish_night(directory: Path, url: str) -> PublishedScores:
    """Publish an already written night (``OUT/<as-of>/``) again, without scoring."""
    night = read_snapshot(Path(directory))
    return publish_scores(night.explained(), night.as_of, url)


def publish_scores(explained: pd.DataFrame, as_of: str, url: str) -> PublishedScores:
    """Replace night ``as_of``'s rows of ``kam_scores`` with ``explained``'s, in one
    transaction (creating the table and view first if missing). Raises
    ``ScoresDatabaseError`` naming the server (password hidden) when it cannot."""
    day = _day(as_of)
    libpq_url = _libpq_url(url)
    shown = hide_passwords(url)
    rows = score_rows(explained, day)
    dbapi = _driver(shown)
    try:
        with dbapi.connect(libpq_url, autocommit=False) as conn:
            with conn.cursor() as cursor:
                _ensure_schema(cursor, shown)
                conn.commit()
                cursor.adbc_ingest(STAGING, rows, mode="create", temporary=True)
                cursor.execute(f"SELECT pg_advisory_xact_lock({_LOCK}, {_night_key(day)})")
                cursor.fetchall()
                cursor.execute(f"DELETE FROM {TABLE} WHERE as_of = DATE '{day}'")
                replaced = max(cursor.rowcount, 0)
                cursor.execute(_INSERT)
                cursor.execute(f"DROP TABLE pg_temp.{STAGING}")
            conn.commit()
    except ScoresDatabaseError:
        raise
    except Exception as error:  # the driver's errors: connection, rights, a full disk
        if not _is_driver_error(error):
            raise
        raise ScoresDatabaseError(
            f"Could not publish the {day} scores to {shown} (host {_host(url)}): "
            f"{_first_line(error)}"
        ) from None
    return PublishedScores(as_of=day, rows=rows.num_rows, replaced=replaced, target=shown)


_NAMES = [name for name, _ in SCORE_COLUMNS]
_SELECTED = [f"{n}::jsonb" if kind == "jsonb" else n for n, kind in SCORE_COLUMNS]
_INSERT = (
    f"INSERT INTO {TABLE} ({', '.join(_NAMES)}, published_at) "
    f"SELECT {', '.join(_SELECTED)}, now() FROM pg_temp.{STAGING}"
)
_CREATE = [
    f"CREATE TABLE {TABLE} ("
    + ", ".join(
        f"{n} {kind} NOT NULL" if n in ("as_of", "account_id") else f"{n} {kind}"
        for n, kind in SCORE_COLUMNS
    )
    + ", published_at timestamptz NOT NULL, PRIMARY KEY (as_of, account_id))",
    f"CREATE INDEX {TABLE}_account ON {TABLE} (account_id, as_of DESC)",
    f"CREATE VIEW {VIEW} AS SELECT * FROM {TABLE} WHERE as_of = (SELECT max(as_of) FROM {TABLE})",
    f"COMMENT ON TABLE {TABLE} IS 'kam-ml nightly scores, one row per (as_of, account_id); "
    "written by kam-ml nightly --publish, one transaction per night'",
]


def _ensure_schema(cursor: Any, shown: str) -> None:
    """Create ``kam_scores`` and its view at ``SCHEMA_VERSION`` if missing (under a lock,
    so two first publishers do not both create them); refuse a newer schema."""
    cursor.execute(f"SELECT pg_advisory_xact_lock({_LOCK}, 0)")
    cursor.fetchall()
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS kam_schema (component text PRIMARY KEY, "
        "version integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
    )
    cursor.execute(f"SELECT version FROM kam_schema WHERE component = '{TABLE}'")
    found = cursor.fetchall()
    version = int(found[0][0]) if found else None
    if version is None:
        for statement in _CREATE:
            cursor.execute(statement)
        cursor.execute(
            f"INSERT INTO kam_schema (component, version) VALUES ('{TABLE}', {SCHEMA_VERSION})"
        )
    elif version > SCHEMA_VERSION:
        raise ScoresDatabaseError(
            f"{shown} holds {TABLE} at schema version {version}; this kam-ml writes version "
            f"{SCHEMA_VERSION}. Upgrade kam-ml to publish there."
        )


def _day(as_of: str) -> str:
    """The night as YYYY-MM-DD (checked: it is written into the SQL as a literal)."""
    try:
        return dt.date.fromisoformat(str(as_of)[:10]).isoformat()
    except ValueError:
        raise ScoresDatabaseError(f"{as_of!r} is not a night's date (YYYY-MM-DD).") from None


def _night_key(day: str) -> int:
    return (dt.date.fromisoformat(day) - dt.date(1970, 1, 1)).days


def _libpq_url(url: str) -> str:
    """``url`` as libpq takes it: no SQLAlchemy driver suffix (``postgresql+psycopg``), a
    connect timeout (an unreachable server must not hang the night) and our name."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0].lower()
    if scheme not in _SCHEMES or not parts.netloc and not parts.path.strip("/"):
        raise ScoresDatabaseError(
            f"{hide_passwords(url)} is not a PostgreSQL URI: use "
            "postgresql://user:password@host:port/database."
        )
    query = dict(parse_qsl(parts.query))
    query.setdefault("connect_timeout", "10")
    query.setdefault("application_name", APPLICATION_NAME)
    return urlunsplit(
        ("postgresql", parts.netloc, parts.path, urlencode(query, quote_via=quote), "")
    )


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "?"
    if host is None:
        return "local socket"
    return f"{host}:{port}" if port else host


def _driver(shown: str) -> Any:
    if importlib.util.find_spec("adbc_driver_postgresql") is None:
        raise ScoresDatabaseError(
            f"Publishing scores to {shown} needs the 'postgres' extra: "
            "pip install 'kam-ml[postgres]'."
        )
    import adbc_driver_postgresql.dbapi

    return adbc_driver_postgresql.dbapi


def _is_driver_error(error: Exception) -> bool:
    import adbc_driver_manager

    return isinstance(error, adbc_driver_manager.Error)


def _first_line(error: Exception) -> str:
    """The server's or libpq's message, without ADBC's prefix and detail lines."""
    text = str(error).strip()
    for prefix in ("IO: ", "INVALID_STATE: ", "INTERNAL: "):
        text = text.removeprefix(prefix)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return hide_passwords(" ".join(lines[:2])) if lines else type(error).__name__
