"""Order-history features: recency, frequency, value, trends, gaps and category mix.

An *order* here is one account's lines that share a timestamp; lines are sorted by
(account, order_date), so order boundaries are where either changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import (
    count,
    first_of_account,
    first_value,
    keyed_sum,
    last_value,
    order_free,
    total,
)
from kam_ml.data.tables import Tables, account_codes
from kam_ml.features import order_phrases as say
from kam_ml.features.phrases import days_phrase, or_zero
from kam_ml.features.registry import FeatureSpec, ReasonPhrases
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["SPECS", "category_spend_matrix", "order_features", "order_starts"]

WINDOWS = (30, 90, 365)

SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "days_since_last_order",
        "Days since the last order",
        "No order for {value} days",
        churn_direction=1,
        phrases=say.RECENCY,
    ),
    FeatureSpec(
        "days_since_first_order",
        "Days since the first order",
        "First ordered {value} days ago",
        context=True,
    ),
    *(
        FeatureSpec(
            f"orders_{w}d",
            f"Orders in the last {w} days",
            f"Only {{value}} order(s) in {w} days",
            churn_direction=-1,
            phrases=say.orders_in(w),
        )
        for w in WINDOWS
    ),
    *(
        FeatureSpec(
            f"revenue_{w}d",
            f"Net revenue in the last {w} days",
            f"Spent {{value}} in the last {w} days",
            fmt=",.0f",
            churn_direction=-1,
            phrases=say.revenue_in(w),
        )
        for w in WINDOWS
    ),
    FeatureSpec(
        "revenue_lifetime",
        "Net revenue since the first order",
        "Lifetime spend {value}",
        fmt=",.0f",
        churn_direction=-1,
        phrases=ReasonPhrases(
            high="Lifetime spend {value}",
            low=or_zero("Lifetime spend only {value}", "Nothing spent so far"),
        ),
    ),
    FeatureSpec(
        "avg_order_value_365d",
        "Average order value over the last 365 days",
        "Average order value {value}",
        fmt=",.0f",
        either_way=True,
        phrases=ReasonPhrases(
            high="Average order value {value}",
            low=or_zero("Average order value only {value}", "No order value this year"),
        ),
    ),
    FeatureSpec(
        "revenue_trend_90d",
        "Revenue in the last 90 days relative to the 90 days before (log ratio)",
        "Spending is falling (trend {value})",
        fmt="+.2f",
        churn_direction=-1,
        phrases=say.REVENUE_TREND,
    ),
    FeatureSpec(
        "orders_trend_180d",
        "Orders in the last 180 days minus the 180 days before",
        "Ordering less often ({value} orders vs the half-year before)",
        fmt="+.0f",
        churn_direction=-1,
        phrases=say.ORDERS_TREND,
    ),
    FeatureSpec(
        "mean_gap_days",
        "Average days between orders",
        "Orders every {value} days",
        either_way=True,
        phrases=ReasonPhrases(
            high=days_phrase("Orders only every {days} on average"),
            low=days_phrase("Orders every {days} on average"),
        ),
    ),
    FeatureSpec(
        "gap_variability",
        "Standard deviation of the days between orders divided by their mean",
        "Irregular ordering rhythm (variability {value})",
        fmt=".2f",
        either_way=True,
        phrases=ReasonPhrases(
            high="Irregular ordering rhythm (variability {value}; 0 = like clockwork)",
            low="Regular ordering rhythm (variability {value}; 0 = like clockwork)",
        ),
    ),
    FeatureSpec(
        "last_gap_days",
        "Days between the last two orders",
        "Last reorder took {value} days",
        either_way=True,
        phrases=ReasonPhrases(
            high=days_phrase("Last reorder took {days}"),
            low=days_phrase("Last reorder took only {days}"),
        ),
    ),
    FeatureSpec(
        "overdue_ratio",
        "Days since the last order divided by the account's usual gap",
        "Overdue: {value}x its usual time between orders",
        fmt=".1f",
        churn_direction=1,
        missing_is_riskiest=True,
        phrases=say.OVERDUE,
    ),
    FeatureSpec(
        "categories_365d",
        "Distinct product categories bought in the last 365 days",
        "Buys from only {value} categories",
        churn_direction=-1,
        phrases=say.CATEGORIES,
    ),
    FeatureSpec(
        "category_concentration",
        "Herfindahl concentration of 365-day spend across categories (1 = one category)",
        "Spend concentrated in few categories ({value})",
        fmt=".2f",
        either_way=True,
        phrases=ReasonPhrases(
            high="Spend concentrated in few categories (index {value}; 1 = one category)",
            low="Spend spread over many categories (index {value}; 1 = one category)",
        ),
    ),
)


def order_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Order features for every account (NaN/0 for accounts without orders).

    Every window lies within the last 365 days, so lines and orders of that year are taken
    out once and the windows are summed over them: a fraction of the lines, and the same
    sums as masking the whole book (skipped rows only ever added 0.0).
    """
    n = history.n_accounts
    orders = history.orders
    codes = account_codes(orders).astype(np.intp)
    dates = orders["order_date"].to_numpy(dtype="datetime64[ns]")
    age = definition.age_days(dates, cutoff)
    amount = orders["amount"].to_numpy(dtype=np.float64)

    starts = order_starts(codes, dates)
    order_codes, order_age = codes[starts], age[starts]

    out: dict[str, np.ndarray] = {}
    last_age = last_value(order_codes, order_age, n)
    first_age = first_value(order_codes, order_age, n)
    out["days_since_last_order"] = np.floor(last_age)
    out["days_since_first_order"] = np.floor(
        _first_order_age(history, first_age, cutoff, definition)
    )

    year = age <= 365
    year_codes, year_age, year_amount = codes[year], age[year], amount[year]
    year_orders = order_age <= 365
    year_order_codes, year_order_age = order_codes[year_orders], order_age[year_orders]
    for w in WINDOWS:
        lines = year_age <= w
        out[f"orders_{w}d"] = count(year_order_codes, n, year_order_age <= w)
        out[f"revenue_{w}d"] = total(year_codes[lines], year_amount[lines], n)
    out["revenue_lifetime"] = total(codes, amount, n)
    out["avg_order_value_365d"] = _ratio(out["revenue_365d"], out["orders_365d"])

    prior_lines = (year_age > 90) & (year_age <= 180)
    revenue_prior_90 = total(year_codes[prior_lines], year_amount[prior_lines], n)
    out["revenue_trend_90d"] = np.log1p(out["revenue_90d"]) - np.log1p(revenue_prior_90)
    recent = count(year_order_codes, n, year_order_age <= 180)
    prior = count(year_order_codes, n, (year_order_age > 180) & (year_order_age <= 360))
    out["orders_trend_180d"] = recent - prior

    out.update(_gap_features(order_codes, order_age, last_age, n))
    category_codes, n_categories = _category_codes(orders["category"])
    out.update(_category_mix(year_codes, category_codes[year], year_amount, n, n_categories))
    return out


