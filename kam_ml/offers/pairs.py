"""Offer candidates and their features: one row per (cutoff, active account, category).

Candidates are, for every account active at the cutoff, at most ``candidates`` categories
chosen by ``kam_ml.offers.candidates`` (own history first, then co-purchase and
next-purchase neighbours and segment x region popularity): the pair count grows with that
bound, not with the catalogue. A catalogue no larger than the bound (a luxury book's tens
of categories) gets every category, exactly the all-pairs rows it always had.

Each pair's features are pure functions of the history known at T (through
``definition.history_at`` and ``definition.age_days``) and of the book's
``PopulationStats`` at T, which are passed in, never recomputed from the rows at hand: that
is what lets one account scored alone get the features it gets in the nightly run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import count, keyed_sum
from kam_ml.data.tables import Tables, account_codes, sorted_for_features
from kam_ml.features import FeatureSpec, build_features, feature_registry
from kam_ml.offers.candidates import DEFAULT_CANDIDATES, candidate_mask, check_candidates
from kam_ml.offers.population import PopulationStats, label_positions, population_stats
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.spine import active_account_positions

__all__ = [
    "ACCOUNT_FEATURES",
    "CONTEXT_COLUMNS",
    "OFFER_FEATURE_COLUMNS",
    "PAIR_FEATURES",
    "build_offer_pairs",
]

RECENT_DAYS = 90
YEAR_DAYS = 365
DECAY_DAYS = 90.0  # time constant of the decayed line count: recent taste weighs more

# Read as "why this category for this account" when the feature pushes the offer up.
PAIR_FEATURES: dict[str, FeatureSpec] = feature_registry(
    (
        # the account's own history in the category
        FeatureSpec(
            "cat_days_since_last",
            "Days since the account last bought the category",
            "Last bought the category {value} days ago",
        ),
        FeatureSpec(
            "cat_lines_90d",
            "Order lines of the category in the last 90 days",
            "Bought the category {value} times in the last 90 days",
        ),
        FeatureSpec(
            "cat_lines_365d",
            "Order lines of the category in the last 365 days",
            "Bought the category {value} times in the last year",
        ),
        FeatureSpec(
            "cat_lines_lifetime",
            "Order lines of the category ever",
            "Bought the category {value} times in all",
        ),
        FeatureSpec(
            "cat_spend_365d",
            "Spend on the category in the last 365 days",
            "Spent {value} on the category in the last year",
            fmt=",.0f",
        ),
        FeatureSpec(
            "cat_share_365d",
            "The category's share of the account's last-year spend (share of wallet)",
            "The category is {value} of its spend in the last year",
            fmt=".0%",
        ),
        FeatureSpec(
            "cat_share_90d",
            "The category's share of the account's order lines in the last 90 days",
            "The category is {value} of its order lines in the last 90 days",
            fmt=".0%",
        ),
        FeatureSpec(
            "cat_decayed_lines",
            "Order lines of the category, each weighted exp(-age / 90 days)",
            "Bought the category recently ({value} recency-weighted lines)",
            fmt=".1f",
        ),
        FeatureSpec(
            "cat_overdue_ratio",
            "Days since the last purchase of the category over its usual gap",
            "Due to reorder the category ({value}x its usual gap)",
            fmt=".1f",
        ),
        # the category in the book
        FeatureSpec(
            "cat_popularity",
            "Share of active accounts that bought the category in the last horizon",
            "Bought lately by {value} of active accounts",
            fmt=".0%",
        ),
        FeatureSpec(
            "cat_popularity_segment",
            "Same, among accounts of the account's segment",
            "Bought lately by {value} of accounts in its segment",
            fmt=".0%",
        ),
        FeatureSpec(
            "cat_popularity_region",
            "Same, among accounts of the account's region",
            "Bought lately by {value} of accounts in its region",
            fmt=".0%",
        ),
        FeatureSpec(
            "cat_popularity_segment_region",
            "Same, among accounts of its segment and region",
            "Bought lately by {value} of accounts in its segment and region",
            fmt=".0%",
        ),
        FeatureSpec(
            "cat_momentum",
            "Log of the category's recent over last-year share of order lines",
            "The category is gaining across the book (log ratio {value})",
            fmt="+.2f",
        ),
        FeatureSpec(
            "cat_momentum_segment",
            "Same, within the account's segment",
            "The category is gaining in its segment (log ratio {value})",
            fmt="+.2f",
        ),
        FeatureSpec(
            "cat_momentum_region",
            "Same, within the account's region",
            "The category is gaining in its region (log ratio {value})",
            fmt="+.2f",
        ),
        # affinity with what the account buys
        FeatureSpec(
            "cooccurrence_affinity",
            "Mean log-lift of the category with the other categories it buys",
            "Often bought with what it buys (mean log-lift {value})",
            fmt="+.2f",
        ),
        FeatureSpec(
            "cooccurrence_max_lift",
            "Largest lift of the category with another category it buys",
            "Bought {value}x as often as usual with a category it buys",
            fmt=".1f",
        ),
        FeatureSpec(
            "sequence_affinity",
            "Log-lift of the category as the next purchase after its last order",
            "Often bought after what its last order held (log-lift {value})",
            fmt="+.2f",
        ),
        FeatureSpec(
            "similarity_score",
            "Item-to-item score: its last-year lines x cosine similarity",
            "Similar to what it bought in the last year (score {value})",
            fmt=".1f",
        ),
        FeatureSpec(
            "account_orders_lifetime",
            "Orders the account placed up to the cutoff",
            "{value} orders placed so far",
        ),
    )
)

ACCOUNT_FEATURES: tuple[str, ...] = (
    "days_since_last_order",
    "orders_90d",
    "orders_365d",
    "revenue_365d",
    "avg_order_value_365d",
    "categories_365d",
    "category_concentration",
    "mean_gap_days",
    "overdue_ratio",
    "tenure_days",
)

OFFER_FEATURE_COLUMNS: tuple[str, ...] = tuple(PAIR_FEATURES) + ACCOUNT_FEATURES
# carried along for business rules and reasons, never model inputs
CONTEXT_COLUMNS = (
    "segment",
    "region",
    "affinity_category",
    "sequence_category",
    "typical_spend",
    "margin_rate",
)


# None as an object array: np.where(mask, names, None) would match the one-argument overload
_NONE = np.array(None, dtype=object)


def build_offer_pairs(
    tables: Tables,
    cutoffs: Sequence[pd.Timestamp] | pd.Timestamp,
    definition: ProblemDefinition,
    population: PopulationStats | Mapping[pd.Timestamp, PopulationStats] | None = None,
    account_features: pd.DataFrame | None = None,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
    candidates: int | None = DEFAULT_CANDIDATES,
) -> pd.DataFrame:
    """Pair rows for every account active at each cutoff x its candidate categories.

    ``population``: the book's statistics at the cutoff (one object for a single cutoff, or
    one per cutoff); computed from ``tables`` when None, which is right only when
    ``tables`` *is* the book. ``account_features``: ``build_features`` rows for the same
    cutoffs, to reuse instead of rebuilding. ``candidates``: at most this many categories
    per account (``kam_ml.offers.candidates``; None: every category). Columns: ``cutoff``,
    ``account_id``, ``category``, the ``OFFER_FEATURE_COLUMNS`` and the
    ``CONTEXT_COLUMNS``; rows are in (cutoff, account position, category) order.
    """
    check_candidates(candidates)
    if isinstance(cutoffs, pd.Timestamp | str):
        cutoffs = [pd.Timestamp(cutoffs)]
    cutoffs = sorted(pd.Timestamp(c).normalize() for c in cutoffs)
    if account_features is None:
        account_features = build_features(tables, cutoffs, definition)
    tables = sorted_for_features(tables)
    frames = []
    for cutoff in cutoffs:
        stats = _population_at(population, tables, cutoff, definition)
        frames.append(_pairs_at(tables, cutoff, definition, stats, account_features, candidates))
        if on_cutoff_done is not None:
            on_cutoff_done(cutoff)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _population_at(
    population: PopulationStats | Mapping[pd.Timestamp, PopulationStats] | None,
    tables: Tables,
    cutoff: pd.Timestamp,
    definition: ProblemDefinition,
) -> PopulationStats:
    if population is None:
        return population_stats(tables, cutoff, definition)
    stats = population if isinstance(population, PopulationStats) else population[cutoff]
    if stats.as_of != cutoff:
        raise ValueError(
            f"The population statistics are as of {stats.as_of.date()} but the offer pairs "
            f"are built at {cutoff.date()}; compute them at the same date."
        )
    return stats


def _pairs_at(
    tables: Tables,
    cutoff: pd.Timestamp,
    definition: ProblemDefinition,
    stats: PopulationStats,
    account_features: pd.DataFrame,
    candidates: int | None,
) -> pd.DataFrame:
    history = definition.history_at(tables, cutoff)
    active = active_account_positions(history, cutoff, definition)
    n_active, n_cat = len(active), len(stats.categories)
    orders = history.orders
    row_of = np.full(history.n_accounts, -1, dtype=np.int64)
    row_of[active] = np.arange(n_active)
    category = label_positions(stats.categories, orders["category"])
    rows = row_of[account_codes(orders)]
    keep = (rows >= 0) & (category >= 0)
    row, cat = rows[keep], category[keep].astype(np.int64)
    age = definition.age_days(orders["order_date"], cutoff)[keep]
    amount = orders["amount"].to_numpy(dtype=np.float64)[keep]
    key = row * n_cat + cat

    def matrix(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        k = key if mask is None else key[mask]
        w = weights if (weights is None or mask is None) else weights[mask]
        if w is None:
            flat = np.bincount(k, minlength=n_active * n_cat).astype(np.float64)
        else:
            flat = keyed_sum(k, w, n_active * n_cat)
        return flat.reshape(n_active, n_cat)

    recent, year = age <= RECENT_DAYS, age <= YEAR_DAYS
    decayed = matrix(None, np.exp(-age / DECAY_DAYS))
    lines_90, lines_365, lines_all = matrix(recent), matrix(year), matrix()
    spend_365 = matrix(year, amount)
    last_age_flat = np.full(n_active * n_cat, np.inf)
    np.minimum.at(last_age_flat, key, age)
    last_age = last_age_flat.reshape(n_active, n_cat)
    days_since = np.where(np.isfinite(last_age), np.floor(last_age), np.nan)

    out: dict[str, np.ndarray] = {
        "cat_days_since_last": days_since,
        "cat_lines_90d": lines_90,
        "cat_lines_365d": lines_365,
        "cat_lines_lifetime": lines_all,
        "cat_spend_365d": spend_365,
        "cat_share_365d": _row_share(spend_365),
        "cat_share_90d": _row_share(lines_90),
        "cat_decayed_lines": decayed,
        "cat_overdue_ratio": days_since * lines_365 / YEAR_DAYS,
    }

    accounts = history.accounts.iloc[active]
    segments, regions = accounts["segment"].astype(str), accounts["region"].astype(str)
    out["cat_popularity"] = np.tile(stats.popularity_all, (n_active, 1))
    out["cat_popularity_segment"] = stats.by_segment("popularity", segments)
    out["cat_popularity_region"] = stats.by_region("popularity", regions)
    out["cat_popularity_segment_region"] = stats.segment_region_popularity(segments, regions)
    out["cat_momentum"] = np.tile(stats.momentum_all, (n_active, 1))
    out["cat_momentum_segment"] = stats.by_segment("momentum", segments)
    out["cat_momentum_region"] = stats.by_region("momentum", regions)

    affinity, max_lift, affinity_category = _cooccurrence_affinity(lines_365, stats)
    out["cooccurrence_affinity"] = affinity
    out["cooccurrence_max_lift"] = max_lift
    dates = orders["order_date"].to_numpy(dtype="datetime64[ns]")
    in_last = _last_order_categories(row, dates[keep], cat, n_active, n_cat)
    sequence, sequence_category = _sequence_affinity(in_last, stats)
    out["sequence_affinity"] = sequence
    out["similarity_score"] = lines_365 @ stats.similarity
    out["account_orders_lifetime"] = np.repeat(
        _orders_per_account(rows, dates, n_active)[:, None], n_cat, axis=1
    )

    typical = stats.by_segment("typical_spend", segments)
    own_line_value = spend_365 / np.where(lines_365 > 0, lines_365, 1.0)
    context = {
        "segment": np.repeat(segments.to_numpy(dtype=object), n_cat),
        "region": np.repeat(regions.to_numpy(dtype=object), n_cat),
        "affinity_category": affinity_category.ravel(),
        "sequence_category": sequence_category.ravel(),
        "typical_spend": np.where(lines_365 > 0, own_line_value, typical).ravel(),
        "margin_rate": np.tile(stats.margin_rate, n_active),
    }

    mask = candidate_mask(
        decayed_lines=decayed,
        basket_shares=_row_share(lines_365),
        last_order=in_last,
        popularity=out["cat_popularity_segment_region"],
        stats=stats,
        n=candidates,
    ).ravel()
    account_ids = tables.accounts["account_id"].to_numpy(dtype=object)[active]
    data: dict[str, np.ndarray] = {
        "cutoff": np.full(n_active * n_cat, cutoff.to_datetime64(), dtype="datetime64[ns]"),
        "account_id": np.repeat(account_ids, n_cat),
        "category": np.tile(np.asarray(stats.categories, dtype=object), n_active),
    }
    data.update({name: out[name].ravel() for name in PAIR_FEATURES})
    data.update(_account_columns(account_features, cutoff, account_ids, n_cat))
    data.update(context)
    if not mask.all():
        data = {name: values[mask] for name, values in data.items()}
    return pd.DataFrame(data)


def _row_share(values: np.ndarray) -> np.ndarray:
    total = values.sum(axis=1, keepdims=True)
    return values / np.where(total > 0, total, 1.0)


def _cooccurrence_affinity(
    lines: np.ndarray, stats: PopulationStats
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and max lift of each category with the *other* categories the account buys.

    Returns (mean log-lift weighted by the account's line shares, max lift, the category
    giving the max lift or None) per (account, category).
    """
    n_cat = len(stats.categories)
    log_lift = np.log(stats.cooccurrence_lift)
    np.fill_diagonal(log_lift, 0.0)
    weights = _row_share(lines)
    others = 1.0 - weights  # the weight of every category but the candidate itself
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(others > 1e-12, (weights @ log_lift) / others, 0.0)
    lift = stats.cooccurrence_lift.copy()
    lift[np.arange(n_cat), np.arange(n_cat)] = -np.inf  # the lift of j with each bought i != j
    max_lift, best = _max_over_bought(lines > 0, lift)
    has_other = np.isfinite(max_lift)
    names = np.asarray(stats.categories, dtype=object)[best]
    return mean, np.where(has_other, max_lift, 1.0), np.where(has_other, names, _NONE)


