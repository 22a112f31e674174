"""Return features; a return counts only from the day it became known (late-arriving fact)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import count, total
from kam_ml.data.tables import Tables, account_codes
from kam_ml.features.phrases import count_phrase, or_zero
from kam_ml.features.registry import FeatureSpec, ReasonPhrases
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["SPECS", "return_features"]

SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "return_rate_365d",
        "Share of the last 365 days' order value that was returned (as known at the cutoff)",
        "Returned {value} of what it bought this year",
        fmt=".0%",
        churn_direction=1,
        phrases=ReasonPhrases(
            high=or_zero(
                "Returned {value} of what it bought this year", "No returns this year", ".0%"
            ),
            low=or_zero(
                "Returned only {value} of what it bought this year", "No returns this year", ".0%"
            ),
        ),
    ),
    FeatureSpec(
        "returned_value_365d",
        "Value of order lines from the last 365 days known to be returned",
        "Returned goods worth {value}",
        fmt=",.0f",
        churn_direction=1,
        phrases=ReasonPhrases(
            high=or_zero("Returned goods worth {value} this year", "No returns this year"),
            low=or_zero("Returned goods worth only {value} this year", "No returns this year"),
        ),
    ),
    FeatureSpec(
        "returns_known_90d",
        "Returns registered in the last 90 days",
        "{value} returns in the last 90 days",
        churn_direction=1,
        phrases=ReasonPhrases(
            *count_phrase(
                "return", none="No return in the last 90 days", suffix="in the last 90 days"
            )
        ),
    ),
)


def return_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Return rate, returned value and recent returns for every account.

    Rate and value are over the last year's *orders* (what the account bought and sent
    back); the 90-day count is over *return dates*, the day the return became known.
    """
    n = history.n_accounts
    orders = history.orders
    codes = account_codes(orders).astype(np.intp)
    age = definition.age_days(orders["order_date"], cutoff)
    amount = orders["amount"].to_numpy(dtype=np.float64)
    returned = orders["returned"].to_numpy(dtype=bool)  # history_at hides unknown returns

    recent = age <= 365
    bought = total(codes, np.where(recent, amount, 0.0), n)
    returned_value = total(codes, np.where(recent & returned, amount, 0.0), n)
    # Only returned lines have a known date; the subset keeps 20M-line books cheap.
    returned_lines = orders.loc[returned, ["order_date", "return_date", "returned"]]
    known_age = definition.age_days(definition.return_known_date(returned_lines), cutoff)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(bought > 0, returned_value / np.where(bought > 0, bought, 1.0), np.nan)
    return {
        "return_rate_365d": rate,
        "returned_value_365d": returned_value,
        "returns_known_90d": count(codes[returned], n, known_age <= 90),
    }
