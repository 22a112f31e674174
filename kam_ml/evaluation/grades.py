"""The grade scale: A, B or C from a model's margin over the best naive rule on the same rows.

One scale for every model, so a manager reads "B" the same way for churn, offers and value:

A  the model beats the best naive rule by at least ``GradeThresholds.a`` of the graded
   metric (churn: 0.05 ROC-AUC; offers: 0.05 NDCG@k; value: 5 points of MAE reduction).
   Use the list.
B  it beats it by at least ``GradeThresholds.b`` (0.02): useful, but check the slices
   before relying on it.
C  less than that: no better than the rule; use the rule, and investigate.

A leakage alarm overrides any grade with ``blocked``: the metrics cannot be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["DEFAULT_THRESHOLDS", "GRADE_MEANING", "Grade", "GradeThresholds", "grade"]


@dataclass(frozen=True)
class GradeThresholds:
    """Margins over the best naive baseline, in the graded metric's own units."""

    a: float = 0.05
    b: float = 0.02


DEFAULT_THRESHOLDS = GradeThresholds()

GRADE_MEANING = {
    "A": "clearly better than any simple rule: use the list",
    "B": "better than a simple rule, but check the slices before relying on it",
    "C": "no better than a simple rule: use the rule and investigate the model",
    "blocked": "a leakage alarm fired: the metrics cannot be trusted",
}


class Grade(NamedTuple):
    """A grade and the comparison behind it, e.g. ``("B", "ndcg_at_3 0.470 vs 0.440 ...")``.

    A tuple, so ``letter, basis = offers_grade(metrics)`` keeps working.
    """

    letter: str
    basis: str


def grade(
    model_score: float,
    baseline_score: float,
    *,
    higher_is_better: bool = True,
    thresholds: GradeThresholds = DEFAULT_THRESHOLDS,
    blocked: bool = False,
) -> str:
    """A, B or C from the model's margin over the baseline ("blocked" when leakage fired)."""
    if blocked:
        return "blocked"
    if not (np.isfinite(model_score) and np.isfinite(baseline_score)):
        return "C"
    margin = model_score - baseline_score if higher_is_better else baseline_score - model_score
    if margin >= thresholds.a:
        return "A"
    return "B" if margin >= thresholds.b else "C"
