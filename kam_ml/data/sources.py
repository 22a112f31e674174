"""Read the contract tables, as raw frames, from a folder of files or a SQL database.

Readers do no type conversion: CSV columns arrive as text (blank -> NaN) and Parquet/SQL
columns with their stored types, so every parse failure is found and reported by
``kam_ml.data.validation`` with the table, column and example values.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from kam_ml.data.contract import REQUIRED_TABLES, TABLE_NAMES
from kam_ml.errors import DataContractError
from kam_ml.pandas_compat import arrow_to_pandas
from kam_ml.parquet import read_parquet
from kam_ml.uris import hide_passwords

__all__ = ["hide_passwords", "read_raw_tables", "read_source", "read_sql_tables"]

_SUFFIXES = (".parquet", ".csv")  # in order of preference: Parquet keeps types
_SHOWN = 12
# CSV cells that mean "missing": pandas' default markers (``keep_default_na``), spelled out
# so that every pandas release reads a CSV file the same way
_MISSING_MARKERS = (
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"),
    *("1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
)


def read_source(source: str | Path) -> dict[str, pd.DataFrame]:
    """Read a folder path, or a ``sqlite:///file.db`` / ``postgresql://...`` URI."""
    if isinstance(source, str) and "://" in source:
        return read_sql_tables(source)
    return read_raw_tables(Path(source))


def read_raw_tables(path: Path) -> dict[str, pd.DataFrame]:
    """Read ``<table>.parquet`` or ``<table>.csv`` for every contract table in ``path``.

    Parquet wins when both exist. Optional tables that are absent are left out of the
    result; a missing required table raises ``DataContractError``.
    """
    path = Path(path)
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise DataContractError(f"The data folder {path} {what}.")
    tables: dict[str, pd.DataFrame] = {}
    for name in TABLE_NAMES:
        file = next(
            (path / f"{name}{s}" for s in _SUFFIXES if (path / f"{name}{s}").exists()), None
        )
        if file is not None:
            tables[name] = _read_file(file)
    found = sorted(p.name for p in path.iterdir())
    shown = ", ".join(found[:_SHOWN]) + (", ..." if len(found) > _SHOWN else "")
    for name in REQUIRED_TABLES:
        if name not in tables:
            raise DataContractError(
                f"Required table {name!r} not found in {path}: expected {name}.parquet or "
                f"{name}.csv; found {shown or 'no files'}."
            )
    return tables


def _read_file(file: Path) -> pd.DataFrame:
    try:
        if file.suffix == ".parquet":  # text as TEXT on every pandas, as the other readers give
            return read_parquet(file)
        return _read_csv_as_text(file)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise DataContractError(f"Could not read {file}: {error}") from error


def _read_csv_as_text(file: Path) -> pd.DataFrame:
    """Every column as text, exactly as typed (``007`` stays ``007``), missing markers as NaN.

    Arrow's reader is multi-threaded and, unlike pandas' C engine, refuses ragged rows. It is
    called directly because pandas 2's ``engine="pyarrow"`` infers types first and casts
    back to text (``1`` in a column with a blank becomes ``1.0``); the header is read first
    since Arrow takes text types per column name.
    """
    names = pacsv.open_csv(file).schema.names
    options = pacsv.ConvertOptions(
        column_types={name: pa.large_string() for name in names},
        null_values=list(_MISSING_MARKERS),
        strings_can_be_null=True,
    )
    table = pacsv.read_csv(file, convert_options=options).rename_columns(_numbered(names))
    return arrow_to_pandas(table)


def _numbered(names: list[str]) -> list[str]:
    """``a, b, a`` -> ``a, b, a.1``: repeated column names numbered as pandas numbers them."""
    counts: dict[str, int] = {}
    unique = []
    for name in names:
        count = counts.get(name, 0)
        while count > 0:
            counts[name] = count + 1
            name = f"{name}.{count}"
            count = counts.get(name, 0)
        unique.append(name)
        counts[name] = count + 1
    return unique


def read_sql_tables(uri: str) -> dict[str, pd.DataFrame]:
    """Read every contract table from ``sqlite:///file.db`` or ``postgresql://...``.

    SQLite uses the standard library and opens the file read-only (a typo must not create
    an empty database). PostgreSQL is read in bulk through ADBC (``kam-ml[postgres]``),
    else through SQLAlchemy and ``psycopg``; see ``kam_ml.data.postgres``.
    """
    scheme = uri.split("://", 1)[0].lower()
    if scheme == "sqlite":
        return _read_sqlite(uri)
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        from kam_ml.data.postgres import read_postgresql  # imports ADBC only when used

        return read_postgresql(uri)
    raise DataContractError(
        f"Unsupported data source {scheme}://...: use a folder of Parquet/CSV files, "
        "sqlite:///path/to/file.db or postgresql://user@host/database."
    )


def _read_sqlite(uri: str) -> dict[str, pd.DataFrame]:
    # SQLAlchemy's convention: sqlite:///relative.db and sqlite:////absolute/path.db.
    file = Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None
    if file is None or not file.name:
        raise DataContractError(f"{uri!r} names no database file; use sqlite:///path/to/file.db.")
    if not file.is_file():
        raise DataContractError(f"The SQLite database {file} does not exist ({uri}).")
    try:
        with closing(sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            names = {name.lower(): name for (name,) in rows}
            require_tables(names, uri)
            return {
                table: pd.read_sql_query(f'SELECT * FROM "{names[table]}"', conn)
                for table in TABLE_NAMES
                if table in names
            }
    except sqlite3.Error as error:
        raise DataContractError(f"Could not read the SQLite database {file}: {error}") from error


def require_tables(names: dict[str, str], where: str) -> None:
    """Refuse a database without every required table (``names``: lower-case -> found)."""
    for table in REQUIRED_TABLES:
        if table not in names:
            found = ", ".join(sorted(names.values())[:_SHOWN]) or "no tables"
            raise DataContractError(
                f"Required table {table!r} not found in {where}; found tables: {found}."
            )
