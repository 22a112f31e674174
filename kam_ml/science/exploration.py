"""Exploration tables for the first look at a book: cohorts, order gaps, churn's run-up.

Pure functions of the validated tables returning tidy frames a notebook plots in one line.
They follow the package's cutoff rule (``ProblemDefinition.history_at`` / ``age_days``;
labels from ``kam_ml.problem.labels``), so what they show is what the model sees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables, account_codes
from kam_ml.features import build_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels

__all__ = ["book_overview", "cohort_retention", "order_gaps", "pre_churn_trajectories"]

_MONTH_DAYS = 30.4375


def book_overview(tables: Tables) -> pd.Series:
    """Sizes and date range: what a reader checks before trusting anything else."""
    orders = tables.orders
    return pd.Series(
        {
            "accounts": tables.n_accounts,
            "managers": tables.accounts["manager"].nunique(),
            "regions": tables.accounts["region"].nunique(),
            "order_lines": len(orders),
            "orders": orders["order_id"].nunique(),
            "categories": orders["category"].nunique(),
            "interactions": len(tables.interactions),
            "first_order": tables.first_date().date(),
            "last_date": tables.last_date().date(),
            "revenue": float(orders["amount"].sum()),
        }
    )


def cohort_retention(tables: Tables, months: int = 24, freq: str = "Q") -> pd.DataFrame:
    """Share of each first-order cohort still ordering k months after its first order.

    Rows: cohorts (first-order period at ``freq``); columns: months since the first order
    (0 .. ``months``); a cell is the share of the cohort with an order in that month, NaN
    where the month lies after the data's last date for part of the cohort.
    """
    orders = tables.orders
    codes = account_codes(orders)
    dates = orders["order_date"].to_numpy(dtype="datetime64[ns]")
    first = np.full(tables.n_accounts, np.datetime64("NaT"), dtype="datetime64[ns]")
    frame = pd.DataFrame({"code": codes, "date": dates})
    by_account = frame.groupby("code")["date"].min()
    first[by_account.index.to_numpy()] = by_account.to_numpy()
    month = ((dates - first[codes]) / np.timedelta64(1, "D") // _MONTH_DAYS).astype(int)
    cohort = pd.PeriodIndex(pd.DatetimeIndex(first[codes]), freq=freq).astype(str)
    active = pd.DataFrame({"cohort": cohort, "month": month, "code": codes})
    active = active.loc[active["month"] <= months].drop_duplicates()
    counts = active.groupby(["cohort", "month"])["code"].nunique().unstack(fill_value=0)
    sizes = counts[0] if 0 in counts.columns else counts.max(axis=1)
    share = counts.div(sizes, axis=0).reindex(columns=range(months + 1), fill_value=0.0)
    # months not yet observed for a cohort's latest member are unknown, not zero
    firsts = pd.Series(by_account.to_numpy())
    latest_first = firsts.groupby(
        pd.PeriodIndex(pd.DatetimeIndex(firsts), freq=freq).astype(str)
    ).max()
    last = tables.last_date()
    for row, latest in latest_first.items():
        observed = int((last - latest) / pd.Timedelta(days=1) // _MONTH_DAYS)
        share.loc[row, share.columns > observed] = np.nan
    share.columns.name = "months since first order"
    return share


def order_gaps(tables: Tables) -> pd.DataFrame:
    """Days between consecutive order days of each account, with the account's segment."""
    orders = tables.orders
    frame = pd.DataFrame(
        {
            "code": account_codes(orders),
            "day": orders["order_date"].dt.normalize().to_numpy(dtype="datetime64[ns]"),
        }
    ).drop_duplicates()
    frame = frame.sort_values(["code", "day"], kind="stable")
    gap = frame.groupby("code")["day"].diff() / pd.Timedelta(days=1)
    segment = tables.accounts["segment"].to_numpy(dtype=object)
    out = pd.DataFrame({"gap_days": gap, "segment": segment[frame["code"].to_numpy()]})
    return out.dropna(subset=["gap_days"]).reset_index(drop=True)


def pre_churn_trajectories(
    tables: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition, months: int = 12
) -> pd.DataFrame:
    """Mean monthly orders and revenue in the months before T, churned vs retained at T.

    The accounts are those active at ``cutoff``; ``churned`` is the package's label
    (no order in the horizon after T). Rows: months before T (``months`` .. 1);
    columns: (metric, churned / retained).
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    spine = build_features(tables, cutoff, definition)[["account_id", "cutoff"]]
    labels = churn_labels(tables, spine, definition).astype(bool)
    history = definition.history_at(tables, cutoff)
    orders = history.orders
    position = pd.Index(tables.accounts["account_id"]).get_indexer(spine["account_id"])
    group = np.full(tables.n_accounts, -1)
    group[position] = labels.astype(int)
    age = definition.age_days(orders["order_date"], cutoff)
    month = np.ceil(age / _MONTH_DAYS).astype(int)
    codes = account_codes(orders)
    keep = (group[codes] >= 0) & (month >= 1) & (month <= months)
    frame = pd.DataFrame(
        {
            "month_before": month[keep],
            "group": np.where(group[codes][keep] == 1, "churned", "retained"),
            "amount": orders["amount"].to_numpy(dtype=np.float64)[keep],
            "order_id": orders["order_id"].to_numpy(dtype=object)[keep],
        }
    )
    sums = frame.groupby(["month_before", "group"]).agg(
        orders=("order_id", "nunique"), revenue=("amount", "sum")
    )
    sizes = pd.Series({"churned": labels.sum(), "retained": (~labels).sum()})
    means = sums.div(sizes.reindex(sums.index.get_level_values("group")).to_numpy(), axis=0)
    out = means.unstack("group").reindex(range(months, 0, -1)).fillna(0.0)
    out.index.name = "months before T"
    return out
