"""What every churn report compares against: rules a manager could apply by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BASELINES", "recency_score", "rfm_score"]


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
