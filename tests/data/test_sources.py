"""Sources: folders of CSV/Parquet and SQL databases load to the same validated tables."""

from __future__ import annotations

import importlib.util
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from kam_ml.data.sources import hide_passwords, read_raw_tables, read_source, read_sql_tables
from kam_ml.data.tables import Tables
from kam_ml.data.validation import load_tables, validate_tables
from kam_ml.errors import DataContractError

Raw = dict[str, pd.DataFrame]


def typed(raw: Raw) -> Raw:
    """The dataset with the types a Parquet export would store (timestamps tz-aware)."""
    out = {name: frame.copy() for name, frame in raw.items()}
    out["accounts"]["signup_date"] = pd.to_datetime(out["accounts"]["signup_date"])
    orders = out["orders"]
    for column in ("order_date", "return_date"):
        orders[column] = pd.to_datetime(orders[column], format="ISO8601").dt.tz_localize("UTC")
    orders["quantity"] = orders["quantity"].astype("int64")
    orders["amount"] = orders["amount"].astype("float64")
    orders["returned"] = orders["returned"].str.lower().isin(["yes", "true"])
    out["interactions"]["event_date"] = pd.to_datetime(out["interactions"]["event_date"])
    out["interactions"]["value"] = out["interactions"]["value"].astype("float64")
    out["categories"]["margin_rate"] = out["categories"]["margin_rate"].astype("float64")
    return out


def write_parquet(folder: Path, raw: Raw) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in raw.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def assert_same_tables(left: Tables, right: Tables) -> None:
    for name in ("accounts", "orders", "interactions", "categories"):
        pd.testing.assert_frame_equal(getattr(left, name), getattr(right, name), obj=name)


def test_a_csv_folder_reads_every_table_as_text(csv_folder: Path) -> None:
    raw = read_raw_tables(csv_folder)
    assert sorted(raw) == ["accounts", "categories", "interactions", "orders"]
    assert raw["orders"]["quantity"].tolist()[:2] == ["1", "2"]
    assert raw["accounts"]["manager"].isna().tolist() == [False, False, True, False]


def test_csv_and_parquet_of_the_same_data_load_to_identical_tables(
    csv_folder: Path, raw: Raw, tmp_path: Path
) -> None:
    from_csv = load_tables(csv_folder)
    from_parquet = load_tables(write_parquet(tmp_path / "parquet", typed(raw)))
    assert from_csv.report.is_clean and from_parquet.report.is_clean
    assert_same_tables(from_csv.tables, from_parquet.tables)


@pytest.mark.parametrize("unit", ["us", "ns"])
def test_parquet_with_microsecond_or_nanosecond_timestamps_loads_alike(
    csv_folder: Path, raw: Raw, tmp_path: Path, unit: str
) -> None:
    frames = {
        name: frame.astype(
            {c: f"datetime64[{unit}, UTC]" for c in frame.select_dtypes("datetimetz")}
        )
        for name, frame in typed(raw).items()
    }
    folder = write_parquet(tmp_path / unit, frames)
    assert {str(pq.read_schema(folder / "orders.parquet").field("order_date").type)} == {
        f"timestamp[{unit}, tz=UTC]"
    }
    assert_same_tables(load_tables(folder).tables, load_tables(csv_folder).tables)


def test_parquet_wins_over_csv_in_the_same_folder(csv_folder: Path, raw: Raw) -> None:
    raw["accounts"].iloc[:2].to_parquet(csv_folder / "accounts.parquet", index=False)
    assert len(read_raw_tables(csv_folder)["accounts"]) == 2


def test_absent_optional_tables_are_left_out(csv_folder: Path) -> None:
    (csv_folder / "interactions.csv").unlink()
    assert "interactions" not in read_raw_tables(csv_folder)


def test_a_missing_required_table_names_the_table_the_folder_and_what_was_found(
    csv_folder: Path,
) -> None:
    folder = csv_folder
    (folder / "orders.csv").rename(folder / "Orders.xlsx")
    with pytest.raises(DataContractError) as error:
        read_raw_tables(folder)
    assert str(error.value) == (
        f"Required table 'orders' not found in {folder}: expected orders.parquet or orders.csv; "
        "found Orders.xlsx, accounts.csv, categories.csv, interactions.csv."
    )


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataContractError, match="data folder .*nowhere does not exist"):
        read_raw_tables(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "Empty CSV file"), ("a,b\n1,2,3\n", "CSV parse error: Expected 2 columns")],
)
def test_an_unreadable_csv_is_named(csv_folder: Path, text: str, problem: str) -> None:
    (csv_folder / "orders.csv").write_text(text)
    with pytest.raises(DataContractError, match=f"Could not read .*orders.csv: {problem}"):
        read_raw_tables(csv_folder)


