"""The ``kam-ml train`` job for churn: train, check for leakage, register through the gate."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from kam_ml.churn.card import ModelCard, churn_grade, churn_model_card
from kam_ml.churn.leakage import LeakageReport, check_leakage
from kam_ml.churn.report import validation_kpis, write_churn_report
from kam_ml.churn.training import ChurnTrainingResult, refit_churn, train_churn
from kam_ml.data.tables import Tables
from kam_ml.evaluation.classification import churn_metrics
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle
from kam_ml.registry.champions import MODEL_NAMES
from kam_ml.registry.gate import ModelSpec, RegistrationOutcome, register
from kam_ml.registry.tracking import TrackingStore

__all__ = ["CHURN_MODEL_NAME", "churn_spec", "train_and_register_churn"]

CHURN_MODEL_NAME = MODEL_NAMES.churn
GATE_METRIC = "roc_auc"


def churn_spec(
    leakage: LeakageReport | None = None, *, refit: bool = True
) -> ModelSpec[ChurnTrainingResult]:
    """How kam-churn is registered: gated on validation ROC-AUC, graded against the best
    recency rule, with a model card; ``leakage`` (from ``check_leakage``) blocks on an alarm.
    After the gate the registered model is refit on every labelled cutoff unless ``refit``
    is false (``kam-ml train --no-refit``).

    Without ``leakage`` (a bundle built in a test or a notebook) there is no card.
    """
    return ModelSpec(
        name=CHURN_MODEL_NAME,
        run_prefix="churn",
        gate_metric=GATE_METRIC,
        higher_is_better=True,
        score_champion=_roc_auc,
        write_report=write_churn_report,
        example=_example,
        grade=churn_grade,
        run_metrics=lambda result: {f"kpi_{k}": v for k, v in validation_kpis(result).items()},
        card=None if leakage is None else partial(_card, leakage),
        leakage_alarms=() if leakage is None else leakage.alarms,
        refit=refit_churn if refit else None,
        # spark_udf / pyfunc users get probabilities (docs/mlflow.md), as kam-ml scores
        pyfunc_predict_fn="predict_proba",
    )


def train_and_register_churn(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    store: TrackingStore,
    models_dir: Path,
    report_dir: Path,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
    result: ChurnTrainingResult | None = None,
    *,
    refit: bool = True,
) -> RegistrationOutcome[ChurnTrainingResult]:
    """Train the churn model, log everything to MLflow, and promote it through the gate.

    The gate judges the held-out fit; the version registered and exported to
    ``models_dir/kam-churn`` is then refit on every labelled cutoff (``refit=False`` keeps
    the held-out fit). ``result`` registers an already trained result (a notebook's
    challenger) instead.
    """
    if result is None:
        result = train_churn(tables, as_of, definition, on_cutoff_done=on_cutoff_done)
    spec = churn_spec(check_leakage(result, tables), refit=refit)
    return register(result, spec, store=store, models_dir=models_dir, report_dir=report_dir)


def _card(leakage: LeakageReport, result: ChurnTrainingResult, version: str) -> ModelCard:
    return churn_model_card(result, leakage, model_name=CHURN_MODEL_NAME, version=version)


def _roc_auc(champion: ModelBundle, result: ChurnTrainingResult) -> float:
    """The champion's ROC-AUC on the challenger's validation rows (KeyError if it needs
    features these rows lack)."""
    rows = result.validation_features[champion.feature_names]
    probability = champion.model.predict_proba(rows)[:, 1]
    labels = result.validation["churned"].to_numpy()
    return churn_metrics(labels, probability, is_probability=True)[GATE_METRIC]


def _example(result: ChurnTrainingResult) -> tuple[pd.DataFrame, Any]:
    rows = result.validation_features[result.feature_names].head(5)
    return rows, result.model.predict_proba(rows)  # what the pyfunc returns (predict_proba)
