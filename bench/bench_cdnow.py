"""CDNOW through the kam-ml train/score path: churn model vs BG/NBD vs recency; README tables.

python bench/bench_cdnow.py            # uses the cached file, fails if it is absent
python bench/bench_cdnow.py --fetch    # downloads the lifetimes wheel with pip first
python bench/bench_cdnow.py --as-of 1998-03-31   # one as-of date only (every horizon of it)

Each setting (as-of T, horizon H) trains and scores exactly as ``kam-ml train --as-of T
--horizon-days H`` then ``kam-ml score`` do with default settings
(``kam_ml.science.cdnow_benchmark``); then the second generator's oracle line, through the
same path. Prints progress and seconds per setting, then the Markdown tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from kam_ml.science.cdnow import CDNOW_SAMPLE, cached_cdnow, fetch_cdnow, load_cdnow_tables
from kam_ml.science.cdnow_benchmark import (
    DEFAULT_SETTINGS,
    BenchmarkSetting,
    benchmark_markdown,
    btyd_oracle_check,
    fhl2005_check,
    oracle_markdown,
    run_churn_benchmark,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="download CDNOW if not cached")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument(
        "--as-of", action="append", default=None, help="only these as-of dates (repeatable)"
    )
    parser.add_argument(
        "--no-btyd", action="store_true", help="skip the second generator's oracle line"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="also write OUT.csv (all metrics) and OUT.md"
    )
    args = parser.parse_args()

    get = fetch_cdnow if args.fetch else cached_cdnow
    master, sample = get(args.cache_dir), get(args.cache_dir, name=CDNOW_SAMPLE)
    if master is None or sample is None:
        print("CDNOW is not cached; run with --fetch to download it.", file=sys.stderr)
        return 1
    started = time.perf_counter()
    print("BG/NBD on the 1/10 sample, 39-week calibration (Fader, Hardie & Lee 2005):")
    print(fhl2005_check(load_cdnow_tables(sample)).to_string())
    tables = load_cdnow_tables(master)
    settings = _settings(args.as_of)
    print(f"\nCDNOW master, {tables.n_accounts:,} customers, {len(settings)} settings:", flush=True)

    def done(setting: BenchmarkSetting, seconds: float) -> None:
        print(f"  {setting.as_of.date()} H={setting.horizon_days}: {seconds:.0f} s", flush=True)

    results = run_churn_benchmark(tables, settings, on_setting_done=done)
    table = benchmark_markdown(results)
    print(table)
    oracle = ""
    if not args.no_btyd:
        step = time.perf_counter()
        check = btyd_oracle_check()
        row = check.iloc[0]
        print(
            f"\nSecond generator (btyd, 3,000 accounts, seed 3), as-of {row['as_of']}, "
            f"H={row['horizon_days']}, {row['accounts']:,} active, churn rate "
            f"{row['churn_rate']:.1%} ({time.perf_counter() - step:.0f} s):"
        )
        oracle = oracle_markdown(check)
        print(oracle)
        results = pd.concat([results, check.assign(book="btyd")], ignore_index=True)
    print(f"\nTotal {time.perf_counter() - started:.0f} s")
    if args.out is not None:
        results.to_csv(args.out.with_suffix(".csv"), index=False)
        args.out.with_suffix(".md").write_text(table + "\n\n" + oracle + "\n", encoding="utf-8")
    return 0


def _settings(as_of: list[str] | None) -> list[BenchmarkSetting]:
    if not as_of:
        return list(DEFAULT_SETTINGS)
    wanted = {pd.Timestamp(day) for day in as_of}
    chosen = [s for s in DEFAULT_SETTINGS if s.as_of in wanted]
    if not chosen:
        known = sorted({str(s.as_of.date()) for s in DEFAULT_SETTINGS})
        raise SystemExit(f"No benchmarked setting at {', '.join(as_of)}; choose from {known}.")
    return chosen


if __name__ == "__main__":
    sys.exit(main())
