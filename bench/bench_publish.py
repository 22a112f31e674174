"""How fast a night's scores reach PostgreSQL, and which bulk load to use for it.

Takes a published night's ``explained.parquet`` (``--night``), repeats its rows under new
account ids up to each size, and on a throwaway PostgreSQL 15 (``tests/pg.py``) times:

* ``publish_scores`` end to end (rows to Arrow with JSON, load, delete + insert, commit),
  first publish and re-publish of the same night (which deletes the old rows first);
* the bulk load alone, of the same Arrow table into an empty temporary table, three ways:
  ADBC ``adbc_ingest`` (binary COPY from Arrow, what ``kam_ml.nightly.database`` uses),
  psycopg ``COPY ... FROM STDIN`` fed row by row (``write_row``), and psycopg ``COPY`` of
  the table written as CSV by pyarrow.

Medians of ``--repeat`` runs.  Usage:
    python bench/bench_publish.py --night OUT/2026-10-31 --sizes 20000 200000
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from kam_ml.nightly.database import publish_scores
from kam_ml.nightly.score_rows import SCORE_COLUMNS, score_rows
from tests.pg import ThrowawayPostgres

_DDL = ", ".join(
    f"{n} {'text' if kind == 'jsonb' else kind}" for n, kind in SCORE_COLUMNS
)  # the staging table: JSON still text


def _book(explained: pd.DataFrame, size: int) -> pd.DataFrame:
    copies = -(-size // len(explained))
    frames = []
    for i in range(copies):
        part = explained.copy()
        part["account_id"] = part["account_id"].astype(str) + f"-{i}"
        frames.append(part)
    return pd.concat(frames, ignore_index=True).iloc[:size]


def _median(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _adbc(url: str, rows: pa.Table) -> None:
    import adbc_driver_postgresql.dbapi as dbapi

    with dbapi.connect(url, autocommit=False) as conn, conn.cursor() as cursor:
        cursor.adbc_ingest("staging", rows, mode="create", temporary=True)
        conn.commit()


def _psycopg_rows(url: str, rows: pa.Table) -> None:
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE staging ({_DDL})")
        with cursor.copy("COPY staging FROM STDIN") as copy:
            for row in zip(*(c.to_pylist() for c in rows.columns), strict=True):
                copy.write_row(row)


def _psycopg_csv(url: str, rows: pa.Table) -> None:
    import psycopg

    buffer = io.BytesIO()
    pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False))
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE staging ({_DDL})")
        with cursor.copy("COPY staging FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--night", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    explained = pd.read_parquet(args.night / "explained.parquet")
    day = str(pd.Timestamp(explained["as_of"].iloc[0]).date())
    with ThrowawayPostgres() as pg:
        url = pg.create_database("bench")
        for size in args.sizes:
            book = _book(explained, size)
            rows = score_rows(book, day)
            print(f"{size:,} rows ({rows.nbytes / 2**20:,.0f} MiB as Arrow)")
            to_rows = _median(lambda b=book: score_rows(b, day), args.repeat)
            print(f"  rows to Arrow + JSON       {to_rows:7.2f} s")
            first = _median(lambda b=book: publish_scores(b, day, url), 1)
            print(f"  publish_scores, first      {first:7.2f} s")
            again = _median(lambda b=book: publish_scores(b, day, url), args.repeat)
            print(f"  publish_scores, replace    {again:7.2f} s")
            for name, load in (
                ("ADBC adbc_ingest", _adbc),
                ("psycopg COPY write_row", _psycopg_rows),
                ("psycopg COPY csv", _psycopg_csv),
            ):
                seconds = _median(lambda f=load, r=rows: f(url, r), args.repeat)
                print(f"  load only: {name:<23} {seconds:7.2f} s")


if __name__ == "__main__":
    main()
