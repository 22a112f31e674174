"""The real CLI, in subprocesses, reading a PostgreSQL database and tracking in another.

One throwaway server (tests/pg.py) holds the demo book, loaded with ADBC's bulk ingest,
and MLflow's store. The book is trained once, from PostgreSQL; everything else compares
what a ``postgresql://`` source gives with what the same tables give from the folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from mlflow.tracking import MlflowClient

from tests.pg import ThrowawayPostgres

KAM_ML = [sys.executable, "-m", "kam_ml"]
TABLES = ("accounts", "orders", "interactions", "categories")


class Book:
    """The working folder, the book's URI and the environment every command runs with."""

    def __init__(self, workdir: Path, uri: str, env: dict[str, str]) -> None:
        self.workdir, self.uri, self.env = workdir, uri, env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*KAM_ML, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kam-ml {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result


def _ingest(uri: str, folder: Path, drop: tuple[str, str] | None = None) -> str:
    import adbc_driver_postgresql.dbapi

    with adbc_driver_postgresql.dbapi.connect(uri) as conn, conn.cursor() as cursor:
        for name in TABLES:
            table = pq.read_table(folder / f"{name}.parquet")
            if drop is not None and drop[0] == name:
                table = table.drop_columns([drop[1]])
            cursor.adbc_ingest(name, table)
        conn.commit()
    return uri


@pytest.fixture(scope="module")
def book(postgres: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory) -> Book:
    workdir = tmp_path_factory.mktemp("e2e-postgres")
    env = os.environ | {
        "MLFLOW_TRACKING_URI": postgres.create_database("e2e_mlflow").replace(
            "postgresql://", "postgresql+psycopg://"
        ),
        "KAM_ARTIFACT_ROOT": str(workdir / "artifacts"),
        "COLUMNS": "200",
    }
    Book(workdir, "", env).run("demo-data", "--out", "data", "--accounts", "800", "--seed", "5")
    # two order lines that break rules, for a quarantine report worth comparing
    orders = pd.read_parquet(workdir / "data" / "orders.parquet")
    broken = orders.iloc[:2].assign(
        amount=[-5.0, 10.0], account_id=[orders["account_id"].iloc[0], "A-nobody"]
    )
    pd.concat([orders, broken], ignore_index=True).to_parquet(workdir / "data" / "orders.parquet")
    uri = _ingest(postgres.create_database("e2e_book"), workdir / "data")
    book = Book(workdir, uri, env)
    book.run("train", "--data", uri)
    return book


def test_validate_gives_the_folders_quarantine_report(book: Book) -> None:
    from_pg = book.run("validate", "--data", book.uri, "--report", "report_pg")
    book.run("validate", "--data", "data", "--report", "report_folder")
    title = f"{book.uri} follows the contract (after quarantine)"  # rich wraps a table title
    assert "".join(title.split()) in "".join(from_pg.stdout.split())
    files = sorted(p.name for p in (book.workdir / "report_folder").iterdir())
    assert files == ["orders_quarantined.csv", "quarantine_summary.csv"]
    for name in files:
        pg_text = (book.workdir / "report_pg" / name).read_text()
        assert pg_text == (book.workdir / "report_folder" / name).read_text(), name


def test_train_from_postgresql_registers_champions_in_mlflow_on_postgresql(book: Book) -> None:
    client = MlflowClient(tracking_uri=book.env["MLFLOW_TRACKING_URI"])
    for name in ("kam-churn", "kam-offers", "kam-value"):
        assert str(client.get_model_version_by_alias(name, "champion").version) == "1", name
    again = book.run("train", "--data", "data")  # the folder is the same data, to the hash
    assert "Nothing to train: the data and settings are unchanged." in again.stdout


def test_score_and_nightly_from_postgresql_equal_scoring_the_folder(book: Book) -> None:
    book.run("score", "--data", book.uri, "--out", "from_pg.parquet")
    book.run("score", "--data", "data", "--out", "from_folder.parquet")
    from_folder = pd.read_parquet(book.workdir / "from_folder.parquet")
    assert len(from_folder) > 300 and from_folder["churn_probability"].nunique() > 10
    pd.testing.assert_frame_equal(pd.read_parquet(book.workdir / "from_pg.parquet"), from_folder)
    night = book.run("nightly", "--data", book.uri, "--out", "nights")
    assert f"Nightly run from {book.uri}" in night.stdout
    (scores,) = (book.workdir / "nights").glob("*/scores.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(scores), from_folder)


def test_a_missing_column_exits_1_naming_it(book: Book, postgres: ThrowawayPostgres) -> None:
    uri = _ingest(postgres.create_database("no_signup"), book.workdir / "data",
                  drop=("accounts", "signup_date"))  # fmt: skip
    result = book.run("validate", "--data", uri, check=False)
    assert result.returncode == 1
    assert (
        "error: accounts is missing required column 'signup_date' "
        "(found: account_id, manager, region, segment)."
    ) in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr + result.stdout


def test_a_wrong_password_exits_1_naming_the_server(
    book: Book, postgres: ThrowawayPostgres
) -> None:
    postgres.add_password_user("cli_guarded", "right-staple")
    uri = f"postgresql://cli_guarded:wrong-staple@127.0.0.1:{postgres.port}/e2e_book"
    result = book.run("validate", "--data", uri, check=False)
    assert result.returncode == 1
    shown = " ".join(result.stderr.split())
    assert (
        f"error: Could not connect to PostgreSQL at 127.0.0.1:{postgres.port}/e2e_book "
        'as user cli_guarded: connection to server at "127.0.0.1"'
    ) in shown
    assert "password authentication failed" in shown
    assert "staple" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout
