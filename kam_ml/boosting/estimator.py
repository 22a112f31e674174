"""The LightGBM plumbing the churn, offer and value estimators share, written once.

Each estimator owns its question (a Platt-calibrated classifier, LambdaRank over queries, a
Tweedie regression) and its explicit keyword-only ``__init__``: scikit-learn's
``get_params`` reads that signature, and each model keeps its own defaults. The rest was
the same in all three and lives here: the booster's keyword arguments from the shared
hyperparameters, the features and categories seen in ``fit``, the re-encoding of
categoricals that arrive as plain strings at predict time, the gain importances, and the
defaults that let pickles of older versions load.
"""

from __future__ import annotations

import inspect
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

__all__ = ["SMALL_PREDICTION_ROWS", "BoostedEstimator", "eval_rows", "small_prediction_threads"]

# Below this many rows a prediction runs on one thread. LightGBM scores every row alone, so
# the answer is the same for any thread count; only the cost differs: waking OpenMP's pool
# costs more than scoring a few rows (20 rows: 8 ms on two busy cores, 2 ms on one; at
# 5,000 rows one thread was still ahead on that loaded machine). A posted history is one
# row; a nightly book is millions and keeps every thread.
SMALL_PREDICTION_ROWS = 1_000

# LightGBM 4.7 renamed fit's eval_set to eval_X/eval_y and warns on the old name; the
# package supports older 4.x too, which know only eval_set.
_EVAL_X = "eval_X" in inspect.signature(lgb.LGBMModel.fit).parameters


def eval_rows(X: pd.DataFrame, y: np.ndarray) -> dict[str, Any]:
    """``fit``'s keyword arguments for one early-stopping set, in this LightGBM's spelling."""
    return {"eval_X": X, "eval_y": y} if _EVAL_X else {"eval_set": [(X, y)]}


def small_prediction_threads(rows: int) -> dict[str, Any]:
    """``predict``'s keyword arguments for ``rows`` rows: one thread for a small batch,
    nothing (the booster's own setting) for a large one."""
    return {"num_threads": 1} if rows < SMALL_PREDICTION_ROWS else {}


class BoostedEstimator(BaseEstimator):
    """Base of the kam-ml LightGBM estimators: the shared hyperparameters and fitted state.

    A subclass declares every hyperparameter in its own keyword-only ``__init__``, with its
    own defaults, and forwards the shared ones here. In ``fit`` it calls
    ``_remember_inputs(X)`` on the frame the booster learns from, builds the booster with
    ``_booster_kwargs()`` and stores it as ``booster_``; at predict time it passes rows
    through ``_prepare``.
    """

    booster_: lgb.LGBMModel
    categories_: dict[str, list[Any]]
    feature_names_in_: np.ndarray
    n_features_in_: int

    def __init__(
        self,
        *,
        n_estimators: int,
        learning_rate: float,
        num_leaves: int,
        min_child_samples: int,
        subsample: float,
        colsample_bytree: float,
        reg_lambda: float,
        random_state: int,
        n_jobs: int,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _booster_kwargs(self, rows: int | None = None) -> dict[str, Any]:
        """LightGBM's keyword arguments for the shared hyperparameters.

        ``subsample_freq=1`` because LightGBM ignores ``subsample`` unless rows are re-drawn
        every ``subsample_freq`` iterations; ``verbose=-1`` keeps its log out of the CLI.
        ``rows``, the rows the booster learns from, caps the leaf minimum at a tenth of them
        (``leaf_minimum``).
        """
        return {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.leaf_minimum(rows),
            "subsample": self.subsample,
            "subsample_freq": 1,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
            "random_state": self.random_state,
            "n_jobs": self.n_jobs,
            "verbose": -1,
        }

    def leaf_minimum(self, rows: int | None) -> int:
        """The rows a leaf must hold: ``min_child_samples``, or a tenth of ``rows`` if less.

        A leaf minimum larger than half the rows forbids every split, and the booster is a
        constant: a 9-month book of 400 accounts left the churn model 53 learning rows
        against a minimum of 50, so it scored every account 0.98 and ranked no one
        (validation ROC-AUC 0.500 vs 0.762 for recency; README "Books no one here wrote").
        The cap only binds below ten times ``min_child_samples`` rows, so a book of the
        size the defaults were chosen on trains exactly as before.
        """
        if rows is None:
            return self.min_child_samples
        return max(1, min(self.min_child_samples, rows // 10))

    def _remember_inputs(self, X: pd.DataFrame) -> None:
        """Record the columns and categories of the frame the booster is fitted on.

        ``feature_names_in_`` is what bundles and the scoring path select by;
        ``categories_`` lets ``_prepare`` rebuild the exact category codes the booster split
        on when a caller (a CSV, a JSON request) sends those columns as plain strings.
        """
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.categories_ = {
            column: list(X[column].cat.categories)
            for column in X.columns
            if isinstance(X[column].dtype, pd.CategoricalDtype)
        }

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

    @property
    def feature_importances_(self) -> pd.Series:
        """Total gain of the splits on each feature, largest first (what the reports plot)."""
        check_is_fitted(self, "booster_")
        gain = self.booster_.booster_.feature_importance(importance_type="gain")
        return pd.Series(gain, index=self.booster_.feature_name_).sort_values(ascending=False)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Load pickles of older versions: give them what this version added since.

        A hyperparameter added later takes its ``__init__`` default (which must keep the
        old behaviour), so ``get_params``, ``clone`` and refitting work on an old model;
        a fitted model from before ``categories_`` was recorded re-encodes nothing, as it
        did then.
        """
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if parameter.default is not parameter.empty:
                state.setdefault(name, parameter.default)
        if "booster_" in state:
            state.setdefault("categories_", {})
        super().__setstate__(state)
