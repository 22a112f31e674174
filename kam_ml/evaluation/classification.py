"""Churn metrics as pure functions of labels and scores, overall and per slice."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

__all__ = ["churn_metrics", "slice_metrics", "top_decile_lift"]


def top_decile_lift(y: np.ndarray, score: np.ndarray) -> float:
    """Churn rate among the 10% highest scores divided by the overall churn rate."""
    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.mean() == 0:
        return float("nan")
    k = max(1, int(np.ceil(len(y) * 0.1)))
    top = np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def churn_metrics(y: np.ndarray, score: np.ndarray, *, is_probability: bool) -> dict[str, float]:
    """ROC-AUC, PR-AUC and top-decile lift; Brier and log loss only for probabilities."""
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    score = np.where(np.isnan(score), np.nanmax(score) if np.isfinite(score).any() else 0, score)
    single_class = len(np.unique(y)) < 2
    metrics = {
        "roc_auc": float("nan") if single_class else float(roc_auc_score(y, score)),
        "pr_auc": float("nan") if single_class else float(average_precision_score(y, score)),
        "top_decile_lift": top_decile_lift(y, score),
    }
    if is_probability:
        clipped = np.clip(score, 1e-6, 1 - 1e-6)
        metrics["brier"] = float(brier_score_loss(y, clipped))
        metrics["log_loss"] = float(log_loss(y, clipped, labels=[0, 1]))
    return metrics


def slice_metrics(
    y: np.ndarray, score: np.ndarray, slices: pd.DataFrame, *, min_rows: int = 30
) -> pd.DataFrame:
    """Metrics per value of each slice column (segment, region, manager ...).

    Slices with fewer than ``min_rows`` rows or a single class are kept with NaN metrics,
    so a report shows they exist without pretending to measure them.
    """
    rows = []
    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    for column in slices.columns:
        values = slices[column].astype(str).to_numpy()
        for value in np.unique(values):
            mask = values == value
            enough = mask.sum() >= min_rows and len(np.unique(y[mask])) == 2
            metrics = (
                churn_metrics(y[mask], score[mask], is_probability=True)
                if enough
                else {"roc_auc": np.nan, "pr_auc": np.nan, "top_decile_lift": np.nan}
            )
            rows.append(
                {
                    "slice": column,
                    "value": value,
                    "rows": int(mask.sum()),
                    "churn_rate": float(y[mask].mean()),
                    "mean_probability": float(score[mask].mean()),
                    **metrics,
                }
            )
    return pd.DataFrame(rows)
