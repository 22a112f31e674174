"""Churn model plots, drawn on bare matplotlib Figures (no pyplot state, no backend set)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

__all__ = ["churn_plots", "importance_plot"]


def churn_plots(validation: pd.DataFrame, importance: pd.Series) -> dict[str, Figure]:
    """ROC, PR, calibration, cumulative lift and feature importance, keyed by file stem."""
    y = validation["churned"].to_numpy()
    scores = {"model": validation["churn_probability"].to_numpy()}
    for column in validation.columns:
        if column.startswith("baseline_"):
            scores[column.removeprefix("baseline_")] = validation[column].to_numpy()
    return {
        "roc_curve": _roc(y, scores),
        "pr_curve": _pr(y, scores),
        "calibration": _calibration(y, scores["model"]),
        "lift_curve": _lift(y, scores),
        "feature_importance": importance_plot(importance),
    }


def _axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, object]:
    figure = Figure(figsize=(6, 4.5), dpi=100)
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return figure, axes


def _roc(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    figure, axes = _axes(
        "ROC curve (validation cutoffs)", "False positive rate", "True positive rate"
    )
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y, np.nan_to_num(score, nan=np.nanmax(score)))
        axes.plot(fpr, tpr, label=name)
    axes.plot([0, 1], [0, 1], "k--", lw=0.8)
    axes.legend()
    return figure


def _pr(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    figure, axes = _axes("Precision-recall (validation cutoffs)", "Recall", "Precision")
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(y, np.nan_to_num(score, nan=np.nanmax(score)))
        axes.plot(recall, precision, label=name)
    axes.axhline(y.mean(), color="k", ls="--", lw=0.8, label="base rate")
    axes.legend()
    return figure


def _calibration(y: np.ndarray, probability: np.ndarray) -> Figure:
    figure, axes = _axes("Calibration", "Predicted churn probability", "Observed churn rate")
    observed, predicted = calibration_curve(y, probability, n_bins=10, strategy="quantile")
    axes.plot(predicted, observed, "o-", label="model")
    axes.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    axes.legend()
    return figure


def _lift(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    figure, axes = _axes("Cumulative lift", "Share of accounts contacted (by score)", "Lift")
    share = np.arange(1, len(y) + 1) / len(y)
    for name, score in scores.items():
        order = np.argsort(-np.nan_to_num(score, nan=np.nanmax(score)), kind="stable")
        captured = np.cumsum(y[order]) / np.arange(1, len(y) + 1)
        axes.plot(share, captured / max(y.mean(), 1e-12), label=name)
    axes.axhline(1.0, color="k", ls="--", lw=0.8)
    axes.legend()
    return figure


def importance_plot(
    importance: pd.Series, title: str = "Feature importance (gain)", top: int = 20
) -> Figure:
    """Horizontal bars of the ``top`` features by gain; shared by every model report."""
    shown = importance.head(top).iloc[::-1]
    figure = Figure(figsize=(6, 0.3 * len(shown) + 1.2), dpi=100)
    axes = figure.add_subplot()
    axes.barh(shown.index, shown.to_numpy())
    axes.set_title(title)
    figure.tight_layout()
    return figure
