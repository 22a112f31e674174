"""The churn model card: what a registered version is, how good it is, and a grade a manager
can read.

The grade (``kam_ml.evaluation.grades``) compares the model's validation ROC-AUC with the
naive rule a manager would otherwise use, on the same rows: the stronger of "rank by days
since the last order" and the best "no order in the last N days" cut (N chosen in
hindsight on the validation rows). A leakage alarm overrides any grade with ``blocked``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, SupportsFloat

import numpy as np
import pandas as pd

from kam_ml.churn.baselines import best_no_order_rule
from kam_ml.churn.leakage import LeakageReport
from kam_ml.churn.training import ChurnTrainingResult
from kam_ml.evaluation.classification import churn_metrics
from kam_ml.evaluation.grades import (
    DEFAULT_THRESHOLDS,
    GRADE_MEANING,
    Grade,
    GradeThresholds,
    grade,
)
from kam_ml.registry.champions import MODEL_NAMES

__all__ = ["ModelCard", "churn_grade", "churn_model_card"]

KNOWN_LIMITS = (
    "Validated on the latest cutoffs of one data set; performance on a changed book "
    "(new regions, pricing, product lines) is unknown until the next retrain.",
    "Churn means 'no order in the horizon': an account that moves spend elsewhere but "
    "keeps a trickle of orders is not counted as churned.",
    "Probabilities are calibrated on the newest training cutoff; the base rate can drift.",
    "Associations, not causes: the reasons explain the score, not what would prevent churn.",
)


@dataclass(frozen=True)
class ModelCard:
    """A short card, rendered as Markdown for people and as JSON for machines."""

    model_name: str
    version: str
    grade: str
    content: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        head = {"model_name": self.model_name, "version": self.version, "grade": self.grade}
        return head | self.content

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, default=str)

    def to_markdown(self) -> str:
        c = self.content
        window = c["data_window"]
        lines = [
            f"# Model card: {self.model_name} v{self.version}",
            "",
            f"**Grade {self.grade}** — {GRADE_MEANING[self.grade]}. {c['grade_basis']}",
            "",
            "## Data window",
            f"- history {window['first_order_date']} to {window['last_date']}, as of "
            f"{window['as_of']}; {window['accounts']:,} accounts, {window['order_lines']:,} "
            "order lines",
            f"- training cutoffs {window['train_cutoffs'][0]} .. {window['train_cutoffs'][-1]} "
            f"({len(window['train_cutoffs'])}); validation cutoffs "
            f"{', '.join(window['validation_cutoffs'])}",
            "",
            "## Definition",
            f"- {c['definition_text']}",
            "",
            "## Metrics on the validation cutoffs",
            _markdown_table(
                ["scorer", "ROC-AUC", "PR-AUC", "top-decile lift"],
                [
                    [name, _f(m.get("roc_auc")), _f(m.get("pr_auc")), _f(m.get("top_decile_lift"))]
                    for name, m in c["metrics"].items()
                ],
            ),
            "",
            f"At the list size of the best rule ({c['rule']['flagged']:,} accounts flagged), "
            f"the model reaches {c['rule']['model_recall_at_rule_size']:.0%} of the churners "
            f"and the rule {c['rule']['rule_recall']:.0%}.",
            "",
            "## Slices (weakest measured)",
            _markdown_table(
                ["slice", "value", "rows", "churn rate", "ROC-AUC"],
                [
                    [s["slice"], s["value"], s["rows"], f"{s['churn_rate']:.1%}", _f(s["roc_auc"])]
                    for s in c["weakest_slices"]
                ],
            ),
            "",
            f"{c['unmeasured_slices']} slice(s) too small or single-class to measure.",
            "",
            "## Leakage checks",
            *(
                [f"- ALARM: {alarm}" for alarm in c["leakage"]["alarms"]]
                or [
                    f"- clean: validation ROC-AUC below {c['leakage']['auc_ceiling']}; features "
                    f"at {c['leakage']['checked_cutoff']} unchanged without later rows"
                ]
            ),
            "",
            "## Known limits",
            *[f"- {limit}" for limit in c["known_limits"]],
            "",
            "## Grade thresholds",
            f"A: margin >= {c['thresholds']['a']}, B: margin >= {c['thresholds']['b']}, "
            "C: below; a leakage alarm means blocked.",
        ]
        return "\n".join(lines) + "\n"


def churn_grade(
    result: ChurnTrainingResult,
    *,
    thresholds: GradeThresholds = DEFAULT_THRESHOLDS,
    blocked: bool = False,
) -> Grade:
    """The churn model's grade: its validation ROC-AUC against the best recency rule."""
    _, _, metrics = _with_rules(result)
    return _graded(metrics, thresholds, blocked)


