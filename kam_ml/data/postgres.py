"""Read the contract tables from PostgreSQL: Arrow in bulk through ADBC, else SQLAlchemy.

ADBC's driver reads each result with ``COPY ... TO STDOUT (FORMAT binary)`` straight into
Arrow: 20M order lines in about 25 s and 3 GB, where ``pandas.read_sql`` over SQLAlchemy
took 190 s and 19 GB (docs/design, section 2). Tables, views and materialized views of the
search path are read alike, so a team maps its own schema to the contract with views.
Values keep their stored types, as a Parquet folder's do; validation parses and reports.
"""

from __future__ import annotations

import importlib.util
import urllib.parse

import pandas as pd
import pyarrow as pa

from kam_ml.data.contract import TABLE_NAMES
from kam_ml.data.sources import require_tables
from kam_ml.errors import DataContractError
from kam_ml.pandas_compat import arrow_to_pandas
from kam_ml.uris import hide_passwords

__all__ = ["read_postgresql", "read_with_sqlalchemy"]

# Every relation a SELECT can read (table, view, materialized view, partitioned, foreign),
# in search-path order so that the first schema wins a name found in two.
_RELATIONS = """
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND n.nspname = ANY (current_schemas(false))
ORDER BY array_position(current_schemas(false), n.nspname), c.relname
"""
_CONNECT_PREFIX = "IO: [libpq] Failed to connect: "


def read_postgresql(uri: str) -> dict[str, pd.DataFrame]:
    """Every contract table found in the database of ``postgresql://user@host:port/db``;
    a missing required table raises ``DataContractError`` naming the tables found."""
    server = _Server.parse(uri)
    if importlib.util.find_spec("adbc_driver_postgresql") is None:
        return read_with_sqlalchemy(uri)
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi

    try:
        conn = adbc_driver_postgresql.dbapi.connect(server.libpq_uri)
    except adbc_driver_manager.Error as error:
        detail = server.scrub(str(error)).removeprefix(_CONNECT_PREFIX)
        raise DataContractError(f"Could not connect to {server}: {detail.strip()}") from None
    with conn, conn.cursor() as cursor:
        try:
            # one snapshot for all tables: orders written mid-read cannot miss their account
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute(_RELATIONS)
            relations: dict[str, tuple[str, str]] = {}
            for schema, name in cursor.fetchall():
                relations.setdefault(name.lower(), (schema, name))
        except adbc_driver_manager.Error as error:
            raise DataContractError(f"Could not list the tables of {server}: "
                                    f"{server.scrub(str(error)).strip()}") from None  # fmt: skip
        require_tables({key: name for key, (_, name) in relations.items()}, server.shown)
        tables: dict[str, pd.DataFrame] = {}
        for table in TABLE_NAMES:
            if table not in relations:
                continue
            schema, name = relations[table]
            try:
                cursor.execute(f"SELECT * FROM {_quoted(schema)}.{_quoted(name)}")
                arrow = cursor.fetch_arrow_table()
            except adbc_driver_manager.Error as error:
                raise DataContractError(
                    f"Could not read {name} from {server}: {server.scrub(str(error)).strip()}"
                ) from None
            tables[table] = _to_pandas(arrow)
            del arrow
        conn.rollback()  # read only: nothing to keep
    return tables


class _Server:
    """Where a URI points (host, port, database, user), as messages may show it."""

    def __init__(self, uri: str, parts: urllib.parse.SplitResult) -> None:
        query = urllib.parse.parse_qs(parts.query)
        self.user = urllib.parse.unquote(parts.username or "") or _first(query, "user")
        self.password = urllib.parse.unquote(parts.password or "") or _first(query, "password")
        self.host = parts.hostname or _first(query, "host") or "localhost"
        self.port = parts.port or _first(query, "port") or 5432
        self.database = urllib.parse.unquote(parts.path.lstrip("/")) or self.user
        # libpq knows postgresql:// and postgres://, not SQLAlchemy's "+driver" suffix
        self.libpq_uri = "postgresql" + uri[len(parts.scheme) :]
        self.shown = hide_passwords(uri)

    @classmethod
    def parse(cls, uri: str) -> _Server:
        try:
            parts = urllib.parse.urlsplit(uri)
            _ = parts.port  # a port that is not a number raises here
        except ValueError:  # may quote the URI, password and all
            raise DataContractError(
                f"{hide_passwords(uri)} is not a database URI: use "
                "postgresql://user:password@host:port/database."
            ) from None
        return cls(uri, parts)

    def scrub(self, text: str) -> str:
        """``text`` with this URI's password hidden, in a URI or on its own."""
        text = hide_passwords(text)
        return text.replace(self.password, "***") if self.password else text

    def __str__(self) -> str:
        user = f" as user {self.user}" if self.user else ""
        return f"PostgreSQL at {self.host}:{self.port}/{self.database}{user}"


