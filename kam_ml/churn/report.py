"""The churn model report a person reads: KPIs, metrics vs baselines, slices and plots.

The ROC, precision-recall, calibration and lift figures are churn's own, so they live
here; the page, the importance plot and the table files come from ``kam_ml.reporting``.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from kam_ml.churn.training import ChurnTrainingResult
from kam_ml.reporting.figures import axes, importance_plot
from kam_ml.reporting.html import Section, importance_table, metrics_table, write_model_report

__all__ = ["churn_plots", "validation_kpis", "write_churn_report"]


def validation_kpis(result: ChurnTrainingResult) -> dict[str, float]:
    """Key-account KPIs over the validation cutoffs, in the business's own terms."""
    validation = result.validation
    lost = validation["churned"] == 1
    revenue = validation["revenue_365d"].fillna(0.0)
    k = max(1, int(np.ceil(len(validation) * 0.1)))
    top = validation["churn_probability"].rank(ascending=False, method="first") <= k
    lost_revenue = float(revenue[lost].sum())
    return {
        "retention_rate": float(1.0 - lost.mean()),
        "revenue_365d_of_churned_accounts": lost_revenue,
        "share_of_lost_revenue_in_top_decile": (
            float(revenue[lost & top].sum() / lost_revenue) if lost_revenue > 0 else float("nan")
        ),
        "accounts_validated": float(len(validation)),
    }


def write_churn_report(result: ChurnTrainingResult, out_dir: Path) -> Path:
    """Write plots (PNG), tables (CSV) and ``report.html`` into ``out_dir``; return the HTML."""
    metrics = metrics_table(result.metrics)
    split = result.split
    setup = (
        "<p>Validation cutoffs: "
        f"{html.escape(', '.join(str(c.date()) for c in split.validation_cutoffs))}; "
        f"training cutoffs: {len(split.train_cutoffs)} from {split.train_cutoffs[0].date()} "
        f"to {split.train_cutoffs[-1].date()}.</p>"
    )
    if split.layout is not None and split.layout.account_holdout:
        setup += f"<p>{html.escape(split.layout.describe())}</p>"
    kpis = pd.Series(validation_kpis(result), name="value").to_frame()
    definition = pd.Series(result.definition.to_dict(), name="value").to_frame()
    return write_model_report(
        out_dir,
        f"Churn model report — as of {result.as_of.date()}",
        [
            Section("Setup", html=setup),
            Section("Key account KPIs at the validation cutoffs", table=kpis),
            Section("Model vs baselines", table=metrics),
            Section("Metrics by segment, region and manager", table=result.slices),
            Section("Plots", plots=True),
            Section("Problem definition", table=definition),
        ],
        figures=churn_plots(result.validation, result.model.feature_importances_),
        tables={
            "metrics": metrics,
            "slice_metrics": result.slices,
            "feature_importance": importance_table(result.model.feature_importances_),
        },
    )


def churn_plots(validation: pd.DataFrame, importance: pd.Series) -> dict[str, Figure]:
    """ROC, PR, calibration, cumulative lift and feature importance, keyed by file stem.

    Every ``baseline_*`` column of ``validation`` is drawn next to the model, so a reader
    sees what the model adds over the rules a manager would use without it.
    """
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


def _ranked(score: np.ndarray) -> np.ndarray:
    # A baseline without a value for an account (no orders yet) ranks it as riskiest.
    ranked: np.ndarray = np.nan_to_num(score, nan=np.nanmax(score))
    return ranked


def _roc(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    figure, ax = axes("ROC curve (validation cutoffs)", "False positive rate", "True positive rate")
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y, _ranked(score))
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.legend()
    return figure


def _pr(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    figure, ax = axes("Precision-recall (validation cutoffs)", "Recall", "Precision")
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(y, _ranked(score))
        ax.plot(recall, precision, label=name)
    ax.axhline(y.mean(), color="k", ls="--", lw=0.8, label="base rate")
    ax.legend()
    return figure


def _calibration(y: np.ndarray, probability: np.ndarray) -> Figure:
    figure, ax = axes("Calibration", "Predicted churn probability", "Observed churn rate")
    observed, predicted = calibration_curve(y, probability, n_bins=10, strategy="quantile")
    ax.plot(predicted, observed, "o-", label="model")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    ax.legend()
    return figure


def _lift(y: np.ndarray, scores: dict[str, np.ndarray]) -> Figure:
    figure, ax = axes("Cumulative lift", "Share of accounts contacted (by score)", "Lift")
    share = np.arange(1, len(y) + 1) / len(y)
    for name, score in scores.items():
        order = np.argsort(-_ranked(score), kind="stable")
        captured = np.cumsum(y[order]) / np.arange(1, len(y) + 1)
        ax.plot(share, captured / max(y.mean(), 1e-12), label=name)
    ax.axhline(1.0, color="k", ls="--", lw=0.8)
    ax.legend()
    return figure
