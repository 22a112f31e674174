"""A churn model restricted to a subset of the features, for feature-variant experiments.

``kam_ml.churn.training`` hands every model the full feature frame; this subclass keeps only the
columns it was asked for, so a variant trains, validates, registers and scores through the
same path as the default model (its ``feature_names_in_`` is the subset, which bundles and
the scoring path already honour).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kam_ml.churn.model import ChurnModel

__all__ = ["FeatureSubsetChurnModel"]


class FeatureSubsetChurnModel(ChurnModel):
    """``ChurnModel`` fitted on ``features`` only (all columns when None)."""

    def __init__(
        self,
        *,
        features: Sequence[str] | None = None,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        random_state: int = 0,
        n_jobs: int = 2,
    ) -> None:
        super().__init__(
            n_estimators=n_estimators,
            learning_rate=learning_rate,
            num_leaves=num_leaves,
            min_child_samples=min_child_samples,
            subsample=subsample,
            colsample_bytree=colsample_bytree,
            reg_lambda=reg_lambda,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        self.features = features

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, *, calibration_mask: np.ndarray | None = None
    ) -> FeatureSubsetChurnModel:
        if self.features is not None:
            unknown = [name for name in self.features if name not in X.columns]
            if unknown:
                raise ValueError(
                    f"The 'features' of FeatureSubsetChurnModel must be columns of X. "
                    f"Got unknown {unknown} instead."
                )
            X = X[list(self.features)]
        super().fit(X, y, calibration_mask=calibration_mask)
        return self
