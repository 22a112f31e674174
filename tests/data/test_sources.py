"""Sources: folders of CSV/Parquet and SQL databases load to the same validated tables."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
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


def test_postgresql_without_a_driver_says_which_package_to_install() -> None:
    """In a Python where no driver imports (None in sys.modules hides an installed one)."""
    hide = "; ".join(f"sys.modules[{m!r}] = None" for m in ("adbc_driver_postgresql",
                                                            "psycopg", "psycopg2"))  # fmt: skip
    code = (
        f"import sys; {hide}; from kam_ml.data.sources import read_sql_tables; "
        "read_sql_tables('postgresql://kam:secret@localhost/book')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "kam_ml.errors.DataContractError: Reading postgresql://kam:***@localhost/book needs a "
        "PostgreSQL driver: pip install 'kam-ml[postgres]' (ADBC, fast) or 'psycopg[binary]'."
    )
    assert "secret" not in done.stderr


def test_an_unreachable_server_is_named_without_the_password() -> None:
    with pytest.raises(DataContractError) as error:
        read_sql_tables("postgresql+psycopg://kam:secret@127.0.0.1:1/book")
    message = str(error.value)
    assert message.startswith("Could not connect to PostgreSQL at 127.0.0.1:1/book as user kam")
    assert "Connection refused" in message and "secret" not in message


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


# -- PostgreSQL: a real throwaway server (tests/pg.py), read through ADBC ---------------


def _ingest(uri: str, frames: Raw) -> str:
    """``frames`` as tables of the database at ``uri``, with ADBC's bulk ingest."""
    import adbc_driver_postgresql.dbapi
    import pyarrow as pa

    with adbc_driver_postgresql.dbapi.connect(uri) as conn, conn.cursor() as cursor:
        for name, frame in frames.items():
            cursor.adbc_ingest(name, pa.Table.from_pandas(frame, preserve_index=False))
        conn.commit()
    return uri