def _sqlite(path: Path, raw: Raw) -> str:
    with closing(sqlite3.connect(path)) as conn:
        for name, frame in raw.items():
            frame.to_sql(name, conn, index=False)
    return f"sqlite:///{path}"


def test_a_sqlite_database_loads_like_the_csv_folder(
    csv_folder: Path, raw: Raw, tmp_path: Path
) -> None:
    from_sql = load_tables(_sqlite(tmp_path / "book.db", raw), on_bad_rows="refuse")
    from_csv = load_tables(csv_folder, on_bad_rows="refuse")
    assert_same_tables(from_sql.tables, from_csv.tables)


def test_a_sqlite_database_with_stored_types_validates(raw: Raw, tmp_path: Path) -> None:
    raw = typed(raw)
    raw["orders"] = raw["orders"].assign(
        order_date=raw["orders"]["order_date"].dt.tz_localize(None),
        return_date=raw["orders"]["return_date"].dt.tz_localize(None),
    )
    tables = validate_tables(read_sql_tables(_sqlite(tmp_path / "typed.db", raw))).tables
    assert tables.orders["quantity"].dtype == "int64"
    assert tables.orders["returned"].sum() == 2


def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(DataContractError, match="SQLite database .*typo.db does not exist"):
        read_sql_tables(f"sqlite:///{path}")
    assert not path.exists()


def test_a_sqlite_database_without_a_required_table_lists_its_tables(
    raw: Raw, tmp_path: Path
) -> None:
    del raw["orders"]
    uri = _sqlite(tmp_path / "partial.db", raw)
    with pytest.raises(
        DataContractError,
        match=(
            "Required table 'orders' not found in sqlite:///.*partial.db; "
            "found tables: accounts, categories, interactions."
        ),
    ):
        read_sql_tables(uri)


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database, just notes" * 100)
    with pytest.raises(DataContractError, match="Could not read the SQLite database"):
        read_sql_tables(f"sqlite:///{path}")


@pytest.mark.skipif(
    any(importlib.util.find_spec(d) for d in ("psycopg", "psycopg2")),
    reason="a PostgreSQL driver is installed",
)
def test_postgresql_without_a_driver_says_which_package_to_install() -> None:
    with pytest.raises(DataContractError, match=r"needs a PostgreSQL driver: pip install 'psycopg"):
        read_sql_tables("postgresql://kam:secret@localhost/book")


def test_postgresql_messages_hide_the_password() -> None:
    with pytest.raises(DataContractError) as error:
        read_sql_tables("postgresql://kam:secret@127.0.0.1:1/book")
    assert "secret" not in str(error.value)


def test_an_unsupported_source_is_refused_with_the_supported_ones() -> None:
    with pytest.raises(DataContractError, match="Unsupported data source mysql://"):
        read_source("mysql://host/db")


def test_read_source_takes_a_folder_as_str_or_path(csv_folder: Path) -> None:
    assert sorted(read_source(str(csv_folder))) == sorted(read_source(csv_folder))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://kam:secret@db:5432/book", "postgresql://kam:***@db:5432/book"),
        ("postgresql+psycopg://kam:se/c@r:et@db/book", "postgresql+psycopg://kam:***@db/book"),
        (
            "could not reach postgresql://:pw@db/x (timeout)",
            "could not reach postgresql://:***@db/x (timeout)",
        ),
        ("postgresql://kam@db/book", "postgresql://kam@db/book"),
        ("sqlite:///book.db", "sqlite:///book.db"),
        ("sqlite:////srv/kam/book.db", "sqlite:////srv/kam/book.db"),
        ("data/book", "data/book"),
    ],
)
def test_passwords_in_uris_are_hidden_and_nothing_else_changes(text: str, shown: str) -> None:
    assert hide_passwords(text) == shown


def test_an_unparsable_postgresql_uri_is_named_without_its_password() -> None:
    with pytest.raises(DataContractError, match=r"kam:\*\*\*@") as error:
        read_sql_tables("postgresql://kam:secret@[::1/book")
    assert "secret" not in str(error.value)
