"""CDNOW churn benchmark: the churn model vs BG/NBD and recency; prints the README table.

python bench/bench_cdnow.py            # uses the cached file, fails if it is absent
python bench/bench_cdnow.py --fetch    # downloads the lifetimes wheel with pip first
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kam_ml.churn.training import train_churn
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.science.cdnow import (
    CDNOW_END,
    CDNOW_SAMPLE,
    cached_cdnow,
    fetch_cdnow,
    load_cdnow_tables,
)
from kam_ml.science.cdnow_benchmark import benchmark_markdown, fhl2005_check, run_churn_benchmark


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="download CDNOW if not cached")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument(
        "--out", type=Path, default=None, help="also write OUT.csv (all metrics) and OUT.md"
    )
    args = parser.parse_args()

    get = fetch_cdnow if args.fetch else cached_cdnow
    master, sample = get(args.cache_dir), get(args.cache_dir, name=CDNOW_SAMPLE)
    if master is None or sample is None:
        print("CDNOW is not cached; run with --fetch to download it.", file=sys.stderr)
        return 1
    print("BG/NBD on the 1/10 sample, 39-week calibration (Fader, Hardie & Lee 2005):")
    print(fhl2005_check(load_cdnow_tables(sample)).to_string())
    tables = load_cdnow_tables(master)
    check = train_churn(tables, CDNOW_END, ProblemDefinition())
    print(
        f"\ntrain_churn on CDNOW as of {CDNOW_END.date()} (package defaults): validation "
        f"ROC-AUC model {check.metrics['model']['roc_auc']:.3f}, recency "
        f"{check.metrics['recency']['roc_auc']:.3f}, rfm {check.metrics['rfm']['roc_auc']:.3f}"
    )
    started = time.perf_counter()
    results = run_churn_benchmark(
        tables, on_setting_done=lambda s: print(f"  done {s.as_of.date()} H={s.horizon_days}")
    )
    print(
        f"\nCDNOW master, {tables.n_accounts:,} customers ({time.perf_counter() - started:.0f}s):"
    )
    table = benchmark_markdown(results)
    print(table)
    if args.out is not None:
        results.to_csv(args.out.with_suffix(".csv"), index=False)
        args.out.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
