"""The value model beats "next year = last 12 months" on a 12-month backtest."""

from __future__ import annotations

import numpy as np


def test_value_model_beats_the_naive_baseline(value_result):
    model, naive = value_result.metrics["model"], value_result.metrics["naive_last_12m"]
    assert model["mae"] < 0.9 * naive["mae"], (model, naive)
    assert model["spearman"] > naive["spearman"] + 0.03, (model, naive)


def test_backtest_windows_never_overlap_validation(value_result):
    split, layout = value_result.split, value_result.layout
    first_validation = split.validation_cutoffs[0]
    assert all(layout.label_window_end(c) <= first_validation for c in split.train_cutoffs)
    assert layout.horizon_days == 365
    assert len(value_result.validation) > 1000


def test_predictions_are_non_negative_and_unbiased(value_result):
    v = value_result.validation
    assert (v["expected_value"] >= 0).all()
    assert abs(value_result.metrics["model"]["bias"]) < 0.15
    top = v["expected_value"] >= np.quantile(v["expected_value"], 0.9)
    assert v.loc[top, "revenue_next_12m"].mean() > 3 * v["revenue_next_12m"].mean()
