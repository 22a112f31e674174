"""Benchmark reading the contract tables from PostgreSQL against the same tables in Parquet.

One run: the cached demo book (``cached_tables``) is written as a contract Parquet folder
(account ids as text, as an export gives them), loaded into a throwaway PostgreSQL server
with ADBC's ``adbc_ingest`` (timed), and then each reader runs in its own child process,
so that the peak RSS printed (the child's ``VmHWM``) is that reader's alone:

- ``parquet``: ``read_source(folder)``, the reference;
- ``postgresql``: ``read_source("postgresql://...")``, ADBC (``kam_ml.data.postgres``);
- ``sqlalchemy``: the fallback without ADBC, ``pandas.read_sql`` row by row. At 20M rows it
  needs ~19 GB, so it reads a sample (``--sample-rows`` orders and interactions through
  views in a schema of their own) beside ADBC on the same sample; ``--skip-sqlalchemy``
  leaves it out.

The readers take turns within each repeat, so that load from other jobs falls on all
alike; the table shows the median of ``--repeats`` and the ratio to Parquet. Run on
demand (not in tests)::

    .venv/bin/python bench/bench_sources.py --accounts 1000000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

_TABLES = ("accounts", "orders", "interactions", "categories")
_CODED = ("orders", "interactions")  # cached with account_id as codes into accounts
_SAMPLE_SCHEMA = "sample"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--sample-rows", type=int, default=2_000_000)
    parser.add_argument("--skip-sqlalchemy", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("READER", "SOURCE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    console = Console()
    from tests.pg import ThrowawayPostgres

    with tempfile.TemporaryDirectory(prefix="kam-bench-sources-") as tmp:
        folder = _export(args.accounts, args.seed, args.cache_dir, Path(tmp) / "export")
        rows = {name: pq.ParquetFile(folder / f"{name}.parquet").metadata.num_rows
                for name in _TABLES}  # fmt: skip
        console.print(f"Book: {', '.join(f'{n} {r:,}' for n, r in rows.items())}")
        with ThrowawayPostgres() as server:
            uri = server.create_database("book")
            load_s = _ingest(uri, folder)
            console.print(f"Loaded into PostgreSQL with adbc_ingest in {load_s:.1f} s")
            sample_uri = _sample_schema(uri, args.sample_rows)
            runs = [("parquet", str(folder)), ("postgresql", uri)]
            if not args.skip_sqlalchemy:
                runs += [("postgresql", sample_uri), ("sqlalchemy", sample_uri)]
            results: dict[tuple[str, str], list[dict[str, Any]]] = {run: [] for run in runs}
            for repeat in range(args.repeats):
                for reader, source in runs:
                    if reader == "sqlalchemy" and repeat > 0:
                        continue  # minutes and many GB each; one is enough to show it
                    results[(reader, source)].append(_run_child(reader, source))
    _report(console, results, rows, load_s, args, sample_uri)


def _export(n_accounts: int, seed: int, cache_dir: Path, out: Path) -> Path:
    """The cached book as a contract export: account ids as text in every table."""
    folder = Path(cache_dir) / f"accounts_{n_accounts}_seed_{seed}"
    if not (folder / "meta.json").is_file():
        from cached_tables import cached_tables

        cached_tables(n_accounts, seed, Path(cache_dir))
    out.mkdir(parents=True)
    accounts = pq.read_table(folder / "accounts.parquet")
    ids = accounts.column("account_id").combine_chunks()
    for name in _TABLES:
        table = accounts if name == "accounts" else pq.read_table(folder / f"{name}.parquet")
        if name in _CODED:
            position = table.schema.get_field_index("account_id")
            codes = table.column("account_id").combine_chunks()
            table = table.set_column(position, "account_id", ids.take(codes).cast(pa.string()))
        pq.write_table(table, out / f"{name}.parquet")
        del table
    return out


def _ingest(uri: str, folder: Path) -> float:
    import adbc_driver_postgresql.dbapi

    start = time.perf_counter()
    with adbc_driver_postgresql.dbapi.connect(uri) as conn, conn.cursor() as cursor:
        for name in _TABLES:
            cursor.adbc_ingest(name, pq.read_table(folder / f"{name}.parquet"), mode="create")
        conn.commit()
    return time.perf_counter() - start


def _sample_schema(uri: str, rows: int) -> str:
    """A schema of views: every account, the first ``rows`` order lines and interactions;
    the URI that reads it (its search path first)."""
    import adbc_driver_postgresql.dbapi

    with adbc_driver_postgresql.dbapi.connect(uri) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {_SAMPLE_SCHEMA}")
        for name in _TABLES:
            limit = f" LIMIT {rows}" if name in _CODED else ""
            cursor.execute(
                f"CREATE VIEW {_SAMPLE_SCHEMA}.{name} AS SELECT * FROM public.{name}{limit}"
            )
        conn.commit()
    return f"{uri}?options=-csearch_path%3D{_SAMPLE_SCHEMA}"


def _run_child(reader: str, source: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", reader, source]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _child(reader: str, source: str) -> None:
    from kam_ml.data.postgres import read_with_sqlalchemy
    from kam_ml.data.sources import read_source

    read = read_with_sqlalchemy if reader == "sqlalchemy" else read_source
    start = time.perf_counter()
    frames = read(source)
    wall = time.perf_counter() - start
    dtypes = {name: {c: str(t) for c, t in f.dtypes.items()} for name, f in frames.items()}
    rows = {name: len(frame) for name, frame in frames.items()}
    # the child's own high-water mark: ru_maxrss would keep the forking parent's (it
    # survives exec), VmHWM belongs to this process image alone
    status = Path("/proc/self/status").read_text()
    peak_kib = int(
        next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]
    )
    print(json.dumps({"wall_s": wall, "peak_rss_gib": peak_kib / 2**20, "rows": rows,
                      "dtypes": dtypes}))  # fmt: skip


def _report(
    console: Console,
    results: dict[tuple[str, str], list[dict[str, Any]]],
    rows: dict[str, int],
    load_s: float,
    args: argparse.Namespace,
    sample_uri: str,
) -> None:
    median = {run: statistics.median(r["wall_s"] for r in rs) for run, rs in results.items()}
    reference = {"full": median[next(run for run in results if run[0] == "parquet")]}
    full_pg = next(run for run in results if run[0] == "postgresql")
    sampled = [run for run in results if run[1] == sample_uri]
    if sampled:
        reference["sample"] = median[sampled[0]]
    load = os.getloadavg()[0]
    title = f"Contract tables read, {args.accounts:,} accounts (median of {args.repeats}, "
    table = Table(title=title + f"load avg {load:.1f})")
    for column in ("reader", "rows read", "wall", "peak RSS", "ratio"):
        table.add_column(column, justify="right" if column != "reader" else "left")
    for run, repeats in results.items():
        reader, source = run
        sample = source == sample_uri
        label = {"parquet": "Parquet folder", "postgresql": "PostgreSQL, ADBC",
                 "sqlalchemy": "PostgreSQL, SQLAlchemy"}[reader]  # fmt: skip
        base = reference["sample"] if sample else reference["full"]
        ratio = f"{median[run] / base:.2f}x " + ("ADBC" if sample else "Parquet")
        table.add_row(
            label + (" (sample)" if sample else ""),
            f"{sum(repeats[0]['rows'].values()):,}",
            f"{median[run]:.1f} s",
            f"{max(r['peak_rss_gib'] for r in repeats):.2f} GiB",
            ratio,
        )
    console.print(table)
    console.print(f"PostgreSQL/Parquet: {median[full_pg] / reference['full']:.2f}x; "
                  f"load with adbc_ingest {load_s:.1f} s")  # fmt: skip
    out = ROOT / "bench" / "results" / "bench_sources.json"
    out.parent.mkdir(exist_ok=True)
    record = {
        "accounts": args.accounts,
        "rows": rows,
        "load_s": load_s,
        "sample_rows": args.sample_rows,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg": os.getloadavg(),
        },  # fmt: skip
        "runs": [
            {"reader": r, "sample": s == sample_uri, "repeats": v} for (r, s), v in results.items()
        ],  # fmt: skip
    }
    out.write_text(json.dumps(record, indent=2))
    console.print(f"Raw figures: {out}")


if __name__ == "__main__":
    main()
