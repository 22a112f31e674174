"""Order-history features: recency, frequency, value, trends, gaps and category mix.

An *order* here is one account's lines that share a timestamp; lines are sorted by
(account, order_date), so order boundaries are where either changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.definitions import ProblemDefinition
from kam_ml.features.aggregate import count, first_value, last_value, total
from kam_ml.features.registry import FeatureSpec, register
from kam_ml.tables import Tables, account_codes

__all__ = ["order_features", "category_spend_matrix"]

WINDOWS = (30, 90, 365)

register(
    FeatureSpec("days_since_last_order", "Days since the last order", "No order for {value} days"),
    FeatureSpec(
        "days_since_first_order", "Days since the first order", "Customer for {value} days"
    ),
    *(
        FeatureSpec(
            f"orders_{w}d", f"Orders in the last {w} days", f"Only {{value}} orders in {w} days"
        )
        for w in WINDOWS
    ),
    *(
        FeatureSpec(
            f"revenue_{w}d",
            f"Net revenue in the last {w} days",
            f"Spent {{value}} in the last {w} days",
            fmt=",.0f",
        )
        for w in WINDOWS
    ),
    FeatureSpec(
        "revenue_lifetime",
        "Net revenue since the first order",
        "Lifetime spend {value}",
        fmt=",.0f",
    ),
    FeatureSpec(
        "avg_order_value_365d",
        "Average order value over the last 365 days",
        "Average order value {value}",
        fmt=",.0f",
    ),
    FeatureSpec(
        "revenue_trend_90d",
        "Revenue in the last 90 days relative to the 90 days before (log ratio)",
        "Spending is falling (trend {value})",
        fmt="+.2f",
    ),
    FeatureSpec(
        "orders_trend_180d",
        "Orders in the last 180 days minus the 180 days before",
        "Ordering less often ({value} orders vs the half-year before)",
        fmt="+.0f",
    ),
    FeatureSpec("mean_gap_days", "Average days between orders", "Orders every {value} days"),
    FeatureSpec(
        "gap_variability",
        "Standard deviation of the days between orders divided by their mean",
        "Irregular ordering rhythm (variability {value})",
        fmt=".2f",
    ),
    FeatureSpec(
        "last_gap_days", "Days between the last two orders", "Last reorder took {value} days"
    ),
    FeatureSpec(
        "overdue_ratio",
        "Days since the last order divided by the account's usual gap",
        "Overdue: {value}x its usual time between orders",
        fmt=".1f",
    ),
    FeatureSpec(
        "categories_365d",
        "Distinct product categories bought in the last 365 days",
        "Buys from only {value} categories",
    ),
    FeatureSpec(
        "category_concentration",
        "Herfindahl concentration of 365-day spend across categories (1 = one category)",
        "Spend concentrated in few categories ({value})",
        fmt=".2f",
    ),
)


def order_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Order features for every account (NaN/0 for accounts without orders)."""
    n = history.n_accounts
    orders = history.orders
    codes = account_codes(orders).astype(np.intp)
    age = definition.age_days(orders["order_date"], cutoff)
    amount = orders["amount"].to_numpy(dtype=np.float64)

    starts = _order_starts(codes, orders["order_date"].to_numpy(dtype="datetime64[ns]"))
    order_codes, order_age = codes[starts], age[starts]

    out: dict[str, np.ndarray] = {}
    last_age = last_value(order_codes, order_age, n)
    first_age = first_value(order_codes, order_age, n)
    out["days_since_last_order"] = np.floor(last_age)
    out["days_since_first_order"] = np.floor(first_age)
    for w in WINDOWS:
        out[f"orders_{w}d"] = count(order_codes, n, order_age <= w)
        out[f"revenue_{w}d"] = total(codes, np.where(age <= w, amount, 0.0), n)
    out["revenue_lifetime"] = total(codes, amount, n)
    out["avg_order_value_365d"] = _ratio(out["revenue_365d"], out["orders_365d"])

    revenue_prior_90 = total(codes, np.where((age > 90) & (age <= 180), amount, 0.0), n)
    out["revenue_trend_90d"] = np.log1p(out["revenue_90d"]) - np.log1p(revenue_prior_90)
    recent = count(order_codes, n, order_age <= 180)
    prior = count(order_codes, n, (order_age > 180) & (order_age <= 360))
    out["orders_trend_180d"] = recent - prior

    out.update(_gap_features(order_codes, order_age, last_age, n))
    out.update(_category_mix(history, codes, age, amount))
    return out


