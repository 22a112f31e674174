"""The scoring population: accounts active at a cutoff (>= 1 order in the active window)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.aggregate import last_value
from kam_ml.data.tables import Tables, account_codes
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["active_account_positions"]


def active_account_positions(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> np.ndarray:
    """Positions in ``history.accounts`` of the accounts active at ``cutoff``.

    ``history`` must already be cut at ``cutoff`` and sorted (see ``tables``).
    """
    orders = history.orders
    age = definition.age_days(orders["order_date"], cutoff)
    last_age = last_value(account_codes(orders).astype(np.intp), age, history.n_accounts)
    return np.flatnonzero(last_age <= definition.active_window_days)
