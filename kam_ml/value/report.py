"""The account value report: model vs "last 12 months" on the backtest, with plots."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kam_ml.evaluation.grades import DEFAULT_THRESHOLDS, Grade, GradeThresholds, grade
from kam_ml.problem.splits import TimeSplit
from kam_ml.reporting.figures import importance_plot
from kam_ml.reporting.html import Section, importance_table, metrics_table, write_model_report
from kam_ml.value.training import VALUE_WINDOW_DAYS, ValueTrainingResult

__all__ = ["value_grade", "value_plots", "write_value_report"]

SCORERS = {"model": "expected_value", "naive_last_12m": "naive_last_12m"}


def write_value_report(result: ValueTrainingResult, out_dir: Path) -> Path:
    """Write plots (PNG), tables (CSV) and ``report.html`` into ``out_dir``; return the HTML."""
    metrics = metrics_table(result.metrics)
    deciles = decile_table(result.validation)
    importance = importance_table(result.model.feature_importances_)
    split = result.split
    intro = (
        f"<p>Target: order revenue in the {VALUE_WINDOW_DAYS} days after the cutoff, for "
        f"accounts active at the cutoff that ordered again within "
        f"{result.definition.horizon_days} days (they stayed). Validation cutoffs: "
        f"{html.escape(', '.join(str(c.date()) for c in split.validation_cutoffs))}; "
        f"{len(split.train_cutoffs)} training cutoffs from {split.train_cutoffs[0].date()} to "
        f"{split.train_cutoffs[-1].date()}, {_independence(split)}."
        "</p><p>Naive baseline: next year = the last 12 months' revenue.</p>"
    )
    letter, basis = value_grade(result.metrics)
    return write_model_report(
        out_dir,
        f"Account value report — as of {result.as_of.date()}",
        [
            Section("Setup", html=intro),
            Section(f"Grade {letter}", html=f"<p>{html.escape(basis)}</p>"),
            Section("Model vs naive (MAE is the gate: lower is better)", table=metrics),
            Section("By decile of predicted value", table=deciles),
            Section("Plots", plots=True),
            Section("Feature importance (gain)", table=importance.head(25)),
        ],
        figures=value_plots(result, deciles),
        tables={"metrics": metrics, "deciles": deciles, "feature_importance": importance},
    )


def value_grade(
    metrics: Mapping[str, Mapping[str, float]],
    *,
    model_key: str = "model",
    baseline_key: str = "naive_last_12m",
    thresholds: GradeThresholds = DEFAULT_THRESHOLDS,
) -> Grade:
    """Grade of a value model: relative MAE reduction against "last 12 months' revenue"."""
    model, naive = metrics[model_key]["mae"], metrics[baseline_key]["mae"]
    reduction = 1.0 - model / naive if naive > 0 else float("nan")
    letter = grade(reduction, 0.0, thresholds=thresholds)
    return Grade(letter, f"MAE {model:,.0f} vs {naive:,.0f} for {baseline_key}: {reduction:+.1%}")


def decile_table(validation: pd.DataFrame) -> pd.DataFrame:
    """Mean predicted vs actual next-year revenue per decile of the model's prediction."""
    decile = pd.qcut(validation["expected_value"].rank(method="first"), 10, labels=False) + 1
    table = validation.assign(decile=decile).groupby("decile")
    return table[["expected_value", "naive_last_12m", "revenue_next_12m"]].mean().reset_index()


def value_plots(result: ValueTrainingResult, deciles: pd.DataFrame) -> dict[str, Figure]:
    return {
        "predicted_vs_actual": _scatter(result.validation),
        "decile_calibration": _deciles(deciles),
        "feature_importance": importance_plot(
            result.model.feature_importances_, "Value model feature importance (gain)"
        ),
    }


def _scatter(validation: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(6, 4.5), dpi=100)
    axes = figure.add_subplot()
    actual = validation["revenue_next_12m"].to_numpy() + 1.0
    for name, column in SCORERS.items():
        axes.scatter(validation[column].to_numpy() + 1.0, actual, s=4, alpha=0.3, label=name)
    top = float(max(actual.max(), 10.0))
    axes.plot([1, top], [1, top], "k--", lw=0.8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("Predicted next-12-month revenue + 1")
    axes.set_ylabel("Actual + 1")
    axes.set_title("Predicted vs actual (validation cutoffs)")
    axes.legend()
    return figure


def _deciles(deciles: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(6, 4.5), dpi=100)
    axes = figure.add_subplot()
    x = deciles["decile"].to_numpy()
    axes.plot(x, deciles["revenue_next_12m"], "ko-", label="actual")
    axes.plot(x, deciles["expected_value"], "o-", label="model")
    axes.plot(x, deciles["naive_last_12m"], "o-", label="naive_last_12m")
    axes.set_xticks(np.arange(1, 11))
    axes.set_xlabel("Decile of predicted value")
    axes.set_ylabel("Mean revenue")
    axes.set_title("Calibration by decile")
    axes.legend()
    return figure


def _independence(split: TimeSplit) -> str:
    """Why validation is held-out evidence: later cutoffs, or (short histories) other
    accounts on the same cutoffs."""
    if split.layout is not None and split.layout.account_holdout:
        return html.escape(split.layout.describe())
    return "none with a window reaching the validation period"
