"""From offer pairs to each account's short list: ranker -> business rules -> top k -> reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kam_ml.evaluation.ranking import _check_k
from kam_ml.offers.reasons import offer_reasons
from kam_ml.offers.rules import OfferRules, apply_offer_rules

__all__ = ["recommend_offers"]

_QUERY = ["cutoff", "account_id"]


def recommend_offers(
    ranker: Any, feature_names: list[str], pairs: pd.DataFrame, rules: OfferRules, k: int
) -> pd.DataFrame:
    """One row per (cutoff, account_id) in ``pairs``: ``offers`` (best first),
    ``offer_scores`` (what ``rules.rank_by`` ranks by) and ``offer_reasons``.

    An account whose every category is excluded by the rules gets empty lists. Accounts
    come in the order they first appear in ``pairs``. The lists are the same as
    ``offer_rules.top_offers`` would give (score descending, NaN last, ties by category
    name, then row order), but found with one stable numpy sort over integer codes and
    sliced per account: a pandas sort, groupby-head and groupby-agg(list) over millions of
    pairs cost the nightly run about a minute.
    """
    _check_k(k)
    probability = ranker.predict(pairs[feature_names]) if len(pairs) else []
    scored = apply_offer_rules(pairs, probability, rules)
    accounts = pairs[_QUERY].drop_duplicates()
    # query code of each scored row, numbered in the order accounts first appear in pairs
    query = pd.MultiIndex.from_frame(accounts).get_indexer(pd.MultiIndex.from_frame(scored[_QUERY]))
    category = pd.factorize(scored["category"], sort=True)[0]
    score = scored["score"].to_numpy(dtype=np.float64)
    # lexsort: last key first; NaN scores sort last, as top_k's na_position="last"
    order = np.lexsort((category, -score, query))
    sorted_query = query[order]
    starts = np.searchsorted(sorted_query, np.arange(len(accounts) + 1))
    rank = np.arange(len(order)) - starts[sorted_query]
    best = order[rank < k]  # positions in scored, grouped by account, best first
    bounds = np.searchsorted(query[best], np.arange(len(accounts) + 1))

    chosen = scored.iloc[best]
    reasons = offer_reasons(chosen).tolist()
    categories = chosen["category"].tolist()
    scores = chosen["score"].to_numpy(dtype=np.float64).tolist()
    spans = list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))
    out = accounts.reset_index(drop=True)
    out["offers"] = pd.Series([categories[a:b] for a, b in spans], dtype=object)
    out["offer_scores"] = pd.Series([scores[a:b] for a, b in spans], dtype=object)
    out["offer_reasons"] = pd.Series([reasons[a:b] for a, b in spans], dtype=object)
    return out
