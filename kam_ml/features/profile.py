"""Account profile features: tenure and the categorical region and segment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.features.registry import FeatureSpec
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["CATEGORICAL_FEATURES", "SPECS", "profile_features"]

CATEGORICAL_FEATURES = ("region", "segment")

SPECS: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "tenure_days",
        "Days since the relationship started",
        "Account opened {value} days ago",
        context=True,
    ),
    FeatureSpec("region", "Sales region", "Region {value}", categorical=True, context=True),
    FeatureSpec("segment", "Customer segment", "Segment {value}", categorical=True, context=True),
)


def profile_features(
    history: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> dict[str, np.ndarray]:
    """Tenure, region and segment for every account; the labels stay strings here and
    ``build_features`` makes them categoricals over the whole book, so cutoffs share codes."""
    accounts = history.accounts
    return {
        "tenure_days": np.floor(definition.age_days(accounts["signup_date"], cutoff)),
        "region": accounts["region"].astype(str).to_numpy(dtype=object),
        "segment": accounts["segment"].astype(str).to_numpy(dtype=object),
    }