def _max_over_bought(bought: np.ndarray, lift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each (account, candidate j): max over the account's bought i of ``lift[i, j]``
    and the first i reaching it (-inf and 0 when it bought nothing).

    The same answer as an argmax over an (accounts, C, C) tensor, found one bought category
    at a time: that tensor is 1.8 GB at 2,500 accounts and 300 categories, while this
    touches only the rows of the accounts that bought each category.
    """
    n_accounts, n_cat = bought.shape
    best_value = np.full((n_accounts, n_cat), -np.inf)
    best = np.zeros((n_accounts, n_cat), dtype=np.intp)
    for i in range(n_cat):
        rows = np.flatnonzero(bought[:, i])
        if not len(rows):
            continue
        current = best_value[rows]
        better = lift[i][None, :] > current  # strict: ties keep the first i, as argmax does
        best_value[rows] = np.where(better, lift[i][None, :], current)
        best[rows] = np.where(better, i, best[rows])
    return best_value, best


def _last_order_categories(
    row: np.ndarray, dates: np.ndarray, cat: np.ndarray, n_active: int, n_cat: int
) -> np.ndarray:
    """(accounts, C) booleans: the categories of each account's last order.

    An order's lines share a timestamp, so "the last order" is every line at the account's
    latest timestamp; using all of them keeps the answer independent of row order.
    """
    stamp = dates.view(np.int64).astype(np.float64)
    latest = np.full(n_active, -np.inf)
    np.maximum.at(latest, row, stamp)
    last = stamp == latest[row]
    counts = np.bincount(row[last] * n_cat + cat[last], minlength=n_active * n_cat)
    in_last: np.ndarray = counts.reshape(n_active, n_cat) > 0
    return in_last


def _sequence_affinity(
    in_last: np.ndarray, stats: PopulationStats
) -> tuple[np.ndarray, np.ndarray]:
    """Mean log transition lift from the categories of the account's last order, and the
    one of those categories with the largest lift (for the reason phrase, None if none).
    """
    log_lift = np.log(stats.transition_lift)
    n_last = in_last.sum(axis=1, keepdims=True)
    mean = (in_last.astype(np.float64) @ log_lift) / np.where(n_last > 0, n_last, 1.0)
    _, best = _max_over_bought(in_last, log_lift)
    names = np.asarray(stats.categories, dtype=object)[best]
    return mean, np.where(n_last > 0, names, _NONE)


def _orders_per_account(rows: np.ndarray, dates: np.ndarray, n_active: int) -> np.ndarray:
    """Distinct order timestamps per active account (lines sorted by account and date)."""
    starts = np.ones(len(rows), dtype=bool)
    starts[1:] = (rows[1:] != rows[:-1]) | (dates[1:] != dates[:-1])
    selected = starts & (rows >= 0)
    return count(rows[selected].astype(np.intp), n_active)


def _account_columns(
    account_features: pd.DataFrame, cutoff: pd.Timestamp, account_ids: np.ndarray, n_cat: int
) -> dict[str, np.ndarray]:
    at_cutoff = account_features[account_features["cutoff"] == cutoff].set_index("account_id")
    missing = pd.Index(account_ids).difference(at_cutoff.index)
    if len(missing):
        raise ValueError(
            f"account_features lack {len(missing)} accounts active at {cutoff.date()} "
            f"(e.g. {list(missing[:3])}); pass build_features rows for the same cutoffs."
        )
    rows = at_cutoff.loc[account_ids, list(ACCOUNT_FEATURES)]
    return {name: np.repeat(rows[name].to_numpy(dtype=np.float64), n_cat) for name in rows}
