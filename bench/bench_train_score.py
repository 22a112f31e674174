"""Benchmark churn training time and batch-scoring throughput, with the score run's memory.

Training: ``train_churn`` on one book, which builds features at 12 stacked cutoffs before
fitting, so its time is mostly 12 feature builds plus LightGBM on ~12x the active accounts.

Scoring: ``score_accounts`` (churn model only) on each ``--score-accounts`` size, each in a
child process whose peak RSS (``RUSAGE_CHILDREN``) is the memory of the whole run: the
validation of the raw frames, the feature build, the probabilities and the reasons. The
split between ``predict_proba`` and the reasons (TreeSHAP via LightGBM ``pred_contrib``,
by far the slowest part) is timed on the same feature rows, up to ``--split-rows`` of them.
The model is trained once on ``--train-accounts`` and reused for every size::

    .venv/bin/python bench/bench_train_score.py --train-accounts 100000 \\
        --score-accounts 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cached_tables import cached_tables  # noqa: E402

from kam_ml.churn.training import train_churn  # noqa: E402
from kam_ml.data.tables import Tables  # noqa: E402
from kam_ml.data.validation import validate_tables  # noqa: E402
from kam_ml.features import build_features  # noqa: E402
from kam_ml.problem.definition import ProblemDefinition  # noqa: E402
from kam_ml.registry.bundle import (  # noqa: E402
    BundleTrust,
    ModelBundle,
    load_bundle,
    save_bundle,
)
from kam_ml.registry.champions import ScoringModels  # noqa: E402
from kam_ml.scoring.explained import top_reasons  # noqa: E402
from kam_ml.scoring.score import score_accounts  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def gib(kib: int) -> float:
    return kib / 2**20  # Linux reports ru_maxrss in KiB


def train(tables: Tables, bundle_dir: Path) -> dict:
    """Train once, time it (and its feature builds), and save the bundle for the scorers."""
    definition = ProblemDefinition()
    as_of = tables.last_date()
    start = time.perf_counter()
    cutoff_done: list[float] = []
    result = train_churn(
        tables, as_of, definition, on_cutoff_done=lambda _: cutoff_done.append(time.perf_counter())
    )
    seconds = time.perf_counter() - start
    bundle = ModelBundle(
        model=result.model,
        model_name="churn",
        version="bench",
        feature_names=result.feature_names,
        definition=definition,
        training_cutoffs=[str(c.date()) for c in result.split.train_cutoffs],
        validation_cutoffs=[str(c.date()) for c in result.split.validation_cutoffs],
        metrics=result.metrics["model"],
    )
    save_bundle(bundle, bundle_dir)
    return {
        "accounts": tables.n_accounts,
        "cutoffs": len(cutoff_done),
        "training_rows": int(result.split.train.sum()),
        "train_s": seconds,
        "feature_build_s": cutoff_done[-1] - start,
        "validation_auc": result.metrics["model"].get("roc_auc"),
    }


def raw_frames(tables: Tables) -> dict[str, pd.DataFrame]:
    """Validated tables back in their raw contract shape (account ids as strings)."""
    raw = {}
    for name in ("accounts", "orders", "interactions", "categories"):
        frame = getattr(tables, name)
        if "account_id" in frame and isinstance(frame["account_id"].dtype, pd.CategoricalDtype):
            frame = frame.assign(account_id=frame["account_id"].astype("str"))
        raw[name] = frame
    return raw


def score_one_size(n_accounts: int, seed: int, cache: Path, bundle_dir: Path, split_rows: int):
    """One whole scoring run; executed in the child process."""
    tables = cached_tables(n_accounts, seed, cache).tables
    raw = raw_frames(tables)
    del tables
    start = time.perf_counter()
    tables = validate_tables(raw).tables
    validation_s = time.perf_counter() - start
    del raw
    bundle = load_bundle(bundle_dir, trust=BundleTrust(allow_unverified=True))  # written above
    as_of = tables.last_date()

    start = time.perf_counter()
    scores = score_accounts(tables, as_of, ScoringModels(churn=bundle))
    score_s = time.perf_counter() - start

    start = time.perf_counter()
    features = build_features(tables, as_of, bundle.definition)
    features_s = time.perf_counter() - start
    X = features[bundle.feature_names].iloc[:split_rows]
    start = time.perf_counter()
    bundle.model.predict_proba(X)
    proba_s = time.perf_counter() - start
    start = time.perf_counter()
    contributions = bundle.model.contributions(X)
    contrib_s = time.perf_counter() - start
    start = time.perf_counter()
    top_reasons(contributions, X, 3)
    phrases_s = time.perf_counter() - start
    rows = len(X)
    return {
        "accounts": n_accounts,
        "scored_rows": len(scores),
        "validation_s": validation_s,
        "score_accounts_s": score_s,
        "score_rows_per_s": len(scores) / score_s,
        "features_s": features_s,
        "split_rows": rows,
        "predict_proba_rows_per_s": rows / proba_s,
        "pred_contrib_rows_per_s": rows / contrib_s,
        "reason_phrases_rows_per_s": rows / phrases_s,
        "peak_rss_self_gib": gib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
    }


def run_child(args: argparse.Namespace, n_accounts: int, bundle_dir: Path) -> dict:
    """Score one size in a fresh interpreter; its max RSS is read as a finished child's."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable,
            __file__,
            "--score-accounts",
            str(n_accounts),
            "--seed",
            str(args.seed),
            "--cache-dir",
            str(args.cache_dir),
            "--split-rows",
            str(args.split_rows),
            "--child-bundle",
            str(bundle_dir),
            "--child-output",
            str(out),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run(command, check=True)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = json.loads(out.read_text(encoding="utf-8"))
    # RUSAGE_CHILDREN holds the largest child so far; sizes run smallest first, so a
    # peak that did not move means this child stayed below an earlier one.
    result["peak_rss_gib"] = gib(peak) if peak > before else result["peak_rss_self_gib"]
    return result


