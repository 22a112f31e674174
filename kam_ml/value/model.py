"""The account value model: expected revenue over the next 12 months if the account stays.

"Stays" uses the churn definition: the account orders again within the churn horizon.
The model is trained only on such accounts, so its prediction is E[revenue in (T, T+365d]
| not churned at T], and ``churn_probability x expected_value_12m`` is the revenue at risk.

Why a model rather than "last 12 months": the naive figure ignores trends (declining
accounts), regularity and seasonality of the order rhythm, and is blind for new accounts
whose year is not complete. Why LightGBM with a Tweedie loss rather than a BG/NBD +
Gamma-Gamma fit: revenue is a sum of a random number of skewed amounts, which is what the
Tweedie family describes; the booster also uses the service and return signals BTYD
models cannot. The choice is checked on a backtest against the naive baseline
(``kam_ml.value.training``).
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from kam_ml.boosting.estimator import BoostedEstimator, small_prediction_threads

__all__ = ["ValueModel"]


class ValueModel(RegressorMixin, BoostedEstimator):
    """Gradient-boosted regression of next-year revenue on point-in-time features.

    ``tweedie_variance_power`` is used only with the default ``objective="tweedie"``.
    ``n_jobs`` defaults to 1: LightGBM's OpenMP threads spin while they wait, and on a
    shared machine two of them fitted these sizes several times slower than one.
    """

    def __init__(
        self,
        *,
        objective: str = "tweedie",
        tweedie_variance_power: float = 1.5,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        random_state: int = 0,
        n_jobs: int = 1,
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
        self.objective = objective
        self.tweedie_variance_power = tweedie_variance_power

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ValueModel:
        """Fit on accounts that stayed; y is their revenue over the next 12 months (>= 0)."""
        y = np.asarray(y, dtype=np.float64)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
        if (y < 0).any():
            raise ValueError(
                f"ValueModel.fit needs revenue >= 0; got {int((y < 0).sum())} rows < 0."
            )
        extra: dict[str, Any] = (
            {"tweedie_variance_power": self.tweedie_variance_power}
            if self.objective == "tweedie"
            else {}
        )
        self._remember_inputs(X)
        self.booster_ = lgb.LGBMRegressor(
            objective=self.objective, **self._booster_kwargs(len(y)), **extra
        )
        self.booster_.fit(X, y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected revenue over the next 12 months if the account stays (>= 0)."""
        check_is_fitted(self, "booster_")
        X = self._prepare(X)
        return np.maximum(self.booster_.predict(X, **small_prediction_threads(len(X))), 0.0)
