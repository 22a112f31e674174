"""Lifetime order count and rate: how often the account has bought since its first order.

Why: the windowed counts (30/90/365 days) forget an account's long-run habit; a client
that ordered 40 times in three years and one that ordered twice look alike after a quiet
quarter. The rate is per 30 days since the first order, and at least 30 days of exposure
are assumed, so a brand-new account's first order is not read as a huge rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import count, first_value
from kam_ml.data.tables import Tables
from kam_ml.features.order_events import OrderEvents
from kam_ml.features.registry import FeatureSpec
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["SPECS", "lifetime_features"]

MIN_EXPOSURE_DAYS = 30.0

SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "orders_lifetime",
        "Orders since the first order",
        "Only {value} order(s) ever",
        churn_direction=-1,
    ),
    FeatureSpec(
        "order_rate_lifetime_30d",
        "Orders per 30 days since the first order (at least 30 days of exposure)",
        "Orders {value} times a month over its lifetime",
        fmt=".2f",
        churn_direction=-1,
    ),
)


def lifetime_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Lifetime order count and rate for every account (0 for accounts without orders).

    An order dated T adds one to the count and leaves the exposure (age of the first order)
    unchanged, so both can only rise with it: direction -1 is honest.
    """
    n = history.n_accounts
    events = OrderEvents.of(history, cutoff, definition)
    orders = count(events.codes, n)
    exposure = np.maximum(np.nan_to_num(first_value(events.codes, events.age, n)), 0.0)
    rate = orders * 30.0 / np.maximum(exposure, MIN_EXPOSURE_DAYS)
    return {"orders_lifetime": orders, "order_rate_lifetime_30d": rate}