def render(training: dict, scoring: list[dict]) -> list[Table]:
    fit = Table(title="train_churn (12 stacked cutoffs)")
    for column in ("accounts", "cutoffs", "training rows", "total s", "feature builds s"):
        fit.add_column(column, justify="right")
    fit.add_row(
        f"{training['accounts']:,}",
        str(training["cutoffs"]),
        f"{training['training_rows']:,}",
        f"{training['train_s']:.1f}",
        f"{training['feature_build_s']:.1f}",
    )
    score = Table(title="score_accounts (churn + reasons), rows per second")
    columns = (
        "accounts",
        "scored rows",
        "validate s",
        "score s",
        "rows/s",
        "features s",
        "predict_proba rows/s",
        "pred_contrib rows/s",
        "peak RSS GiB",
    )
    for column in columns:
        score.add_column(column, justify="right")
    for r in scoring:
        score.add_row(
            f"{r['accounts']:,}",
            f"{r['scored_rows']:,}",
            f"{r['validation_s']:.1f}",
            f"{r['score_accounts_s']:.1f}",
            f"{r['score_rows_per_s']:,.0f}",
            f"{r['features_s']:.1f}",
            f"{r['predict_proba_rows_per_s']:,.0f}",
            f"{r['pred_contrib_rows_per_s']:,.0f}",
            f"{r['peak_rss_gib']:.1f}",
        )
    return [fit, score]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-accounts", type=int, default=100_000)
    parser.add_argument("--score-accounts", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--split-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path("bench/.cache"))
    parser.add_argument("--child-bundle", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-output", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child_output is not None:
        (n_accounts,) = args.score_accounts
        result = score_one_size(
            n_accounts, args.seed, args.cache_dir, args.child_bundle, args.split_rows
        )
        args.child_output.write_text(json.dumps(result), encoding="utf-8")
        return
    console = Console(width=150)
    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = Path(tmp) / "churn"
        with console.status(f"training on {args.train_accounts:,} accounts ..."):
            tables = cached_tables(args.train_accounts, args.seed, args.cache_dir).tables
            training = train(tables, bundle_dir)
            del tables
        scoring = []
        for n_accounts in sorted(args.score_accounts):
            with console.status(f"scoring {n_accounts:,} accounts ..."):
                scoring.append(run_child(args, n_accounts, bundle_dir))
    for table in render(training, scoring):
        console.print(table)
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"train-score-{time.strftime('%Y%m%d-%H%M%S')}.json"
    machine = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),  # other jobs on a shared machine
    }
    payload = {"machine": machine, "training": training, "scoring": scoring}
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    console.print(f"Results written to {path}")


if __name__ == "__main__":
    main()