def _execute(uri: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def test_a_postgresql_database_loads_like_the_parquet_folder(
    postgres, raw: Raw, tmp_path: Path
) -> None:
    uri = _ingest(postgres.create_database("typed"), typed(raw))
    from_pg = load_tables(uri, on_bad_rows="refuse")
    from_parquet = load_tables(write_parquet(tmp_path / "parquet", typed(raw)))
    assert_same_tables(from_pg.tables, from_parquet.tables)


def test_postgresql_column_types_load_like_the_csv_folder(
    postgres, csv_folder: Path, raw: Raw
) -> None:
    """numeric, date, timestamptz, integer and nullable boolean, as a DBA would declare them:
    numeric arrives from ADBC as text and must not read as a string column."""
    uri = postgres.create_database("declared")
    _ingest(uri, {name: raw[name] for name in ("accounts", "categories")})
    rows = ", ".join(
        "('{}', '{}', '{}+00', '{}', '{}', {}, {}, {}, {})".format(
            *row[:5], row[5], row[6], _sql_bool(row[7]), _sql_date(row[8])
        )
        for row in raw["orders"].itertuples(index=False)
    )
    _execute(
        uri,
        "ALTER TABLE accounts ALTER signup_date TYPE date USING signup_date::date",
        "ALTER TABLE categories ALTER margin_rate TYPE numeric(6, 3) USING margin_rate::numeric",
        "CREATE TABLE orders (order_id text, account_id text, order_date timestamptz, "
        "category text, product_id text, quantity integer, amount numeric(12, 2), "
        f"returned boolean, return_date date); INSERT INTO orders VALUES {rows}",
        "CREATE TABLE interactions (account_id text, event_date timestamptz, event_type text, "
        "value double precision); INSERT INTO interactions "
        "VALUES ('A-1', '2024-01-15', 'complaint', NULL), ('A-2', '2024-02-01', 'nps', 9), "
        "('A-3', '2024-03-01', 'ticket', 4.5), ('A-1', '2024-03-10', 'nps', 3)",
    )
    read = read_sql_tables(uri)
    assert read["categories"]["margin_rate"].dtype == "float64"
    assert read["orders"]["amount"].dtype == "float64"
    assert str(read["orders"]["order_date"].dtype) == "datetime64[ns, UTC]"
    assert read["accounts"]["signup_date"].dtype == "datetime64[ns]"
    from_pg = validate_tables(read, on_bad_rows="refuse")
    assert_same_tables(from_pg.tables, load_tables(csv_folder, on_bad_rows="refuse").tables)


def _sql_bool(value: object) -> str:
    spelled = {"false": "false", "yes": "true", "true": "true", "no": "false", "0": "false"}
    return "NULL" if not isinstance(value, str) else spelled[value.lower()]


def _sql_date(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else "NULL"


def test_a_team_maps_its_own_schema_with_views(postgres, csv_folder: Path, raw: Raw) -> None:
    uri = postgres.create_database("crm")
    crm_customers = raw["accounts"].rename(
        columns={"account_id": "cust_no", "signup_date": "created", "manager": "owner"}
    )
    crm_sales = raw["orders"].rename(columns={"order_id": "line_id", "account_id": "cust_no"})
    tables = {"crm_customers": crm_customers, "crm_sales": crm_sales}
    _ingest(uri, tables | {name: raw[name] for name in ("interactions", "categories")})
    _execute(
        uri,
        'CREATE VIEW "Accounts" AS SELECT cust_no AS account_id, created AS signup_date, '
        "owner AS manager, region, segment FROM crm_customers",
        "CREATE VIEW orders AS SELECT line_id AS order_id, cust_no AS account_id, order_date, "
        "category, product_id, quantity, amount, returned, return_date FROM crm_sales",
    )
    from_views = load_tables(uri, on_bad_rows="refuse")
    assert_same_tables(from_views.tables, load_tables(csv_folder, on_bad_rows="refuse").tables)


def test_postgresql_gives_the_folders_quarantine_and_features(postgres, tmp_path: Path) -> None:
    from kam_ml.demo.generate import generate_demo_data
    from kam_ml.features.build import build_features
    from kam_ml.problem.definition import ProblemDefinition

    demo = generate_demo_data(n_accounts=600, seed=5)
    frames = {name: getattr(demo, name) for name in ("accounts", "orders", "interactions",
                                                     "categories")}  # fmt: skip
    orders = frames["orders"]
    broken = orders.iloc[:2].assign(amount=[-5.0, 10.0], account_id=["A-nobody", None])
    frames["orders"] = pd.concat([orders, broken], ignore_index=True)  # two rows to quarantine
    folder = write_parquet(tmp_path / "book", frames)
    uri = _ingest(postgres.create_database("demo"), read_raw_tables(folder))
    from_pg, from_folder = load_tables(uri), load_tables(folder)
    assert not from_folder.report.is_clean
    assert from_pg.report.summary().equals(from_folder.report.summary())
    assert_same_tables(from_pg.tables, from_folder.tables)
    as_of = from_folder.tables.last_date()
    pd.testing.assert_frame_equal(
        build_features(from_pg.tables, as_of, ProblemDefinition()),
        build_features(from_folder.tables, as_of, ProblemDefinition()),
    )


def test_the_sqlalchemy_fallback_reads_what_adbc_reads(postgres, raw: Raw) -> None:
    from kam_ml.data.postgres import read_with_sqlalchemy

    uri = _ingest(postgres.create_database("fallback"), typed(raw))
    assert_same_tables(
        validate_tables(read_with_sqlalchemy(uri)).tables,
        validate_tables(read_sql_tables(uri)).tables,
    )


def test_a_postgresql_database_without_a_required_table_lists_its_tables(
    postgres, raw: Raw
) -> None:
    del raw["orders"]
    uri = _ingest(postgres.create_database("partial"), raw)
    with pytest.raises(DataContractError) as error:
        read_sql_tables(uri)
    assert str(error.value) == (
        f"Required table 'orders' not found in {uri}; "
        "found tables: accounts, categories, interactions."
    )


def test_a_wrong_password_names_the_server_and_hides_the_password(postgres) -> None:
    postgres.add_password_user("guarded", "right-horse-battery")
    uri = f"postgresql://guarded:wrong-horse-battery@127.0.0.1:{postgres.port}/postgres"
    with pytest.raises(DataContractError) as error:
        read_sql_tables(uri)
    message = str(error.value)
    assert message.startswith(
        f"Could not connect to PostgreSQL at 127.0.0.1:{postgres.port}/postgres as user guarded"
    )
    assert 'password authentication failed for user "guarded"' in message
    assert "horse" not in message


def test_dates_pandas_cannot_hold_are_quarantined_showing_the_value(postgres, raw: Raw) -> None:
    """A CRM's 'never' as 9999-12-31 must cost its row, named, not the read or the column."""
    uri = _ingest(postgres.create_database("far_dates"), typed(raw))
    _execute(uri, "UPDATE orders SET order_date = '9999-12-31' WHERE order_id = 'O-3'")
    loaded = load_tables(uri)
    assert "O-3" not in set(loaded.tables.orders["order_id"])
    assert len(loaded.tables.orders) == len(raw["orders"]) - 1
    assert "orders.order_date must be a valid timestamp: 1 row breaks it (order_id O-3)" in str(
        loaded.report
    )
    (kept,) = loaded.report.quarantined["orders"]["order_date"]
    assert str(kept).startswith("9999-12-31")  # the value as stored, for the report file