def _first_order_age(
    history: Tables, first_age: np.ndarray, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> np.ndarray:
    """Days since the first order; for an account that signed up before the order history
    starts its first order is not in the data, so the relationship's start (signup) stands
    in for it: otherwise the feature measures the data window, not the account."""
    if not len(history.orders):
        return first_age
    signup = history.accounts["signup_date"].to_numpy(dtype="datetime64[ns]")
    start = history.order_history_start().to_datetime64()
    censored = (signup < start) & ~np.isnan(first_age)
    if not censored.any():
        return first_age
    return np.where(censored, definition.age_days(signup, cutoff), first_age)


def category_spend_matrix(
    codes: np.ndarray,
    category_codes: np.ndarray,
    amount: np.ndarray,
    n_accounts: int,
    n_categories: int,
) -> np.ndarray:
    """Dense (account x category) spend; also the starting point of offer features."""
    key = codes.astype(np.int64) * n_categories + category_codes
    flat = keyed_sum(key, amount, n_accounts * n_categories)
    return flat.reshape(n_accounts, n_categories)


def order_starts(codes: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Mask of the lines that start an order (lines sorted by account, then date)."""
    starts = np.ones(len(codes), dtype=bool)
    starts[1:] = (codes[1:] != codes[:-1]) | (dates[1:] != dates[:-1])
    return starts


def _gap_features(
    order_codes: np.ndarray, order_age: np.ndarray, last_age: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    # A gap is the time since the account's previous order; each account's first order has
    # none and gets 0.0, which leaves every sum unchanged and saves gathering the real gaps.
    gaps = np.zeros(len(order_codes))
    gaps[1:] = order_age[:-1] - order_age[1:]  # ages fall as dates rise
    gaps[first_of_account(order_codes)] = 0.0
    n_gaps = np.maximum(count(order_codes, n) - 1.0, 0.0)
    mean_gap = _ratio(total(order_codes, gaps, n), n_gaps)
    mean_square = _ratio(total(order_codes, gaps**2, n), n_gaps)
    std_gap = np.sqrt(np.maximum(mean_square - mean_gap**2, 0.0))
    return {
        "mean_gap_days": mean_gap,
        "gap_variability": _ratio(std_gap, mean_gap),
        "last_gap_days": np.where(n_gaps > 0, last_value(order_codes, gaps, n), np.nan),
        "overdue_ratio": _ratio(last_age, mean_gap),
    }


def _category_codes(category: pd.Series) -> tuple[np.ndarray, int]:
    if isinstance(category.dtype, pd.CategoricalDtype):
        return category.cat.codes.to_numpy().astype(np.int64), len(category.cat.categories)
    codes, uniques = pd.factorize(category)
    return codes, len(uniques)


def _category_mix(
    codes: np.ndarray, category_codes: np.ndarray, amount: np.ndarray, n: int, n_categories: int
) -> dict[str, np.ndarray]:
    """Breadth and concentration of the given (last 365 days') lines."""
    width = max(n_categories, 1)
    if n * width > 50_000_000:
        return _category_mix_sparse(codes, category_codes, amount, n)
    spend = category_spend_matrix(codes, category_codes, amount, n, width)
    lines = np.bincount(codes.astype(np.int64) * width + category_codes, minlength=n * width)
    breadth = (lines.reshape(n, width) > 0).sum(axis=1).astype(np.float64)
    row_total = order_free(spend.sum(axis=1))
    shares = spend / np.where(row_total > 0, row_total, 1.0)[:, None]
    concentration = np.where(row_total > 0, order_free((shares**2).sum(axis=1)), np.nan)
    return {"categories_365d": breadth, "category_concentration": concentration}


def _category_mix_sparse(
    codes: np.ndarray, category_codes: np.ndarray, amount: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    """Same as the dense path for catalogues too large for an account x category matrix."""
    width = int(category_codes.max(initial=0)) + 1
    unique_keys, inverse = np.unique(
        codes.astype(np.int64) * width + category_codes, return_inverse=True
    )
    pair_spend = keyed_sum(inverse, amount)
    pair_account = (unique_keys // width).astype(np.intp)
    breadth = count(pair_account, n)
    row_total = total(pair_account, pair_spend, n)
    share = pair_spend / np.where(row_total[pair_account] > 0, row_total[pair_account], 1.0)
    concentration = np.where(row_total > 0, total(pair_account, share**2, n), np.nan)
    return {"categories_365d": breadth, "category_concentration": concentration}


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )
