"""The cutoff's month: the season the horizon starts in (a candidate only).

Why: a book with a strong seasonal peak churns at different base rates by month; every
row of one cutoff shares the value, so it can only shift the base rate and its
interactions with the account features, never rank accounts of one cutoff by itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.features.registry import FeatureSpec
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["SPECS", "calendar_features"]

SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "cutoff_month",
        "Month of the cutoff (1-12), the season the horizon starts in",
        "Scored in month {value}",
    ),
)


def calendar_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """The same month for every account; an order cannot move it."""
    return {"cutoff_month": np.full(history.n_accounts, float(pd.Timestamp(cutoff).month))}
