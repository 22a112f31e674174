"""What the "not bought in the last N days" offer rule costs, on the demo and the BTYD book.

Trains the offer ranker once per book (``train_offers``, the held-out validation cutoffs of
``kam-ml train``) and ranks its validation pairs with and without
``OfferRules(exclude_bought_within_days=N)``. Two truths:

* **all purchases**: every category bought in (T, T + H] — the data contract's target, which
  counts a re-purchase of a category bought last week as a hit, so the rule costs by
  construction;
* **new purchases**: the same, less the categories the account bought in the N days up to
  T — the offers a manager can make without pitching what the client just bought.

Two alternatives that know re-purchase timing instead of a hard cut:

* **unless due**: the rule spares a category the account is due to buy again
  (``cat_overdue_ratio`` >= 1: days since its last purchase at least its usual interval,
  365 / purchases in the last year);
* **new-purchase ranker**: the same ranker trained with a just-bought category labelled 0,
  so that it learns when a re-purchase is wanted, with no rule on top.

``just bought`` is the share of each scorer's top k that the account bought in the last N
days (what a manager would be told to pitch again). Usage::

    .venv/bin/python bench/bench_offer_rules.py --data demo/data --data btyd/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.base import clone

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kam_ml.data.validation import load_tables  # noqa: E402
from kam_ml.evaluation.ranking import ranking_metrics, top_k  # noqa: E402
from kam_ml.offers.rules import OfferRules, apply_offer_rules  # noqa: E402
from kam_ml.offers.training import KEYS, QUERY, offer_matrix, train_offers  # noqa: E402
from kam_ml.problem.definition import ProblemDefinition  # noqa: E402

METRICS = ("ndcg", "recall", "precision", "map", "hit_rate")


def measure(data: Path, days: int, k: int) -> list[dict[str, object]]:
    """One row per (truth, scorer) for the book in ``data``."""
    tables = load_tables(data).tables
    result = train_offers(tables, tables.last_date(), ProblemDefinition(), k=k)
    pairs = result.validation_pairs
    probability = result.model.predict(pairs[result.feature_names])
    recent = (pairs["cat_days_since_last"] < days).to_numpy()
    recent_keys = pd.MultiIndex.from_frame(pairs.loc[recent, KEYS])
    truth = result.truth
    new_truth = truth.loc[~pd.MultiIndex.from_frame(truth[KEYS]).isin(recent_keys)]

    unruled = apply_offer_rules(pairs, probability, OfferRules(exclude_bought_within_days=None))
    ruled = apply_offer_rules(pairs, probability, OfferRules(exclude_bought_within_days=days))
    due = (pairs["cat_overdue_ratio"] >= 1).to_numpy()
    unless_due = unruled.loc[~(recent & ~due)]
    scorers = {
        "no rule": unruled,
        f"exclude {days}d": ruled,
        f"exclude {days}d unless due": unless_due,
    }

    # the ranker taught that a category bought in the last N days is not an offer
    labelled, labels = result.labelled_pairs, result.labelled_labels
    assert labelled is not None and labels is not None
    train = result.split.train
    relabelled = np.where((labelled["cat_days_since_last"] < days).to_numpy(), 0, labels)
    model = clone(result.model).fit(offer_matrix(labelled.loc[train]), relabelled[train])
    scorers["new-purchase ranker"] = apply_offer_rules(
        pairs,
        model.predict(pairs[result.feature_names]),
        OfferRules(exclude_bought_within_days=None),
    )

    rows: list[dict[str, object]] = []
    book = data.name if data.name != "data" else data.parent.name
    for scorer, scored in scorers.items():
        shown = top_k(scored, k, user_col=QUERY, item_col="category")
        just_bought = float(pd.MultiIndex.from_frame(shown[KEYS]).isin(recent_keys).mean())
        for truth_name, target in (("all purchases", truth), ("new purchases", new_truth)):
            m = ranking_metrics(target, scored[[*KEYS, "score"]], k, result.catalogue, QUERY)
            rows.append(
                {"book": book, "truth": truth_name, "scorer": scorer}
                | {name: m[f"{name}_at_{k}"] for name in METRICS}
                | {"coverage": m[f"coverage_at_{k}"], "just bought": just_bought}
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--k", type=int, default=3)
    args = parser.parse_args()
    rows = [row for data in args.data for row in measure(data, args.days, args.k)]
    table = Table(title=f"Offers bought in the last {args.days} days: rule vs timing")
    for column in rows[0]:
        table.add_column(column)
    for row in sorted(rows, key=lambda r: (str(r["book"]), str(r["truth"]))):
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
