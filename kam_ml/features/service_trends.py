"""Recent service quality: ticket resolution time in the last 90 days and the NPS trend.

Why: the 365-day averages of ``service`` answer "how has service been this year"; a client
deciding now reacts to the last quarter, and to whether its satisfaction is *moving*. Each
is its own candidate group, so the ablation can keep one without the other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import count, newest_value, total
from kam_ml.data.tables import Tables, account_codes
from kam_ml.features.registry import FeatureSpec
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["NPS_TREND_SPECS", "RESOLUTION_SPECS", "nps_trend_features", "resolution_features"]

RESOLUTION_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "ticket_hours_mean_90d",
        "Average hours to resolve the last 90 days' tickets",
        "Tickets took {value} hours to resolve lately",
        churn_direction=1,
    ),
)

NPS_TREND_SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "nps_trend_365d",
        "Latest NPS score minus the average of the account's earlier scores of the year",
        "NPS is falling ({value} points vs its earlier scores)",
        fmt="+.1f",
        churn_direction=-1,
    ),
)


def resolution_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Mean resolution hours of tickets opened in the last 90 days (NaN without any)."""
    n = history.n_accounts
    codes, age, value = _valued(history, "ticket", cutoff, definition)
    recent = age <= 90
    tickets = count(codes, n, recent)
    hours = total(codes[recent], value[recent], n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(tickets > 0, hours / tickets, np.nan)
    return {"ticket_hours_mean_90d": mean}


def nps_trend_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Latest survey minus the mean of the year's earlier ones (NaN with fewer than two).

    Surveys never move with an order, so a rising trend may honestly mean less risk.
    """
    n = history.n_accounts
    codes, age, value = _valued(history, "nps", cutoff, definition)
    year = age <= 365
    codes, age, value = codes[year], age[year], value[year]
    latest = newest_value(codes, age, value, n)
    surveys = count(codes, n)
    earlier_sum = total(codes, value, n) - np.nan_to_num(latest)
    with np.errstate(divide="ignore", invalid="ignore"):
        earlier_mean = np.where(surveys > 1, earlier_sum / (surveys - 1), np.nan)
    return {"nps_trend_365d": latest - earlier_mean}


def _valued(
    history: Tables, kind: str, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    events = history.interactions
    value = events["value"].to_numpy(dtype=np.float64)
    rows = (events["event_type"] == kind).to_numpy(dtype=bool) & ~np.isnan(value)
    codes = account_codes(events)[rows].astype(np.intp)
    dates = events["event_date"].to_numpy(dtype="datetime64[ns]")[rows]
    return codes, definition.age_days(dates, cutoff), value[rows]
