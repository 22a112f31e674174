"""Refit the churn model as it could have been fitted at a past date, for backtests.

A backtest at as-of T must use a model that saw nothing after T: it is fitted on the
cutoffs whose label windows end by T (``ProblemDefinition.training_cutoff_dates``), the
newest of them calibrating, exactly as ``kam_ml.churn.training`` lays them out, but with no
cutoff held back for validation (the replayed date itself is the test).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from kam_ml.churn.model import ChurnModel
from kam_ml.data.tables import Tables
from kam_ml.features import FEATURE_COLUMNS, build_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels

__all__ = ["fit_churn_as_of", "training_frame_as_of"]


def training_frame_as_of(
    tables: Tables, as_of: pd.Timestamp, definition: ProblemDefinition
) -> tuple[pd.DataFrame, np.ndarray, list[pd.Timestamp]]:
    """Feature rows and churn labels of every cutoff whose label window ends by ``as_of``."""
    cutoffs = definition.training_cutoff_dates(pd.Timestamp(as_of), tables.first_date())
    features = build_features(tables, cutoffs, definition)
    return features, churn_labels(tables, features, definition), cutoffs


def fit_churn_as_of(
    features: pd.DataFrame,
    labels: np.ndarray,
    *,
    columns: Sequence[str] = FEATURE_COLUMNS,
    make_model: Callable[[], ChurnModel] = ChurnModel,
) -> ChurnModel:
    """Fit on every cutoff in ``features`` but the newest, which calibrates."""
    newest = features["cutoff"].max()
    calibration = (features["cutoff"] == newest).to_numpy()
    return make_model().fit(features[list(columns)], labels, calibration_mask=calibration)
