"""``value_metrics``: hand-computed values, and every key present when nothing can be computed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kam_ml.evaluation.regression import value_metrics


def test_hand_computed_example() -> None:
    metrics = value_metrics(np.array([100.0, 200.0, 300.0]), np.array([110.0, 190.0, 330.0]))
    assert metrics["mae"] == pytest.approx((10 + 10 + 30) / 3)
    assert metrics["rmse"] == pytest.approx(math.sqrt((100 + 100 + 900) / 3))
    assert metrics["spearman"] == pytest.approx(1.0)
    assert metrics["bias"] == pytest.approx(630 / 600 - 1)


@pytest.mark.parametrize("rows", [0, 1])
def test_too_few_rows_give_nan_but_every_key(rows: int) -> None:
    metrics = value_metrics(np.zeros(rows), np.zeros(rows))
    assert set(metrics) == {"mae", "rmse", "spearman", "bias"}
    assert math.isnan(metrics["spearman"]) and math.isnan(metrics["bias"])  # no revenue at all
