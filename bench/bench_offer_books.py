"""The offer ranker against every naive baseline, book by book (README "Next-best offers").

Trains the offer ranker on each ``--data`` book exactly as ``kam-ml train`` does
(``train_offers`` at the book's last date, default ``ProblemDefinition``: the same cutoffs,
embargo and held-out validation cutoffs) and prints the metrics at k of the ranker, its
expected-value ordering and every baseline of ``kam_ml.offers.baselines`` on the validation
cutoffs: the table the README shows for the demo book, for any book. ``--fixed-rounds N``
adds the same ranker with N boosting rounds and no early stopping (what the ranker did
before its rounds were early-stopped), trained on the same pairs, so that a before/after
is measured in one run. Usage::

    .venv/bin/python bench/bench_offer_books.py --data demo/data --data btyd/data \\
        --fixed-rounds 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kam_ml.data.validation import load_tables  # noqa: E402
from kam_ml.offers.ranker import OfferRanker  # noqa: E402
from kam_ml.offers.training import evaluate_offer_scores, offer_matrix, train_offers  # noqa: E402
from kam_ml.problem.definition import ProblemDefinition  # noqa: E402

METRICS = ("ndcg", "recall", "precision", "map", "hit_rate", "coverage")


def measure(data: Path, k: int, fixed_rounds: int | None) -> list[dict[str, object]]:
    """One row per scorer for the book in ``data``; the ranker's margin over the best baseline."""
    tables = load_tables(data).tables
    started = time.perf_counter()
    result = train_offers(tables, tables.last_date(), ProblemDefinition(), k=k)
    seconds = time.perf_counter() - started
    scorers = dict(result.metrics)
    rounds = {"ranker": int(result.model.n_trees_)}
    if fixed_rounds is not None:
        labelled, labels = result.labelled_pairs, result.labelled_labels
        assert labelled is not None and labels is not None
        train = result.split.train
        fixed = OfferRanker(n_estimators=fixed_rounds, early_stopping_rounds=None)
        fixed.fit(offer_matrix(labelled.loc[train]), labels[train])
        _, metrics = evaluate_offer_scores(
            fixed, result.validation_pairs, labels[result.split.validation], k,
            result.catalogue, result.purchases,
        )  # fmt: skip
        scorers[f"ranker, {fixed_rounds} fixed rounds"] = metrics["ranker"]
        rounds[f"ranker, {fixed_rounds} fixed rounds"] = fixed_rounds
    best = max(
        (m[f"ndcg_at_{k}"], name) for name, m in scorers.items() if not name.startswith("ranker")
    )
    book = data.name if data.name != "data" else data.parent.name
    cutoffs = ", ".join(str(c.date()) for c in result.split.validation_cutoffs)
    print(f"{book}: validation cutoffs {cutoffs}; trained in {seconds:.1f} s; best {best[1]}")
    return [
        {"book": book, "scorer": name}
        | {metric: m[f"{metric}_at_{k}"] for metric in METRICS}
        | {"vs best baseline": m[f"ndcg_at_{k}"] - best[0], "rounds": rounds.get(name, "")}
        for name, m in scorers.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--fixed-rounds", type=int, default=None)
    args = parser.parse_args()
    rows = [row for data in args.data for row in measure(data, args.k, args.fixed_rounds)]
    table = Table(title=f"Offer ranker vs baselines at k = {args.k} (validation cutoffs)")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                f"{v:+.4f}" if name == "vs best baseline" else f"{v:.4f}" if isinstance(v, float)
                else str(v)
                for name, v in row.items()
            )
        )  # fmt: skip
    Console(width=170).print(table)


if __name__ == "__main__":
    main()
