"""The scikit-learn contract, checked the same way for the churn, offer and value estimators.

All three share ``kam_ml.boosting.estimator.BoostedEstimator``; these tests pin what callers
rely on whichever model they hold: a named error before ``fit``, deterministic fits, a
joblib round trip that predicts identically (bundles and MLflow are pickles), and
hyperparameters that ``get_params`` / ``set_params`` / ``clone`` carry unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from kam_ml.boosting.estimator import SMALL_PREDICTION_ROWS
from kam_ml.churn.model import ChurnModel
from kam_ml.offers.ranker import OfferRanker
from kam_ml.value.model import ValueModel

SMALL: dict[str, Any] = {"n_estimators": 20, "num_leaves": 4, "min_child_samples": 10, "n_jobs": 1}
CUTOFFS = pd.to_datetime(["2026-01-31", "2026-03-02", "2026-04-01"])
Data = tuple[pd.DataFrame, np.ndarray]
Case = tuple[type[BaseEstimator], Callable[[int], Data]]  # the class, its data
Fitting = tuple[BaseEstimator, pd.DataFrame, np.ndarray]  # an unfitted model, X, y


def _frame(seed: int, index: pd.Index | None = None, rows: int = 600) -> pd.DataFrame:
    """A numeric signal, noise and a categorical column, as the feature frames carry them."""
    rng = np.random.default_rng(seed)
    rows = rows if index is None else len(index)
    return pd.DataFrame(
        {
            "signal": rng.normal(size=rows),
            "noise": rng.normal(size=rows),
            "segment": pd.Categorical(rng.choice(["gold", "silver", "bronze"], size=rows)),
        },
        index=index,
    )


def _churn_data(seed: int) -> Data:
    X = _frame(seed)
    y = (X["signal"] + np.random.default_rng(seed + 1).normal(size=len(X)) > 0.5).astype(int)
    return X, y.to_numpy()


def _offer_data(seed: int) -> Data:
    index = pd.MultiIndex.from_product(
        [CUTOFFS, [f"A{i:03d}" for i in range(40)], ["c0", "c1", "c2", "c3", "c4"]],
        names=["cutoff", "account_id", "category"],
    )
    X = _frame(seed, index)
    chance = 1 / (1 + np.exp(-(2.0 * X["signal"].to_numpy() - 1.5)))
    return X, (np.random.default_rng(seed + 1).random(len(X)) < chance).astype(int)


def _value_data(seed: int) -> Data:
    X = _frame(seed)
    noise = np.random.default_rng(seed + 1).gamma(2.0, 50.0, size=len(X))
    return X, np.exp(X["signal"].to_numpy()) * noise


CASES: dict[str, Case] = {
    "churn": (ChurnModel, _churn_data),
    "offers": (OfferRanker, _offer_data),
    "value": (ValueModel, _value_data),
}


def _outputs(model: BaseEstimator, X: pd.DataFrame) -> np.ndarray:
    """Everything the model predicts, side by side, so one comparison covers all of it."""
    columns = [np.asarray(model.predict(X), dtype=np.float64)]
    if hasattr(model, "predict_proba"):
        columns.append(model.predict_proba(X)[:, 1])
    return np.column_stack(columns)


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest, seed: int) -> Fitting:
    estimator, make_data = CASES[request.param]
    X, y = make_data(seed)
    return estimator(**SMALL), X, y


def test_not_fitted_is_sklearns_error(case: Fitting) -> None:
    model, X, _ = case
    with pytest.raises(NotFittedError):
        model.predict(X)
    with pytest.raises(NotFittedError):
        model.feature_importances_  # noqa: B018
    if hasattr(model, "predict_proba"):
        with pytest.raises(NotFittedError):
            model.predict_proba(X)


def test_fit_returns_self_and_fitting_twice_predicts_the_same(
    case: Fitting,
) -> None:
    model, X, y = case
    assert model.fit(X, y) is model
    first = _outputs(model, X)
    np.testing.assert_array_equal(_outputs(model.fit(X, y), X), first)
    np.testing.assert_array_equal(_outputs(clone(model).fit(X, y), X), first)
    assert list(model.feature_names_in_) == list(X.columns)
    assert set(model.feature_importances_.index) == set(X.columns)


def test_joblib_round_trip_predicts_identically(case: Fitting, tmp_path: Path) -> None:
    model, X, y = case
    model.fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(model, X))
    pd.testing.assert_series_equal(loaded.feature_importances_, model.feature_importances_)


def test_get_params_and_set_params_round_trip(
    case: Fitting,
) -> None:
    model, _, _ = case
    params = model.get_params()
    assert {k: params[k] for k in SMALL} == SMALL
    assert type(model)(**params).get_params() == params
    assert clone(model).get_params() == params
    assert model.set_params(num_leaves=7, learning_rate=0.1) is model
    assert model.get_params() == params | {"num_leaves": 7, "learning_rate": 0.1}


def test_categoricals_sent_as_plain_strings_score_the_same(
    case: Fitting,
) -> None:
    """A CSV or a JSON request carries ``segment`` as text; the fitted categories re-encode it."""
    model, X, y = case
    model.fit(X, y)
    plain = X.assign(segment=X["segment"].astype(str))
    np.testing.assert_array_equal(_outputs(model, plain), _outputs(model, X))


def test_churn_model_on_a_feature_subset(seed: int) -> None:
    """``features`` (what ``FeatureSubsetChurnModel`` was) fits on those columns only."""
    X, y = _churn_data(seed)
    model = ChurnModel(features=["signal", "segment"], **SMALL).fit(X, y)
    assert list(model.feature_names_in_) == ["signal", "segment"]
    alone = ChurnModel(**SMALL).fit(X[["signal", "segment"]], y)
    np.testing.assert_array_equal(_outputs(model, X), _outputs(alone, X))
    with pytest.raises(ValueError, match=r"'features' of ChurnModel must be columns of X"):
        ChurnModel(features=["signal", "nope"], **SMALL).fit(X, y)


def test_a_small_batch_scores_as_it_does_inside_a_large_one(case: Fitting) -> None:
    """Small batches predict on one thread (``small_prediction_threads``), large ones on
    the booster's two: the rows of a posted history must score as they do in the night."""
    model, X, y = case
    model.set_params(n_jobs=2).fit(X, y)
    repeats = -(-SMALL_PREDICTION_ROWS // len(X))
    large = pd.concat([X] * repeats)
    assert len(large) >= SMALL_PREDICTION_ROWS > len(X.head(20))
    np.testing.assert_array_equal(_outputs(model, X.head(20)), _outputs(model, large)[:20])
    if isinstance(model, ChurnModel):
        np.testing.assert_array_equal(
            model.contributions(X.head(20)).to_numpy(),
            model.contributions(large).to_numpy()[:20],
        )
