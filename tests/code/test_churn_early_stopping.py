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


def test_a_book_of_a_few_dozen_rows_still_ranks():
    """53 learning rows against a leaf minimum of 50 allowed no split: the booster was a
    constant, and a 9-month book scored every account the same (README "Books no one here
    wrote"). The leaf minimum is capped at a tenth of the learning rows."""
    X, y = _rows(signal=3.0, n=70, seed=1)
    calibration = np.arange(70) >= 53  # 53 learn, 17 calibrate, as on that book
    model = ChurnModel(n_estimators=40, early_stopping_rounds=None)
    model.fit(X, y, calibration_mask=calibration)
    assert model.booster_.get_params()["min_child_samples"] == 5
    assert len(np.unique(model.predict_proba(X)[:, 1])) > 5
    X, y = _rows(signal=3.0, n=4000)
    assert ChurnModel().leaf_minimum(len(y)) == 50  # a real book: the default, unchanged
