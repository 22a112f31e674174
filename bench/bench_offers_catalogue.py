"""Benchmark offer training and scoring on a large catalogue: candidates vs every category.

The book is ``catalogue_book.grocery_book`` (default 2,500 accounts, 300 categories, ~1M
order lines). Each measured run is a child process that generates the book, trains the
offer ranker (``train_offers``: pairs at 12 stacked cutoffs, LambdaRank, evaluation
against the baselines) and scores every account active at the as-of date
(``recommend_offers``: population statistics, pairs, ranker, rules, reasons), and reports
its own peak RSS (book included). Two paths on the same book:

* **candidates**: at most ``--candidates`` categories per account (the default of
  ``kam_ml.offers.candidates``), what ``kam-ml train`` does;
* **full**: every category is a candidate (``candidates=None``), what it did before.

The full path grows with the catalogue; at ``--full-categories`` (default 100) it is
measured beside the candidates path on the same book, so the ratio is like for like, and
at ``--categories`` it runs only with ``--full-at-scale`` (slow). Figures are medians of
``--repeats`` children per row::

    .venv/bin/python bench/bench_offers_catalogue.py --repeats 1
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.catalogue_book import grocery_book  # noqa: E402
from kam_ml.features import build_features  # noqa: E402
from kam_ml.offers.candidates import DEFAULT_CANDIDATES  # noqa: E402
from kam_ml.offers.job import offers_spec  # noqa: E402
from kam_ml.offers.recommend import recommend_offers  # noqa: E402
from kam_ml.offers.rules import OfferRules  # noqa: E402
from kam_ml.offers.training import train_offers  # noqa: E402
from kam_ml.problem.definition import ProblemDefinition  # noqa: E402
from kam_ml.registry.gate import model_bundle  # noqa: E402

AS_OF = pd.Timestamp("2026-10-31")
RESULTS = Path(__file__).resolve().parent / "results"


def child(accounts: int, categories: int, lines: int, candidates: int | None, seed: int) -> dict:
    """One run: generate, train, score; the figures as a dict."""
    started = time.perf_counter()
    tables = grocery_book(accounts, categories, lines, seed=seed)
    generated = time.perf_counter() - started
    definition = ProblemDefinition()
    started = time.perf_counter()
    result = train_offers(tables, AS_OF, definition, candidates=candidates)
    train_s = time.perf_counter() - started
    bundle = model_bundle(result, offers_spec(result.k), version="bench")
    started = time.perf_counter()
    features = build_features(tables, AS_OF, definition)
    offers = recommend_offers(bundle, tables, features, rules=OfferRules(), k=result.k)
    score_s = time.perf_counter() - started
    metrics = result.metrics
    best = max(
        (name for name in metrics if not name.startswith("ranker")),
        key=lambda name: metrics[name]["ndcg_at_3"],
    )
    return {
        "categories": categories,
        "path": "full" if candidates is None else f"candidates={candidates}",
        "order_lines": len(tables.orders),
        "generate_s": generated,
        "train_s": train_s,
        "score_s": score_s,
        "scored_accounts": len(offers),
        "validation_pairs": len(result.validation_pairs),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "ndcg_ranker": metrics["ranker"]["ndcg_at_3"],
        "best_baseline": best,
        "ndcg_best_baseline": metrics[best]["ndcg_at_3"],
        "candidate_recall": metrics["ranker"]["candidate_recall"],
    }


def run_child(args: argparse.Namespace, categories: int, candidates: int | None) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--accounts",
        str(args.accounts),
        "--categories",
        str(categories),
        "--lines",
        str(args.lines),
        "--candidates",
        "all" if candidates is None else str(candidates),
        "--seed",
        str(args.seed),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2500)
    parser.add_argument("--categories", type=int, default=300)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--candidates", default=str(DEFAULT_CANDIDATES))
    parser.add_argument("--full-categories", type=int, default=100)
    parser.add_argument("--full-at-scale", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n = None if args.candidates == "all" else int(args.candidates)
    if args.child:
        print(json.dumps(child(args.accounts, args.categories, args.lines, n, args.seed)))
        return

    plan = [(args.categories, n), (args.full_categories, n), (args.full_categories, None)]
    if args.full_at_scale:
        plan.append((args.categories, None))
    rows = []
    for categories, candidates in plan:
        runs = []
        for _ in range(args.repeats):
            runs.append(run_child(args, categories, candidates))
            # each run as it ends: a long full-path run cut short loses no finished figure
            Console().print(json.dumps(runs[-1]))
        row = dict(runs[0])
        for key in ("train_s", "score_s", "generate_s"):
            row[key] = statistics.median(r[key] for r in runs)
        row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        row["runs"] = runs
        rows.append(row)
    _print(rows, args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "offers_catalogue.json"
    machine = {"python": platform.python_version(), "machine": platform.machine()}
    out.write_text(json.dumps({"args": vars(args), "machine": machine, "rows": rows}, indent=2))
    Console().print(f"raw figures: {out}")


def _print(rows: list[dict], args: argparse.Namespace) -> None:
    table = Table(
        title=f"Offers, {args.accounts} accounts, ~{args.lines:,} lines (medians of {args.repeats})"
    )
    for column in (
        "categories",
        "path",
        "train s",
        "score s",
        "peak RSS MB",
        "val. pairs",
        "NDCG@3 ranker",
        "best baseline",
        "cand. recall",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["categories"]),
            row["path"],
            f"{row['train_s']:.1f}",
            f"{row['score_s']:.1f}",
            f"{row['peak_rss_mb']:.0f}",
            f"{row['validation_pairs']:,}",
            f"{row['ndcg_ranker']:.4f}",
            f"{row['ndcg_best_baseline']:.4f} ({row['best_baseline']})",
            f"{row['candidate_recall']:.3f}",
        )
    console = Console()
    console.print(table)
    by_key = {(r["categories"], r["path"]): r for r in rows}
    small = args.full_categories
    candidates_path = rows[0]["path"]
    full, cand = by_key.get((small, "full")), by_key.get((small, candidates_path))
    if full and cand:
        console.print(
            f"at {small} categories, full / candidates: train "
            f"{full['train_s'] / cand['train_s']:.1f}x, "
            f"score {full['score_s'] / cand['score_s']:.1f}x, "
            f"peak RSS {full['peak_rss_mb'] / cand['peak_rss_mb']:.1f}x, validation pairs "
            f"{full['validation_pairs'] / cand['validation_pairs']:.1f}x"
        )
    big = by_key.get((args.categories, "full"))
    if full and not big:
        scale = args.categories / small
        console.print(
            f"full path at {args.categories} categories not run (--full-at-scale): its pairs "
            f"are {scale:.0f}x those at {small}; extrapolated linearly in pairs, train "
            f"~{full['train_s'] * scale:.0f} s and score ~{full['score_s'] * scale:.0f} s "
            "(a lower bound: LightGBM and the sorts grow a little faster than linearly)"
        )


if __name__ == "__main__":
    main()
