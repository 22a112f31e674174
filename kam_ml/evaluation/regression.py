"""Regression metrics for money: absolute error for the gate, rank and bias for the report."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import spearmanr

__all__ = ["value_metrics"]


def value_metrics(actual: ArrayLike, predicted: ArrayLike) -> dict[str, float]:
    """MAE (the gate, lower is better), RMSE, Spearman rank correlation and relative bias.

    Bias is total predicted over total actual, minus one: a model can rank accounts well and
    still over-promise the book's revenue. Every key is present, NaN when it cannot be
    computed (no rows, one row, no actual revenue), so tables of several scorers line up.
    """
    truth = np.asarray(actual, dtype=np.float64)
    guess = np.asarray(predicted, dtype=np.float64)
    if len(truth) == 0:
        nan = float("nan")
        return {"mae": nan, "rmse": nan, "spearman": nan, "bias": nan}
    error = guess - truth
    spearman = float(spearmanr(guess, truth).statistic) if len(truth) > 1 else float("nan")
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "spearman": spearman,
        "bias": float(guess.sum() / truth.sum() - 1.0) if truth.sum() > 0 else float("nan"),
    }
