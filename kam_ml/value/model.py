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

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["ValueModel"]


class ValueModel(RegressorMixin, BaseEstimator):
    """Gradient-boosted regression of next-year revenue on point-in-time features.

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
        self.objective = objective
        self.tweedie_variance_power = tweedie_variance_power
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> ValueModel:
        y = np.asarray(y, dtype=np.float64)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
        if (y < 0).any():
            raise ValueError(
                f"ValueModel.fit needs revenue >= 0; got {int((y < 0).sum())} rows < 0."
            )
        extra = (
            {"tweedie_variance_power": self.tweedie_variance_power}
            if self.objective == "tweedie"
            else {}
        )
        self.booster_ = lgb.LGBMRegressor(
            objective=self.objective,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=1,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            verbose=-1,
            **extra,
        )
        self.categories_ = {
            column: list(X[column].cat.categories)
            for column in X.columns
            if isinstance(X[column].dtype, pd.CategoricalDtype)
        }
        self.booster_.fit(X, y)
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected revenue over the next 12 months if the account stays (>= 0)."""
        check_is_fitted(self, "booster_")
        return np.maximum(self.booster_.predict(self._prepare(X)), 0.0)

    @property
    def feature_importances_(self) -> pd.Series:
        check_is_fitted(self, "booster_")
        gain = self.booster_.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.booster_.feature_name_).sort_values(ascending=False)

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """Select the fitted features; re-encode categoricals that arrive as plain strings."""
        X = X[list(self.feature_names_in_)]
        plain = [c for c in self.categories_ if not isinstance(X[c].dtype, pd.CategoricalDtype)]
        if plain:
            X = X.assign(
                **{
                    c: pd.Categorical(X[c].astype(str), categories=self.categories_[c])
                    for c in plain
                }
            )
        return X
