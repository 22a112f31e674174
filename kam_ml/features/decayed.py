"""Exponentially decayed counts of complaints, returns and slow tickets.

Why: the 90- and 365-day windows weigh a complaint from yesterday and one from 89 days ago
alike and forget it on day 91; a decayed count lets every event fade smoothly. The half-life
is 90 days, one quarter: the shortest window the other features use and the usual horizon,
so an event one horizon old counts half and one a year old about 6%. It was chosen before
any measurement and not tuned (the demo book's own memory is about half a year). A ticket
is *slow* when it took more than 48 hours, two working days, a common service-level line.
Returns count from the day they became known, as everywhere else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import total
from kam_ml.data.tables import Tables, account_codes
from kam_ml.features.registry import FeatureSpec
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["HALF_LIFE_DAYS", "SLOW_TICKET_HOURS", "SPECS", "decayed_features"]

HALF_LIFE_DAYS = 90.0
SLOW_TICKET_HOURS = 48.0

SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "complaints_decayed",
        "Complaints, each weighted by half for every 90 days of age",
        "Recent complaints weigh {value}",
        fmt=".1f",
        churn_direction=1,
    ),
    FeatureSpec(
        "returns_decayed",
        "Returned lines by the day they became known, halved every 90 days of age",
        "Recent returns weigh {value}",
        fmt=".1f",
        churn_direction=1,
    ),
    FeatureSpec(
        "slow_tickets_decayed",
        "Tickets that took over 48 hours, halved every 90 days of age",
        "Recent slow tickets weigh {value}",
        fmt=".1f",
        churn_direction=1,
    ),
)


def decayed_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Decayed complaint, return and slow-ticket counts for every account (0 without any).

    An order dated T adds no complaint, no known return and no ticket, so none can move.
    """
    n = history.n_accounts
    events = history.interactions
    codes = account_codes(events).astype(np.intp)
    age = definition.age_days(events["event_date"], cutoff)
    kind = events["event_type"].to_numpy()
    hours = events["value"].to_numpy(dtype=np.float64)
    complaint = kind == "complaint"
    slow = (kind == "ticket") & (np.nan_to_num(hours) > SLOW_TICKET_HOURS)

    orders = history.orders
    returned = orders["returned"].to_numpy(dtype=bool)  # history_at hides unknown returns
    returned_lines = orders.loc[returned, ["order_date", "return_date", "returned"]]
    known_age = definition.age_days(definition.return_known_date(returned_lines), cutoff)
    return_codes = account_codes(orders)[returned].astype(np.intp)
    return {
        "complaints_decayed": total(codes[complaint], _weight(age[complaint]), n),
        "returns_decayed": total(return_codes, _weight(known_age), n),
        "slow_tickets_decayed": total(codes[slow], _weight(age[slow]), n),
    }


def _weight(age: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp2(-np.asarray(age, dtype=np.float64) / HALF_LIFE_DAYS))