def churn_model_card(
    result: ChurnTrainingResult,
    leakage: LeakageReport,
    *,
    model_name: str = MODEL_NAMES.churn,
    version: str = "pending",
    thresholds: GradeThresholds = DEFAULT_THRESHOLDS,
    slice_min_rows: int = 30,
) -> ModelCard:
    """The card of a churn training result, graded against the best recency rule."""
    labels = result.validation["churned"].to_numpy()
    days, flags, metrics = _with_rules(result)
    letter, basis = _graded(metrics, thresholds, blocked=leakage.fired)
    d = result.definition
    slices = result.slices
    measured = slices.dropna(subset=["roc_auc"])
    measured = measured.loc[measured["rows"] >= slice_min_rows].sort_values("roc_auc")
    fp = result.fingerprint
    content = {
        "grade_basis": basis,
        "data_window": {
            "as_of": fp["as_of"],
            "first_order_date": fp["first_order_date"],
            "last_date": fp["last_date"],
            "accounts": fp["accounts"],
            "order_lines": fp["order_lines"],
            "sha256": fp["sha256"],
            "train_cutoffs": [str(c.date()) for c in result.split.train_cutoffs],
            "validation_cutoffs": [str(c.date()) for c in result.split.validation_cutoffs],
        },
        "definition": d.to_dict(),
        "definition_text": (
            f"churned at T: active at T (an order in the last {d.active_window_days} days) and "
            f"no order in the next {d.horizon_days} days; returns count {d.return_lag_days} "
            "days after the order when their date is unknown"
        ),
        "metrics": metrics,
        "rule": {
            "days": days,
            "flagged": int(flags.sum()),
            "rule_recall": _recall(labels, flags.astype(bool)),
            "model_recall_at_rule_size": _recall(
                labels, _top(result.validation["churn_probability"].to_numpy(), int(flags.sum()))
            ),
        },
        "weakest_slices": measured.head(5).to_dict("records"),
        "unmeasured_slices": int(slices["roc_auc"].isna().sum()),
        "leakage": leakage.as_dict(),
        "known_limits": list(KNOWN_LIMITS) + _data_limits(result),
        "thresholds": {"a": thresholds.a, "b": thresholds.b, "metric": "roc_auc"},
    }
    return ModelCard(model_name, version, letter, _json_safe(content))


def _with_rules(
    result: ChurnTrainingResult,
) -> tuple[int, np.ndarray, dict[str, dict[str, float]]]:
    """Every scorer's validation metrics plus the best "no order in N days" rule's, with its
    N and flags."""
    labels = result.validation["churned"].to_numpy()
    days, flags = best_no_order_rule(result.validation_features, labels)
    metrics = {name: dict(values) for name, values in result.metrics.items()}
    metrics[f"no order in {days} days"] = churn_metrics(labels, flags, is_probability=False)
    return days, flags, metrics


def _graded(
    metrics: dict[str, dict[str, float]], thresholds: GradeThresholds, blocked: bool
) -> Grade:
    """The model's ROC-AUC margin over the best recency rule (RFM is not a manager's rule)."""
    naive = {name: m["roc_auc"] for name, m in metrics.items() if name not in ("model", "rfm")}
    best_name = max(naive, key=lambda name: -1.0 if np.isnan(naive[name]) else naive[name])
    model_auc, best = metrics["model"]["roc_auc"], naive[best_name]
    letter = grade(model_auc, best, thresholds=thresholds, blocked=blocked)
    basis = (
        f"Validation ROC-AUC {model_auc:.3f} vs {best:.3f} for the best naive rule "
        f"({best_name}): margin {model_auc - best:+.3f}."
    )
    return Grade(letter, basis)


def _data_limits(result: ChurnTrainingResult) -> list[str]:
    limits = []
    n = len(result.validation)
    if n < 1000:
        limits.append(f"Only {n} validation rows: metrics carry wide uncertainty.")
    features = result.validation_features
    service = [c for c in features.columns if c.startswith(("complaints", "tickets", "nps"))]
    if service and all(features[c].fillna(0).eq(0).all() for c in service):
        limits.append(
            "No service interactions in the data: complaint/ticket/NPS features are empty."
        )
    return limits


def _top(score: np.ndarray, k: int) -> np.ndarray:
    chosen = np.zeros(len(score), dtype=bool)
    chosen[np.argsort(-score, kind="stable")[:k]] = True
    return chosen


def _recall(labels: np.ndarray, chosen: np.ndarray) -> float:
    positives = labels.astype(bool)
    return float((positives & chosen).sum() / positives.sum()) if positives.any() else float("nan")


def _f(value: SupportsFloat | None) -> str:
    return "–" if value is None or not np.isfinite(float(value)) else f"{float(value):.3f}"


def _markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _json_safe(value: Any) -> Any:
    """Plain Python numbers and strings, NaN as None: the card is logged as JSON."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    return value
