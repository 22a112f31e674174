"""What the "not bought in the last N days" offer rule costs, on the demo and the BTYD book.

Trains the offer ranker once per book (``train_offers``, the held-out validation cutoffs of
``kam-ml train``) and ranks its validation pairs with and without
``OfferRules(exclude_bought_within_days=N)``. Two truths:

* **all purchases**: every category bought in (T, T + H] — the data contract's target, which
  counts a re-purchase of a category bought last week as a hit, so the rule costs by
  construction;
* **new purchases**: the same, less the categories the account bought in the N days up to
  T — the offers a manager can make without pitching what the client just bought.

Also reports the share of the unruled top-k that the rule would remove. Usage::

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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kam_ml.data.validation import load_tables  # noqa: E402
from kam_ml.evaluation.ranking import ranking_metrics, top_k  # noqa: E402
from kam_ml.offers.rules import OfferRules, apply_offer_rules  # noqa: E402
from kam_ml.offers.training import KEYS, QUERY, train_offers  # noqa: E402
from kam_ml.problem.definition import ProblemDefinition  # noqa: E402

METRICS = ("ndcg", "recall", "precision", "map", "hit_rate")


def measure(data: Path, days: int, k: int) -> list[dict[str, object]]:
    """One row per (truth, rule) for the book in ``data``."""
    tables = load_tables(data).tables
    as_of = tables.last_date()
    result = train_offers(tables, as_of, ProblemDefinition(), k=k)
    pairs = result.validation_pairs
    probability = result.model.predict(pairs[result.feature_names])
    truth = result.truth
    recent_keys = pd.MultiIndex.from_frame(
        pairs.loc[(pairs["cat_days_since_last"] < days).to_numpy(), KEYS]
    )
    new_truth = truth.loc[~pd.MultiIndex.from_frame(truth[KEYS]).isin(recent_keys)]
    unruled = apply_offer_rules(pairs, probability, OfferRules(exclude_bought_within_days=None))
    ruled = apply_offer_rules(pairs, probability, OfferRules(exclude_bought_within_days=days))
    shown = top_k(unruled, k, user_col=QUERY, item_col="category")
    removed = float(
        pd.MultiIndex.from_frame(shown[KEYS]).isin(recent_keys).mean() if len(shown) else np.nan
    )
    rows: list[dict[str, object]] = []
    for truth_name, target in (("all purchases", truth), ("new purchases", new_truth)):
        for rule, scored in (("none", unruled), (f"exclude {days}d", ruled)):
            m = ranking_metrics(target, scored[[*KEYS, "score"]], k, result.catalogue, QUERY)
            rows.append(
                {"book": data.name if data.name != "data" else data.parent.name}
                | {"truth": truth_name, "rule": rule}
                | {name: m[f"{name}_at_{k}"] for name in METRICS}
                | {"coverage": m[f"coverage_at_{k}"], "removed": removed}
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--k", type=int, default=3)
    args = parser.parse_args()
    rows = [row for data in args.data for row in measure(data, args.days, args.k)]
    table = Table(title=f"Offer rule: exclude categories bought in the last {args.days} days")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    Console().print(table)
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.4f"))


if __name__ == "__main__":
    main()
