"""Benchmark ``build_features`` against a DuckDB SQL query of the same RFM aggregations.

Why DuckDB: it is what a data engineer would write instead of our NumPy code, so "within
2x of DuckDB" says the feature code costs about what the simplest fast alternative costs,
while ours computes ~30 features (returns, service, gaps, category mix) and DuckDB only
the RFM subset. Both read the same in-memory pandas orders frame; DuckDB scans it through
a view registered once, outside the timings (its pandas scan is part of its time, as our
column reads are part of ours), with as many threads as ``--threads``.

Each size runs in a child process so that its peak RSS is its own, not the largest
size's or the generator's. Run on demand (not in tests)::

    .venv/bin/python bench/bench_features.py --accounts 100000 1000000 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cached_tables import cached_tables  # noqa: E402

from kam_ml.features import build_features  # noqa: E402
from kam_ml.problem.definition import ProblemDefinition  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# The reference: the RFM features of kam_ml.features.orders for the accounts active at T.
# An order is an account's lines sharing a timestamp, as in kam_ml; ages are fractional
# days at the end of day T, as ProblemDefinition.age_days computes them.
RFM_SQL = """
WITH lines AS (
    SELECT account_id, order_date, amount,
           (epoch_ns($end::TIMESTAMP_NS) - epoch_ns(order_date)) / 86400e9 AS age
    FROM orders
    WHERE order_date < $end::TIMESTAMP_NS
),
per_order AS (
    SELECT account_id, any_value(age) AS age, sum(amount) AS amount
    FROM lines
    GROUP BY account_id, order_date
)
SELECT account_id,
       floor(min(age)) AS days_since_last_order,
       count(*) FILTER (age <= 30) AS orders_30d,
       count(*) FILTER (age <= 90) AS orders_90d,
       count(*) FILTER (age <= 365) AS orders_365d,
       coalesce(sum(amount) FILTER (age <= 30), 0) AS revenue_30d,
       coalesce(sum(amount) FILTER (age <= 90), 0) AS revenue_90d,
       coalesce(sum(amount) FILTER (age <= 365), 0) AS revenue_365d,
       sum(amount) AS revenue_lifetime,
       sum(amount) FILTER (age <= 365) / count(*) FILTER (age <= 365) AS avg_order_value_365d
FROM per_order
GROUP BY account_id
HAVING min(age) <= $active_days
"""
RFM_COLUMNS = [
    "days_since_last_order",
    *(f"orders_{w}d" for w in (30, 90, 365)),
    *(f"revenue_{w}d" for w in (30, 90, 365)),
    "revenue_lifetime",
    "avg_order_value_365d",
]


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed_alternately(
    runs: dict[str, Callable[[], Any]], repeats: int
) -> dict[str, tuple[list[float], Any]]:
    """Wall seconds of each run per repeat, and its last result.

    The runs take turns within each repeat, so that load from other jobs on a shared
    machine falls on both sides alike instead of on whichever ran first.
    """
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            results[name] = run()
            seconds[name].append(time.perf_counter() - start)
    return {name: (seconds[name], results[name]) for name in runs}


def check_same_rfm(ours: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Fail loudly if the two sides disagree: a fast wrong answer is not a benchmark."""
    left = ours.set_index("account_id")[RFM_COLUMNS].sort_index()
    right = reference.assign(account_id=reference["account_id"].astype(str))
    right = right.set_index("account_id")[RFM_COLUMNS].sort_index()
    if not left.index.equals(right.index):
        raise AssertionError(f"Active accounts differ: {len(left)} ours vs {len(right)} DuckDB.")
    for column in RFM_COLUMNS:
        a, b = left[column].to_numpy(float), right[column].to_numpy(float)
        if not np.allclose(a, b, rtol=1e-9, atol=1e-6, equal_nan=True):
            raise AssertionError(f"{column} differs between kam_ml and DuckDB.")