def category_spend_matrix(
    codes: np.ndarray,
    category_codes: np.ndarray,
    amount: np.ndarray,
    n_accounts: int,
    n_categories: int,
) -> np.ndarray:
    """Dense (account x category) spend; also the starting point of offer features."""
    key = codes.astype(np.int64) * n_categories + category_codes
    flat = np.bincount(key, weights=amount, minlength=n_accounts * n_categories)
    return flat.reshape(n_accounts, n_categories)


def _order_starts(codes: np.ndarray, dates: np.ndarray) -> np.ndarray:
    starts = np.ones(len(codes), dtype=bool)
    starts[1:] = (codes[1:] != codes[:-1]) | (dates[1:] != dates[:-1])
    return starts


def _gap_features(
    order_codes: np.ndarray, order_age: np.ndarray, last_age: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    same_account = np.zeros(len(order_codes), dtype=bool)
    same_account[1:] = order_codes[1:] == order_codes[:-1]
    gaps = np.zeros(len(order_codes))
    gaps[1:] = order_age[:-1] - order_age[1:]  # ages fall as dates rise
    gap_codes, gap_values = order_codes[same_account], gaps[same_account]
    n_gaps = count(gap_codes, n)
    mean_gap = _ratio(total(gap_codes, gap_values, n), n_gaps)
    mean_square = _ratio(total(gap_codes, gap_values**2, n), n_gaps)
    std_gap = np.sqrt(np.maximum(mean_square - mean_gap**2, 0.0))
    return {
        "mean_gap_days": mean_gap,
        "gap_variability": _ratio(std_gap, mean_gap),
        "last_gap_days": last_value(gap_codes, gap_values, n),
        "overdue_ratio": _ratio(last_age, mean_gap),
    }


def _category_mix(
    history: Tables, codes: np.ndarray, age: np.ndarray, amount: np.ndarray
) -> dict[str, np.ndarray]:
    n = history.n_accounts
    category = history.orders["category"]
    if isinstance(category.dtype, pd.CategoricalDtype):
        category_codes = category.cat.codes.to_numpy().astype(np.int64)
        n_categories = len(category.cat.categories)
    else:
        category_codes, uniques = pd.factorize(category)
        n_categories = len(uniques)
    recent = age <= 365
    if n * max(n_categories, 1) <= 50_000_000:
        spend = category_spend_matrix(
            codes[recent], category_codes[recent], amount[recent], n, max(n_categories, 1)
        )
        bought = category_spend_matrix(
            codes[recent],
            category_codes[recent],
            np.ones(int(recent.sum())),
            n,
            max(n_categories, 1),
        )
        breadth = (bought > 0).sum(axis=1).astype(np.float64)
        row_total = spend.sum(axis=1)
        shares = spend / np.where(row_total > 0, row_total, 1.0)[:, None]
        concentration = np.where(row_total > 0, (shares**2).sum(axis=1), np.nan)
        return {"categories_365d": breadth, "category_concentration": concentration}
    return _category_mix_sparse(codes[recent], category_codes[recent], amount[recent], n)


def _category_mix_sparse(
    codes: np.ndarray, category_codes: np.ndarray, amount: np.ndarray, n: int
) -> dict[str, np.ndarray]:
    """Same as the dense path for catalogues too large for an account x category matrix."""
    width = int(category_codes.max(initial=0)) + 1
    unique_keys, inverse = np.unique(
        codes.astype(np.int64) * width + category_codes, return_inverse=True
    )
    pair_spend = np.bincount(inverse, weights=amount)
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
