"""The churn-risk model: LightGBM on point-in-time features, Platt-calibrated on later data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from kam_ml.boosting.estimator import BoostedEstimator, eval_rows, small_prediction_threads
from kam_ml.churn.contributions import path_explainer
from kam_ml.features.build import ALL_FEATURES as FEATURES

__all__ = ["ChurnModel"]


class ChurnModel(ClassifierMixin, BoostedEstimator):
    """Gradient-boosted churn classifier with probability calibration.

    The booster learns from the older training cutoffs; a logistic (Platt) map from its
    log-odds to probabilities is fitted on the newest training cutoff, which the booster
    never saw. Platt scaling keeps the booster's ranking (so reasons and AUC stay the
    booster's) while making ``churn_probability`` mean what it says.

    ``features`` restricts the model to those columns of ``X`` (all when None), for
    feature-variant experiments: ``kam_ml.churn.training`` hands every model the full
    feature frame, and a variant still trains, validates, registers and scores through that
    one path, because its ``feature_names_in_`` is the subset, which bundles and the scoring
    path select by.

    ``n_jobs`` defaults to 2, unlike the offer and value models' 1: those two were measured
    slower with two spinning OpenMP threads on a shared machine and moved to 1; the churn
    model was not re-measured, and every kam-churn version so far (and the training
    benchmark in ``bench/``) was fitted with 2, so its default stays.

    ``monotone`` (default True) is the promise that an order never raises an account's
    risk: a manager who sees risk rise the day after an order stops trusting the list. The
    booster is constrained (LightGBM's ``monotone_constraints``) to each feature's
    registered ``churn_direction`` (more days without an order never lowers risk, more
    recent orders or revenue never raise it), a missing value of a ``missing_is_riskiest``
    feature is ranked at its risky end, and the ``either_way`` features (averages and gap
    statistics that an order can move up or down) are left out, also from ``features``
    (so a variant over a list of columns still trains; ``feature_names_in_`` says what was
    used). Columns outside the registry are left free. The ROC-AUC this costs is
    measured in the README. ``monotone_constraints_method`` is LightGBM's ("basic"
    over-constrains, "advanced" is slowest). A pickle from before these existed was fitted
    free on every column and loads with ``monotone=False``, so ``get_params`` and a refit
    tell the truth about it.
    """

    def __init__(
        self,
        *,
        features: Sequence[str] | None = None,
        n_estimators: int = 1000,
        early_stopping_rounds: int | None = 50,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 50,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        random_state: int = 0,
        n_jobs: int = 2,
        monotone: bool = True,
        monotone_constraints_method: Literal["basic", "intermediate", "advanced"] = (
            "intermediate"
        ),
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
        self.early_stopping_rounds = early_stopping_rounds
        self.monotone = monotone
        self.monotone_constraints_method = monotone_constraints_method

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, *, calibration_mask: np.ndarray | None = None
    ) -> ChurnModel:
        """Fit the booster on rows outside ``calibration_mask`` and calibrate on the rest.

        Without a mask the last fifth of the rows calibrates (callers pass rows in time
        order; ``kam_ml.churn.training`` passes the newest cutoff explicitly).
        """
        if self.features is not None:
            unknown = [name for name in self.features if name not in X.columns]
            if unknown:
                raise ValueError(
                    f"The 'features' of ChurnModel must be columns of X. "
                    f"Got unknown {unknown} instead."
                )
            X = X[list(self.features)]
        if self.monotone:
            X = self._without_either_way(X)
        y = np.asarray(y).astype(int)
        if calibration_mask is None:
            calibration_mask = np.zeros(len(X), dtype=bool)
            calibration_mask[int(len(X) * 0.8) :] = True
        calibration_mask = np.asarray(calibration_mask, dtype=bool)
        if calibration_mask.all() or not calibration_mask.any():
            raise ValueError("ChurnModel.fit needs rows both to train and to calibrate on.")
        self._remember_inputs(X)
        self.missing_fill_ = self._missing_fill(X)
        learn = self._prepare(X.loc[~calibration_mask]), y[~calibration_mask]
        held = self._prepare(X.loc[calibration_mask]), y[calibration_mask]
        self.n_trees_ = self._tree_count(X, learn, held)
        kwargs = {**self._booster_kwargs(len(learn[1])), **self._monotone_kwargs(X)}
        self.booster_ = lgb.LGBMClassifier(**{**kwargs, "n_estimators": self.n_trees_})
        self.booster_.fit(*learn)
        raw = self._raw_score(X.loc[calibration_mask])
        self.calibrator_ = LogisticRegression(C=1e6).fit(raw[:, None], y[calibration_mask])
        self.classes_ = np.array([0, 1])
        return self

    def _tree_count(
        self,
        X: pd.DataFrame,
        learn: tuple[pd.DataFrame, np.ndarray],
        held: tuple[pd.DataFrame, np.ndarray],
    ) -> int:
        """How many boosting rounds to keep: early-stopped on the calibration rows.

        A fixed 300 rounds overfitted on every book measured (the demo, the buy-till-you-die
        book, CDNOW: fewer rounds scored better on all three), and the right count grows
        with the book, so it is found per fit. The calibration rows are the newest cutoff,
        which the booster never learns from, so the count is judged out of time; the
        booster is then fitted again with exactly that many rounds, so that every tree it
        holds is one its predictions and explanations use.
        """
        if self.early_stopping_rounds is None or len(np.unique(held[1])) < 2:
            return self.n_estimators
        probe = lgb.LGBMClassifier(
            **self._booster_kwargs(len(learn[1])), **self._monotone_kwargs(X), metric="auc"
        )
        stop = lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)
        probe.fit(*learn, **eval_rows(*held), callbacks=[stop])
        return max(int(probe.best_iteration_ or self.n_estimators), 1)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns: P(stays), P(churns in the horizon)."""
        check_is_fitted(self, "calibrator_")
        churn = self.calibrator_.predict_proba(self._raw_score(X)[:, None])[:, 1]
        return np.column_stack([1.0 - churn, churn])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the calibrated churn probability is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame, method: str = "path") -> pd.DataFrame:
        """Per-row, per-feature contributions to the booster's log-odds of churn.

        ``method="path"`` (default) is decision-path attribution (``kam_ml.churn.contributions``:
        ~100x faster than TreeSHAP, exactly additive, the same for a row alone or in a
        batch); ``method="treeshap"`` is LightGBM's exact TreeSHAP (~700 rows/s).
        """
        check_is_fitted(self, "booster_")
        if method == "treeshap":
            contrib = self.booster_.predict(self._prepare(X), pred_contrib=True)
            values = np.asarray(contrib)[:, :-1]  # the last column is the bias
        elif method == "path":
            values = path_explainer(self.booster_.booster_).explain(self._prepare(X))
        else:
            raise ValueError(
                f"The 'method' of ChurnModel.contributions must be 'path' or 'treeshap'. "
                f"Got {method!r} instead."
            )
        return pd.DataFrame(values, columns=list(self.feature_names_in_), index=X.index)

    @property
    def monotone_constraints_(self) -> dict[str, int]:
        """The direction each fitted column was constrained to (0 = free)."""
        check_is_fitted(self, "booster_")
        constraints = self.booster_.get_params().get("monotone_constraints")
        if constraints is None:
            return dict.fromkeys(self.feature_names_in_, 0)
        return dict(zip(self.feature_names_in_, constraints, strict=True))

    def _without_either_way(self, X: pd.DataFrame) -> pd.DataFrame:
        """``X`` without the features an order can move either way (see the class docstring)."""
        either_way = [c for c in X.columns if c in FEATURES and FEATURES[c].either_way]
        return X.drop(columns=either_way)

    def _missing_fill(self, X: pd.DataFrame) -> dict[str, float]:
        """Where missing values sit on a constrained axis: its risky end (+-inf)."""
        if not self.monotone:
            return {}
        return {
            name: float(np.inf * FEATURES[name].churn_direction)
            for name in X.columns
            if name in FEATURES and FEATURES[name].missing_is_riskiest
        }

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """The base class's selection and re-encoding, then the missing values placed."""
        X = super()._prepare(X)
        fill = {name: value for name, value in self.missing_fill_.items() if X[name].isna().any()}
        return X.fillna(fill) if fill else X

    def _monotone_kwargs(self, X: pd.DataFrame) -> dict[str, Any]:
        """LightGBM's monotone constraints for the columns of ``X``, in their order."""
        if not self.monotone:
            return {}
        directions = [
            FEATURES[name].churn_direction if name in FEATURES else 0 for name in X.columns
        ]
        if not any(directions):
            return {}
        return {
            "monotone_constraints": directions,
            "monotone_constraints_method": self.monotone_constraints_method,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A pickle from before the constraints was fitted free, so it loads as free."""
        state.setdefault("monotone", False)
        state.setdefault("early_stopping_rounds", None)
        if "booster_" in state:
            state.setdefault("missing_fill_", {})
            state.setdefault("n_trees_", state.get("n_estimators", 300))
        super().__setstate__(state)

    def _raw_score(self, X: pd.DataFrame) -> np.ndarray:
        X = self._prepare(X)
        return np.asarray(
            self.booster_.predict(X, raw_score=True, **small_prediction_threads(len(X)))
        )
