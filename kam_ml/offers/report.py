"""The offer ranker report: metrics vs baselines, metric@k curves, calibration, mix, features."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from kam_ml.evaluation.grades import DEFAULT_THRESHOLDS, Grade, GradeThresholds, grade
from kam_ml.evaluation.ranking import ranking_metrics, top_k
from kam_ml.offers.training import KEYS, QUERY, OfferTrainingResult
from kam_ml.problem.splits import TimeSplit
from kam_ml.reporting.figures import axes, importance_plot
from kam_ml.reporting.html import Section, importance_table, metrics_table, write_model_report

__all__ = ["offer_plots", "offers_grade", "write_offer_report"]

MAX_K = 5
MAX_MIX_CATEGORIES = 30


def write_offer_report(result: OfferTrainingResult, out_dir: Path) -> Path:
    """Write plots (PNG), tables (CSV) and ``report.html`` into ``out_dir``; return the HTML."""
    metrics = metrics_table(result.metrics)
    curves = metric_curves(result)
    importance = importance_table(result.model.feature_importances_)
    split = result.split
    if result.candidates is None or result.candidates >= len(result.catalogue):
        candidates = f"all {len(result.catalogue)} catalogue categories"
    else:
        recall = result.metrics["ranker"].get("candidate_recall", float("nan"))
        candidates = (
            f"at most {result.candidates} of the {len(result.catalogue)} catalogue categories "
            f"per account (own history, co-purchase and next-purchase neighbours, segment x "
            f"region popularity), which held {recall:.1%} of the purchases (candidate "
            "recall); the metrics count every purchase outside them as a miss"
        )
    intro = (
        f"<p>Queries: accounts active at the validation cutoffs "
        f"{html.escape(', '.join(str(c.date()) for c in split.validation_cutoffs))} that "
        f"bought at least one category in the next {result.definition.horizon_days} days; "
        f"candidates: {html.escape(candidates)}. Training cutoffs: "
        f"{len(split.train_cutoffs)} from {split.train_cutoffs[0].date()} to "
        f"{split.train_cutoffs[-1].date()} (the newest calibrates probabilities).</p>"
        f"{_holdout_note(split)}"
        "<p><b>ranker</b> ranks by purchase probability (the gate's NDCG and the default "
        "of <code>kam-ml score</code>); <b>ranker_expected_value</b> by probability x "
        "typical spend x margin (<code>--rank-offers-by expected_value</code>).</p>"
    )
    letter, basis = offers_grade(result.metrics)
    return write_model_report(
        out_dir,
        f"Offer ranker report — as of {result.as_of.date()}",
        [
            Section("Setup", html=intro),
            Section(f"Grade {letter}", html=f"<p>{html.escape(basis)}</p>"),
            Section(f"Ranker vs baselines at k = {result.k}", table=metrics),
            Section("Metrics by k", table=curves),
            Section("Plots", plots=True),
            Section("Feature importance (gain)", table=importance.head(25)),
        ],
        figures=offer_plots(result, curves),
        tables={"metrics": metrics, "metrics_by_k": curves, "feature_importance": importance},
    )


def offers_grade(
    metrics: Mapping[str, Mapping[str, float]],
    *,
    model_key: str = "ranker",
    thresholds: GradeThresholds = DEFAULT_THRESHOLDS,
) -> Grade:
    """Grade of an offer ranker: NDCG@k against the best top-categories baseline.

    Baselines are every other scorer in ``metrics`` (global / segment popularity, the
    account's own most-bought categories ...); variants of the ranker itself are skipped.
    """
    model = metrics[model_key]
    metric = next(name for name in model if name.startswith("ndcg_at_"))
    baselines = {
        name: values[metric]
        for name, values in metrics.items()
        if not name.startswith(model_key) and metric in values
    }
    best = max(baselines, key=lambda name: baselines[name])
    letter = grade(model[metric], baselines[best], thresholds=thresholds)
    return Grade(letter, f"{metric} {model[metric]:.3f} vs {baselines[best]:.3f} for {best}")


def metric_curves(result: OfferTrainingResult, max_k: int = MAX_K) -> pd.DataFrame:
    """NDCG, recall and precision at k = 1..max_k for every scorer."""
    validation = result.validation
    truth = result.truth
    rows = []
    for column in [c for c in validation.columns if c.startswith("score_")]:
        for k in range(1, max_k + 1):
            m = ranking_metrics(
                truth, validation[[*KEYS, column]], k, result.catalogue, QUERY, "category", column
            )
            rows.append(
                {
                    "scorer": column.removeprefix("score_"),
                    "k": k,
                    "ndcg": m[f"ndcg_at_{k}"],
                    "recall": m[f"recall_at_{k}"],
                    "precision": m[f"precision_at_{k}"],
                }
            )
    return pd.DataFrame(rows)


def offer_plots(result: OfferTrainingResult, curves: pd.DataFrame) -> dict[str, Figure]:
    return {
        "ndcg_by_k": _curve(curves, "ndcg"),
        "recall_by_k": _curve(curves, "recall"),
        "calibration": _calibration(result.validation),
        "category_mix": _mix(result),
        "feature_importance": importance_plot(
            result.model.feature_importances_, "Offer ranker feature importance (gain)"
        ),
    }


def _curve(curves: pd.DataFrame, metric: str) -> Figure:
    figure, ax = axes(f"{metric} at k (validation cutoffs)", "k", metric)
    for scorer, rows in curves.groupby("scorer", sort=False):
        ax.plot(rows["k"], rows[metric], "o-", label=scorer)
    ax.legend(fontsize=8)
    return figure


def _calibration(validation: pd.DataFrame) -> Figure:
    figure, ax = axes("Purchase probability calibration", "Predicted", "Observed share bought")
    p = validation["score_ranker"].to_numpy()
    bins = pd.qcut(p, 10, labels=False, duplicates="drop")
    table = validation.assign(bin=bins).groupby("bin")[["score_ranker", "bought"]].mean()
    ax.plot(table["score_ranker"], table["bought"], "o-", label="ranker")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    ax.legend()
    return figure


def _mix(result: OfferTrainingResult) -> Figure:
    """Share of top-k slots per category vs its share of actual purchases."""
    validation = result.validation
    shown = top_k(validation, result.k, QUERY, "category", "score_ranker")
    offered = shown["category"].value_counts(normalize=True)
    bought = result.truth["category"].value_counts(normalize=True)
    names = list(result.catalogue)
    if len(names) > MAX_MIX_CATEGORIES:  # a bar per category is unreadable past a few dozen
        names = list(bought.index[:MAX_MIX_CATEGORIES])
    x = np.arange(len(names))
    figure = Figure(figsize=(7, 4.5), dpi=100)
    axes = figure.add_subplot()
    axes.bar(x - 0.2, offered.reindex(names).fillna(0), 0.4, label=f"offered (top {result.k})")
    axes.bar(x + 0.2, bought.reindex(names).fillna(0), 0.4, label="bought")
    axes.set_xticks(x, names, rotation=45, ha="right")
    axes.set_title("Category mix: offers vs purchases")
    axes.legend()
    figure.tight_layout()
    return figure


def _holdout_note(split: TimeSplit) -> str:
    """The layout's own warning when validation is in-time (an account holdout)."""
    if split.layout is None or not split.layout.account_holdout:
        return ""
    return f"<p>{html.escape(split.layout.describe())}</p>"
