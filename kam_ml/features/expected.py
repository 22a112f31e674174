"""What the account's own history expects in the horizon: its recent rate and last year's season.

Why: the horizon label asks "any order in the next H days?". An account's own rate over
the last year (orders per day of exposure, at most 365 days) times H is the naive answer a
buyer's habit gives; the orders it placed in the same H days one year earlier are the
seasonal answer (a client that restocks every autumn). Neither compares across accounts
of different ages the way the raw 365-day count does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import count, first_value
from kam_ml.data.tables import Tables
from kam_ml.features.order_events import OrderEvents
from kam_ml.features.registry import FeatureSpec
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["SPECS", "expected_order_features"]

YEAR_DAYS = 365.0
MIN_EXPOSURE_DAYS = 30.0

SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "expected_orders_horizon",
        "Orders expected in the horizon from the account's own rate over the last year",
        "Its own rate expects only {value} order(s) in the horizon",
        fmt=".1f",
        churn_direction=-1,
    ),
    FeatureSpec(
        "orders_same_window_last_year",
        "Orders in the horizon-long window that began one year before the cutoff",
        "Only {value} order(s) in the same weeks last year",
        churn_direction=-1,
    ),
)


def expected_order_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Expected orders in the horizon and last year's same-window orders for every account.

    The window last year is ages in (365 - H, 365], the dates (T - 365, T - 365 + H]. An
    order dated T raises the expected count (exposure is unchanged) and cannot touch last
    year's window, so direction -1 holds for both.
    """
    n = history.n_accounts
    horizon = float(definition.horizon_days)
    events = OrderEvents.of(history, cutoff, definition)
    in_year = events.age <= YEAR_DAYS
    first_age = np.nan_to_num(first_value(events.codes, events.age, n))
    exposure = np.clip(first_age, MIN_EXPOSURE_DAYS, YEAR_DAYS)
    expected = count(events.codes, n, in_year) * horizon / exposure
    last_year = (events.age > YEAR_DAYS - horizon) & in_year
    return {
        "expected_orders_horizon": expected,
        "orders_same_window_last_year": count(events.codes, n, last_year),
    }
