"""Planted cross-selling in the demo book: the known truth the offer ranker should recover.

The simulator (``kam_ml.demo.generate``) draws every order line's category from the account's
own, slowly drifting taste. Ranked by that alone, an account's own most-bought categories
are already the Bayes-optimal offers and no model can do better. Real key accounts also

* buy **complements** in sequence: after a watch, fine jewelry; after a handbag, small
  leather goods (``COMPLEMENTS``: with probability ``CROSS_SELL`` an order's first line
  is the complement of the previous order's first line);
* follow their **segment's taste** (``SEGMENT_TASTE``: platinum clients lean to watches
  and fine jewelry, silver ones to fragrance and accessories);
* ride **regional trends** (``REGIONAL_TRENDS``: a category whose share of a region's
  lines ramps up over the last year — momentum).

``plant_offer_structure`` re-draws the categories of generated lines with these effects
from its own random stream. Churn is untouched: categories do not drive the churn
process, lines keep their dates and returns, and amounts are rescaled by the ratio of
the categories' price levels so a re-drawn line costs what its new category costs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.demo.catalogue import CATEGORIES
from kam_ml.pandas_compat import TEXT

__all__ = [
    "COMPLEMENTS",
    "CROSS_SELL",
    "REGIONAL_TRENDS",
    "SEGMENT_TASTE",
    "plant_offer_structure",
]

COMPLEMENTS: dict[str, str] = {
    "watches": "fine_jewelry",
    "fine_jewelry": "watches",
    "handbags": "leather_goods",
    "leather_goods": "accessories",
    "accessories": "handbags",
    "ready_to_wear": "shoes",
    "shoes": "ready_to_wear",
    "fragrance": "eyewear",
    "eyewear": "fragrance",
    "home": "fragrance",
}
CROSS_SELL = 0.3

# (probability that a line follows the segment's taste, the taste's category weights)
SEGMENT_TASTE: dict[str, tuple[float, dict[str, float]]] = {
    "platinum": (0.2, {"watches": 0.5, "fine_jewelry": 0.5}),
    "gold": (0.1, {"handbags": 0.5, "ready_to_wear": 0.5}),
    "silver": (0.2, {"fragrance": 0.4, "accessories": 0.4, "eyewear": 0.2}),
}

# (region, category, share of the region's lines re-drawn to it by the end of the history);
# the share ramps linearly from 0 one year before the last order date
REGIONAL_TRENDS: tuple[tuple[str, str, float], ...] = (
    ("APAC", "handbags", 0.2),
    ("AMER", "home", 0.15),
    ("EMEA", "shoes", 0.15),
)
_TREND_DAYS = 365


def plant_offer_structure(orders: pd.DataFrame, accounts: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A copy of ``orders`` with categories (and amounts) re-drawn by the planted effects.

    ``orders`` and ``accounts`` are the raw, contract-shaped demo frames; ``seed`` is the
    demo seed (a separate stream is derived from it, so the rest of the book is unchanged).
    """
    if len(orders) == 0:
        return orders.copy()
    rng = np.random.default_rng([int(seed), 0x0FFE5])
    names = [c.name for c in CATEGORIES]
    index = pd.Index(names)
    price = np.array([c.price for c in CATEGORIES])
    original = index.get_indexer(orders["category"])
    category = original.copy()

    account, uniques = pd.factorize(orders["account_id"])
    position = pd.Index(accounts["account_id"]).get_indexer(uniques)
    segments = accounts["segment"].astype(str).to_numpy()[position]
    regions = accounts["region"].astype(str).to_numpy()[position]
    dates = orders["order_date"].to_numpy(dtype="datetime64[ns]")
    m = len(orders)

    u = rng.random(m)
    for name, (share, weights) in SEGMENT_TASTE.items():
        chosen = np.flatnonzero((segments == name)[account] & (u < share))
        p = np.array(list(weights.values()))
        options = index.get_indexer(list(weights))
        category[chosen] = rng.choice(options, size=len(chosen), p=p / p.sum())

    start = dates.max() - np.timedelta64(_TREND_DAYS, "D")
    progress = np.clip((dates - start) / np.timedelta64(_TREND_DAYS, "D"), 0.0, 1.0)
    u = rng.random(m)
    for trend_region, trend_category, share in REGIONAL_TRENDS:
        chosen = (regions == trend_region)[account] & (u < share * progress)
        category[chosen] = index.get_loc(trend_category)

    _cross_sell(account, dates, category, index, rng)

    out = orders.copy()
    out["category"] = pd.array(np.asarray(names, dtype=object)[category], dtype=TEXT)
    out["amount"] = np.round(
        orders["amount"].to_numpy(dtype=np.float64) * price[category] / price[original], 2
    )
    return out


def _cross_sell(
    account: np.ndarray,
    dates: np.ndarray,
    category: np.ndarray,
    index: pd.Index,
    rng: np.random.Generator,
) -> None:
    """In place: each order's first line becomes, with probability CROSS_SELL, the
    complement of the previous order's first line (as re-drawn, so chains are consistent).

    An order is an account's lines on one timestamp. Vectorised over accounts, looping over
    the order's rank within its account.
    """
    complement = index.get_indexer([COMPLEMENTS[name] for name in index])
    by_time = np.lexsort((dates, account))
    sorted_account, sorted_dates = account[by_time], dates[by_time]
    first = np.ones(len(by_time), dtype=bool)  # first line of each order, in time order
    first[1:] = (sorted_account[1:] != sorted_account[:-1]) | (
        sorted_dates[1:] != sorted_dates[:-1]
    )
    leads = by_time[first]
    lead_account = account[leads]
    starts = np.flatnonzero(np.r_[True, lead_account[1:] != lead_account[:-1]])
    rank = np.arange(len(leads)) - np.repeat(starts, np.diff(np.r_[starts, len(leads)]))
    follows = rng.random(len(leads)) < CROSS_SELL
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(1, rank.max() + 2))
    for r in range(1, rank.max() + 1):
        at = by_rank[bounds[r - 1] : bounds[r]]  # leads of rank r; their previous is at - 1
        at = at[follows[at]]
        category[leads[at]] = complement[category[leads[at - 1]]]
