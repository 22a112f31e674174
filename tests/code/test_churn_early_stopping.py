"""The churn booster keeps as many rounds as the calibration rows (the newest cutoff) support."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.churn.model import ChurnModel


def _rows(signal: float, n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    logit = signal * (X["x1"] + np.sin(3 * X["x2"]))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def test_noise_keeps_few_rounds_and_signal_keeps_more():
    X, y = _rows(signal=0.0)
    noise = ChurnModel(n_estimators=400).fit(X, y)
    X, y = _rows(signal=2.0)
    signal = ChurnModel(n_estimators=400).fit(X, y)
    assert noise.n_trees_ < 60
    assert signal.n_trees_ > noise.n_trees_
    # the fitted booster holds exactly the rounds kept: predictions use every tree
    assert signal.booster_.booster_.num_trees() == signal.n_trees_


def test_without_early_stopping_every_round_is_kept():
    X, y = _rows(signal=0.0)
    model = ChurnModel(n_estimators=40, early_stopping_rounds=None).fit(X, y)
    assert model.n_trees_ == 40
    assert model.booster_.booster_.num_trees() == 40