def _first(query: dict[str, list[str]], key: str) -> str:
    return query.get(key, [""])[0]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """The frame a Parquet folder would give for the same columns.

    PostgreSQL's ``numeric`` arrives as text (ADBC keeps every digit) and becomes float64,
    the contract's number; timestamps arrive in microseconds and get pandas'
    nanoseconds (``_nanoseconds``); ``date`` becomes a timestamp at midnight (pandas would make
    Python date objects); ``json`` becomes text. Anything else is unchanged (``uuid``
    arrives as Python UUIDs, read as text), and what does not convert stays as it came,
    for validation to report."""
    pairs = zip(table.schema, table.columns, strict=True)
    columns = [_column(field, column) for field, column in pairs]
    return arrow_to_pandas(pa.table(columns, names=table.column_names))


def _column(field: pa.Field, column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = field.type
    if isinstance(kind, pa.BaseExtensionType) and pa.types.is_string(kind.storage_type):
        storage = pa.chunked_array([chunk.storage for chunk in column.chunks], kind.storage_type)
        if getattr(kind, "type_name", "") == "numeric":
            return _cast_or_keep(storage, pa.float64())
        return storage
    if pa.types.is_decimal(kind):
        return _cast_or_keep(column, pa.float64())
    if pa.types.is_date(kind):
        return _nanoseconds(column.cast(pa.timestamp("s")))
    if pa.types.is_timestamp(kind) and kind.unit != "ns":
        return _nanoseconds(column)
    return column


def _nanoseconds(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """pandas' unit, as Parquet gives. A column with a date pandas cannot hold (before 1677,
    after 2262, PostgreSQL's ``infinity``) becomes ISO text instead, so that validation
    quarantines those rows showing the value, and parses the rest as usual."""
    kind = column.type
    try:
        return column.cast(pa.timestamp("ns", kind.tz))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _cast_or_keep(column, pa.string())


def _cast_or_keep(column: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
    try:
        return column.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return column  # text validation will name, with examples


def read_with_sqlalchemy(uri: str) -> dict[str, pd.DataFrame]:
    """The fallback without ADBC: row by row through SQLAlchemy and psycopg (7x slower,
    6x the memory of ADBC at 20M rows)."""
    if importlib.util.find_spec("sqlalchemy") is None:
        raise DataContractError(
            "Reading postgresql:// sources needs the 'adbc-driver-postgresql' package "
            "(pip install 'kam-ml[postgres]'), or 'sqlalchemy' and 'psycopg': "
            "pip install sqlalchemy 'psycopg[binary]'."
        )
    import sqlalchemy

    try:
        url = sqlalchemy.engine.make_url(uri)
    except (sqlalchemy.exc.ArgumentError, ValueError):  # may quote the URI, password and all
        raise DataContractError(
            f"{hide_passwords(uri)} is not a database URI: use "
            "postgresql://user:password@host:port/database."
        ) from None
    shown = url.render_as_string(hide_password=True)
    has = {name: importlib.util.find_spec(name) is not None for name in ("psycopg", "psycopg2")}
    if url.drivername in ("postgresql", "postgres") and has["psycopg"] and not has["psycopg2"]:
        url = url.set(drivername="postgresql+psycopg")  # SQLAlchemy defaults to psycopg2
    try:
        engine = sqlalchemy.create_engine(url)
    except ImportError as error:
        raise DataContractError(
            f"Reading {shown} needs a PostgreSQL driver: pip install 'kam-ml[postgres]' "
            f"(ADBC, fast) or 'psycopg[binary]'. ({error})"
        ) from error
    try:
        with engine.connect() as conn:
            inspector = sqlalchemy.inspect(conn)
            found = inspector.get_table_names() + inspector.get_view_names()
            names = {name.lower(): name for name in found}
            require_tables(names, shown)
            return {
                table: pd.read_sql_query(
                    sqlalchemy.select(sqlalchemy.text("*")).select_from(
                        sqlalchemy.table(names[table])
                    ),
                    conn,
                )
                for table in TABLE_NAMES
                if table in names
            }
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise DataContractError(f"Could not read {shown}: {hide_passwords(str(error))}") from error
    finally:
        engine.dispose()
