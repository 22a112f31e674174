"""Decision-path contributions: exact additivity, batch independence, a planted signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.contributions import path_explainer
from kam_ml.churn.model import ChurnModel


@pytest.fixture(scope="module")
def fitted() -> tuple[ChurnModel, pd.DataFrame]:
    rng = np.random.default_rng(11)
    n = 3000
    X = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "region": pd.Categorical(rng.choice(["EMEA", "AMER"], size=n)),
        }
    )
    y = (X["signal"] + 0.3 * rng.normal(size=n) > 0.5).astype(int).to_numpy()
    model = ChurnModel(n_estimators=60, num_leaves=7, min_child_samples=20).fit(X, y)
    return model, X


def test_contributions_add_up_to_the_raw_score(fitted):
    model, X = fitted
    contributions = model.contributions(X)
    explainer = path_explainer(model.booster_.booster_)
    raw = model.booster_.predict(X, raw_score=True)
    np.testing.assert_allclose(contributions.sum(axis=1) + explainer.bias_, raw, atol=1e-9)
    leaves = explainer.leaves(model._prepare(X))
    np.testing.assert_allclose(explainer.raw_score(leaves), raw, atol=1e-9)


def test_a_row_gets_the_same_contributions_alone_or_in_a_batch(fitted):
    model, X = fitted
    batch = model.contributions(X).iloc[[17]]
    alone = model.contributions(X.iloc[[17]])
    pd.testing.assert_frame_equal(batch, alone)


def test_the_planted_signal_dominates_like_it_does_in_treeshap(fitted):
    model, X = fitted
    path = model.contributions(X).abs().mean()
    shap = model.contributions(X, method="treeshap").abs().mean()
    assert path.idxmax() == shap.idxmax() == "signal"
    assert path["signal"] > 5 * path["noise"]


def test_an_unknown_method_is_refused_by_name(fitted):
    model, X = fitted
    with pytest.raises(ValueError, match="'method' of ChurnModel.contributions"):
        model.contributions(X, method="lime")
