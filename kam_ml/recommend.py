"""From offer pairs to each account's short list: ranker -> business rules -> top k -> reasons."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kam_ml.offer_reasons import offer_reasons
from kam_ml.offer_rules import OfferRules, apply_offer_rules, top_offers

__all__ = ["recommend_offers"]


def recommend_offers(
    ranker: Any, feature_names: list[str], pairs: pd.DataFrame, rules: OfferRules, k: int
) -> pd.DataFrame:
    """One row per (cutoff, account_id) in ``pairs``: ``offers`` (best first),
    ``offer_scores`` (what ``rules.rank_by`` ranks by) and ``offer_reasons``.

    An account whose every category is excluded by the rules gets empty lists.
    """
    probability = ranker.predict(pairs[feature_names]) if len(pairs) else []
    best = top_offers(apply_offer_rules(pairs, probability, rules), k)
    best = best.assign(reason=offer_reasons(best))
    lists = best.groupby(["cutoff", "account_id"], sort=False).agg(
        offers=("category", list), offer_scores=("score", list), offer_reasons=("reason", list)
    )
    accounts = pairs[["cutoff", "account_id"]].drop_duplicates()
    out = accounts.merge(lists.reset_index(), on=["cutoff", "account_id"], how="left")
    for column in ("offers", "offer_scores", "offer_reasons"):
        out[column] = out[column].map(lambda v: v if isinstance(v, list) else [])
    out["offer_scores"] = out["offer_scores"].map(lambda v: [float(x) for x in v])
    return out.reset_index(drop=True)
