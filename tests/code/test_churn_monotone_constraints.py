"""The monotone churn model's rules: directions declared on specs, applied per fitted column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.model import ChurnModel
from kam_ml.features import FeatureSpec
from kam_ml.registry.bundle import BundleTrust, load_bundle

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "pre-move-bundles"


def _book(seed: int, n: int = 2000) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk rises with recency, with a bump the free model would learn and the rule forbids."""
    rng = np.random.default_rng(seed)
    recency = rng.uniform(0, 365, n)
    orders = rng.integers(0, 12, n).astype(float)
    bump = np.where((recency > 100) & (recency < 140), -2.0, 0.0)  # a dip against the rule
    logit = recency / 60 - orders / 3 + bump - 1
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(
        {
            "days_since_last_order": recency,
            "orders_90d": orders,
            "mean_gap_days": rng.uniform(5, 90, n),
        }
    )
    return frame, churned


def test_a_monotone_model_never_lowers_risk_as_recency_grows(seed: int) -> None:
    X, y = _book(seed)
    model = ChurnModel(features=["days_since_last_order", "orders_90d"], n_estimators=60)
    model.fit(X, y)
    grid = pd.DataFrame({"days_since_last_order": np.arange(0.0, 365.0), "orders_90d": 3.0})
    risk = model.predict_proba(grid)[:, 1]
    assert (np.diff(risk) >= -1e-12).all()
    more_orders = grid.assign(orders_90d=grid["orders_90d"] + 5)
    assert (model.predict_proba(more_orders)[:, 1] <= risk + 1e-12).all()
    assert model.monotone_constraints_ == {"days_since_last_order": 1, "orders_90d": -1}


def test_either_way_features_are_left_out_unless_the_model_is_free(seed: int) -> None:
    X, y = _book(seed)
    assert "mean_gap_days" not in ChurnModel(n_estimators=5).fit(X, y).feature_names_in_
    free = ChurnModel(n_estimators=5, monotone=False).fit(X, y)
    assert "mean_gap_days" in free.feature_names_in_
    assert set(free.monotone_constraints_.values()) == {0}
    named = ChurnModel(features=["orders_90d", "mean_gap_days"], n_estimators=5).fit(X, y)
    assert list(named.feature_names_in_) == ["orders_90d"]


def test_a_missing_overdue_ratio_ranks_as_the_riskiest(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ratio = rng.uniform(0, 5, 2000)
    X = pd.DataFrame({"overdue_ratio": np.where(rng.random(2000) < 0.2, np.nan, ratio)})
    y = (rng.random(2000) < np.where(np.isnan(X["overdue_ratio"]), 0.2, ratio / 6)).astype(int)
    model = ChurnModel(n_estimators=40).fit(X, y)
    risk = model.predict_proba(pd.DataFrame({"overdue_ratio": [0.0, 5.0, np.nan]}))[:, 1]
    assert risk[2] >= risk[1] >= risk[0]


def test_a_pre_constraint_pickle_loads_as_free() -> None:
    model = load_bundle(FIXTURES / "kam-churn", trust=BundleTrust(allow_unverified=True)).model
    assert model.get_params()["monotone"] is False
    assert model.missing_fill_ == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"categorical": True, "churn_direction": 1}, "categorical feature 'x' must be 0"),
        ({"either_way": True, "churn_direction": -1}, "either-way feature 'x' must be 0"),
        ({"missing_is_riskiest": True}, "needs a churn_direction of -1 or 1"),
    ],
)
def test_a_spec_refuses_directions_it_cannot_keep(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeatureSpec("x", "X", "{value}", **kwargs)