def measure_one_size(n_accounts: int, seed: int, repeats: int, threads: int, cache: Path) -> dict:
    """Time both sides on one size; runs inside the child process."""
    prepared = cached_tables(n_accounts, seed, cache)
    tables, definition = prepared.tables, ProblemDefinition()
    as_of = tables.last_date()
    rss_loaded = peak_rss_gib()

    connection = duckdb.connect(config={"threads": threads})
    connection.register("orders", tables.orders)  # once, outside the timings
    params = {
        "end": definition.history_end(as_of).to_pydatetime(),
        "active_days": definition.active_window_days,
    }
    timings = timed_alternately(
        {
            "ours": lambda: build_features(tables, as_of, definition),
            "duckdb": lambda: connection.execute(RFM_SQL, params).df(),
        },
        repeats,
    )
    (ours_s, ours), (duck_s, reference) = timings["ours"], timings["duckdb"]
    check_same_rfm(ours, reference)
    return {
        "accounts": n_accounts,
        "order_lines": len(tables.orders),
        "interactions": len(tables.interactions),
        "active_accounts": len(ours),
        "as_of": str(as_of.date()),
        "generation_s": prepared.generation_s,
        "validation_s": prepared.validation_s,
        "parquet_load_s": prepared.load_s,
        "ours_s": ours_s,
        "duckdb_s": duck_s,
        "ours_median_s": statistics.median(ours_s),
        "duckdb_median_s": statistics.median(duck_s),
        "ratio": statistics.median(ours_s) / statistics.median(duck_s),
        "peak_rss_loaded_gib": rss_loaded,
        "peak_rss_gib": peak_rss_gib(),
        "load_average": os.getloadavg(),
    }


def run_in_child(args: argparse.Namespace, n_accounts: int) -> dict:
    """Measure one size in a fresh interpreter and read back its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable,
            __file__,
            "--accounts",
            str(n_accounts),
            "--repeats",
            str(args.repeats),
            "--threads",
            str(args.threads),
            "--cache-dir",
            str(args.cache_dir),
            "--seed",
            str(args.seed),
            "--child-output",
            str(out),
        ]
        subprocess.run(command, check=True)
        return json.loads(out.read_text(encoding="utf-8"))


def render(results: list[dict], threads: int) -> Table:
    table = Table(title=f"build_features vs DuckDB RFM query (median seconds, {threads} threads)")
    for column in ("accounts", "order lines", "kam_ml s", "DuckDB s", "ratio", "peak RSS GiB"):
        table.add_column(column, justify="right")
    table.add_column("generate + validate s", justify="right")
    for r in results:
        table.add_row(
            f"{r['accounts']:,}",
            f"{r['order_lines']:,}",
            f"{r['ours_median_s']:.2f}",
            f"{r['duckdb_median_s']:.2f}",
            f"{r['ratio']:.2f}x",
            f"{r['peak_rss_gib']:.1f}",
            f"{r['generation_s']:.0f} + {r['validation_s']:.1f}",
        )
    return table


def machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "duckdb": duckdb.__version__,
        "load_average_at_end": os.getloadavg(),  # other jobs on a shared machine
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path("bench/.cache"))
    parser.add_argument("--child-output", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_output is not None:
        (n_accounts,) = args.accounts
        result = measure_one_size(n_accounts, args.seed, args.repeats, args.threads, args.cache_dir)
        args.child_output.write_text(json.dumps(result), encoding="utf-8")
        return
    console = Console(width=150)
    results = []
    for n_accounts in args.accounts:
        with console.status(f"{n_accounts:,} accounts ..."):
            results.append(run_in_child(args, n_accounts))
        console.print(render(results, args.threads))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"features-{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload = {"machine": machine(), "threads": args.threads, "repeats": args.repeats}
    path.write_text(json.dumps(payload | {"results": results}, indent=2), encoding="utf-8")
    console.print(f"Results written to {path}")


if __name__ == "__main__":
    main()
