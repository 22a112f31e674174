"""One account's orders as (account code, age at the cutoff) pairs, for the rate features.

Why apart: the lifetime and seasonal rate features all count *orders* (lines that share a
timestamp), not lines, and each needs only codes and ages; taking them out once here keeps
every module to its own arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables, account_codes
from kam_ml.features.orders import order_starts
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["OrderEvents"]


@dataclass(frozen=True)
class OrderEvents:
    """Codes and ages (days at the end of day T) of every order known at the cutoff."""

    codes: np.ndarray
    age: np.ndarray

    @classmethod
    def of(
        cls, history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
    ) -> OrderEvents:
        orders = history.orders
        codes = account_codes(orders).astype(np.intp)
        dates = orders["order_date"].to_numpy(dtype="datetime64[ns]")
        starts = order_starts(codes, dates)
        return cls(codes[starts], definition.age_days(dates[starts], cutoff))
