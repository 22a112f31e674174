"""What every churn report compares against: rules a manager could apply by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.evaluation.classification import churn_metrics

__all__ = [
    "BASELINES",
    "NO_ORDER_RULE_DAYS",
    "best_no_order_rule",
    "no_order_rule",
    "recency_score",
    "rfm_score",
]


def recency_score(features: pd.DataFrame) -> np.ndarray:
    """Days since the last order: the longer, the likelier churn."""
    return features["days_since_last_order"].to_numpy(dtype=np.float64)


def rfm_score(features: pd.DataFrame) -> np.ndarray:
    """Classic RFM: quintiles of recency, frequency and monetary value, summed.

    Quintiles are taken within each cutoff so stacked cutoffs stay comparable; a high sum
    means a good customer, so the churn score is its negative.
    """

    def quintile(column: str, ascending: bool) -> pd.Series:
        ranks = features.groupby("cutoff")[column].rank(pct=True, ascending=ascending)
        return np.ceil(ranks.fillna(0.0) * 5)

    total = (
        quintile("days_since_last_order", ascending=False)
        + quintile("orders_365d", ascending=True)
        + quintile("revenue_365d", ascending=True)
    )
    return -total.to_numpy(dtype=np.float64)


BASELINES = {"recency": recency_score, "rfm": rfm_score}


NO_ORDER_RULE_DAYS = (30, 60, 90, 120, 180, 270)


def no_order_rule(features: pd.DataFrame, days: int) -> np.ndarray:
    """The manager's rule "no order in the last ``days`` days": 1 flags churn risk."""
    return (features["days_since_last_order"].to_numpy(dtype=np.float64) > days).astype(np.int8)


def best_no_order_rule(
    features: pd.DataFrame, labels: np.ndarray, candidates: tuple[int, ...] = NO_ORDER_RULE_DAYS
) -> tuple[int, np.ndarray]:
    """The N whose "no order in N days" rule has the best ROC-AUC on these rows, and its flags.

    Chosen on the very rows it is judged on: the strongest version of the rule a manager
    could have picked in hindsight, so a model that beats it beats every N.
    """

    def auc(days: int) -> float:
        value = churn_metrics(labels, no_order_rule(features, days), is_probability=False)
        return -1.0 if np.isnan(value["roc_auc"]) else value["roc_auc"]

    best = max(candidates, key=auc)
    return best, no_order_rule(features, best)
