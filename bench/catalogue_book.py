"""A grocery-like book with a large catalogue: hundreds of categories, frequent baskets.

Independent of ``kam_ml.demo`` (a luxury book of ten categories) so the offer candidates
are tried on a catalogue the project's demo never had. The causal story, every piece of
it something the candidate generator and the ranker may or may not pick up:

* categories sit in **aisles** of ten; each category has a **complement** in its aisle
  (pasta -> sauce) bought with it or in the next basket;
* each segment ranks the catalogue by a Zipf law over its own, partly shuffled order
  (**segment popularity**);
* each account has a **staple** set (8-20 categories drawn from its segment's popularity)
  whose weights drift from one Dirichlet draw to another over its life, so recent taste
  differs from old taste;
* a basket line is a staple (60%), the complement of a staple (25%: co-purchase), or an
  impulse draw from the segment's popularity (15%); an order's first line is, with
  probability 0.3, the complement of the previous order's first line (next purchase).

Accounts sign up in the first 60% of the history; a quarter leave at a uniform date
after signing up. Order counts are Poisson with Gamma-distributed weekly rates, scaled
so the book has about ``n_lines`` order lines. ``grocery_book`` returns validated
``Tables``. Used by ``bench/bench_offers_catalogue.py`` and by a fast model test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables

__all__ = ["grocery_book"]

_AISLE = 10
_SEGMENTS = ("large", "medium", "small")
_REGIONS = ("north", "south", "east", "west")
_STAPLE, _COMPLEMENT = 0.60, 0.25  # the rest is impulse
_NEXT_BASKET = 0.3
_LINES_PER_ORDER = 4.0


def grocery_book(
    n_accounts: int = 2500,
    n_categories: int = 300,
    n_lines: int = 1_000_000,
    seed: int = 0,
    end_date: str = "2026-10-31",
    years: float = 3.0,
) -> Tables:
    """Simulate the book (same arguments, same tables) and validate it."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(end_date)
    start = end - pd.Timedelta(days=round(365 * years))
    span = (end - start).days
    names = np.array([f"c{i:03d}" for i in range(n_categories)], dtype=object)
    aisle_start = (np.arange(n_categories) // _AISLE) * _AISLE
    aisle_size = np.minimum(_AISLE, n_categories - aisle_start)
    offset = rng.integers(1, np.maximum(aisle_size, 2))
    complement = np.where(
        aisle_size > 1,
        aisle_start + (np.arange(n_categories) - aisle_start + offset) % aisle_size,
        np.arange(n_categories),
    )

    popularity = np.empty((len(_SEGMENTS), n_categories))
    base = rng.permutation(n_categories)
    for s in range(len(_SEGMENTS)):
        order = base.copy()
        swap = rng.choice(n_categories, size=n_categories // 5, replace=False)
        order[swap] = order[rng.permutation(swap)]
        weights = np.empty(n_categories)
        weights[order] = 1.0 / np.arange(1, n_categories + 1)
        popularity[s] = weights / weights.sum()

    segment = rng.choice(len(_SEGMENTS), size=n_accounts, p=[0.2, 0.35, 0.45])
    region = rng.integers(0, len(_REGIONS), size=n_accounts)
    signup = rng.integers(0, int(span * 0.6), size=n_accounts)
    leaves = rng.random(n_accounts) < 0.25
    stop = np.where(leaves, signup + rng.random(n_accounts) * (span - signup), span)
    life = np.maximum(stop - signup, 1.0)

    n_staples = 20
    staples = np.stack(
        [rng.choice(n_categories, size=n_staples, replace=False, p=popularity[s]) for s in segment]
    )
    size = rng.integers(8, n_staples + 1, size=n_accounts)
    alive = np.arange(n_staples)[None, :] < size[:, None]
    w_old = rng.dirichlet(np.ones(n_staples), size=n_accounts) * alive
    w_new = rng.dirichlet(np.ones(n_staples), size=n_accounts) * alive

    rate = rng.gamma(2.0, 1.0, size=n_accounts)
    expected_orders = n_lines / _LINES_PER_ORDER
    rate *= expected_orders / float((rate * life).sum())
    n_orders = rng.poisson(rate * life)
    account = np.repeat(np.arange(n_accounts), n_orders)
    day = signup[account] + rng.random(len(account)) * life[account]
    order_time = start + pd.to_timedelta(np.floor(day * 24 * 60), unit="min")
    by_time = np.lexsort((order_time.to_numpy(), account))
    account, order_time = account[by_time], order_time[by_time]
    progress = ((day[by_time] - signup[account]) / life[account])[:, None]

    lines = 1 + rng.poisson(_LINES_PER_ORDER - 1.0, size=len(account))
    order_of_line = np.repeat(np.arange(len(account)), lines)
    line_account = account[order_of_line]
    weights = (1.0 - progress) * w_old[account] + progress * w_new[account]
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)[order_of_line]
    pick = (rng.random(len(order_of_line))[:, None] > cum).sum(axis=1)
    staple = staples[line_account, np.minimum(pick, n_staples - 1)]
    u = rng.random(len(order_of_line))
    impulse = np.empty(len(order_of_line), dtype=np.int64)
    line_segment = segment[line_account]
    for s in range(len(_SEGMENTS)):
        rows = np.flatnonzero(line_segment == s)
        impulse[rows] = rng.choice(n_categories, size=len(rows), p=popularity[s])
    category = np.where(
        u < _STAPLE,
        staple,
        np.where(u < _STAPLE + _COMPLEMENT, complement[staple], impulse),
    )
    first = np.r_[0, np.cumsum(lines)[:-1]]  # first line of each order
    follows = np.r_[False, account[1:] == account[:-1]] & (rng.random(len(account)) < _NEXT_BASKET)
    for i in np.flatnonzero(follows):  # in time order, so chains use the re-drawn category
        category[first[i]] = complement[category[first[i - 1]]]

    account_ids = np.array([f"G{i:05d}" for i in range(n_accounts)], dtype=object)
    orders = pd.DataFrame(
        {
            "order_id": np.array([f"O{i:07d}" for i in range(len(account))], dtype=object)[
                order_of_line
            ],
            "account_id": account_ids[line_account],
            "order_date": order_time[order_of_line],
            "category": names[category],
            "quantity": 1 + rng.poisson(0.5, size=len(order_of_line)),
            "amount": np.round(rng.lognormal(2.5, 0.6, size=len(order_of_line)), 2),
        }
    )
    accounts = pd.DataFrame(
        {
            "account_id": account_ids,
            "signup_date": start + pd.to_timedelta(signup, unit="D"),
            "manager": [f"M{i % 40:02d}" for i in range(n_accounts)],
            "region": np.array(_REGIONS, dtype=object)[region],
            "segment": np.array(_SEGMENTS, dtype=object)[segment],
        }
    )
    categories = pd.DataFrame(
        {"category": names, "margin_rate": np.round(rng.uniform(0.15, 0.45, n_categories), 3)}
    )
    raw = {"accounts": accounts, "orders": orders, "categories": categories}
    return validate_tables(raw, on_bad_rows="refuse").tables
