"""The ``kam-ml train`` job for the account value model: train, check, register (or skip)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.errors import NotEnoughHistoryError
from kam_ml.evaluation.regression import value_metrics
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle
from kam_ml.registry.champions import MODEL_NAMES
from kam_ml.registry.gate import ModelSpec, RegistrationOutcome, Skipped, register
from kam_ml.registry.tracking import TrackingStore
from kam_ml.value.leakage import value_leakage_alarms
from kam_ml.value.report import value_grade, write_value_report
from kam_ml.value.training import (
    VALUE_WINDOW_DAYS,
    ValueTrainingResult,
    refit_value,
    train_value,
    value_layout,
)

__all__ = [
    "VALUE_MODEL_NAME",
    "train_and_register_value",
    "value_cutoffs",
    "value_spec",
]

VALUE_MODEL_NAME = MODEL_NAMES.value
GATE_METRIC = "mae"


def value_spec(
    leakage_alarms: tuple[str, ...] = (), *, refit: bool = True
) -> ModelSpec[ValueTrainingResult]:
    """How kam-value is registered: gated on validation MAE (lower is better), graded by its
    error reduction against "last 12 months' revenue", blocked by a point-in-time alarm, and
    refit on every labelled cutoff after the gate unless ``refit`` is false."""
    return ModelSpec(
        name=VALUE_MODEL_NAME,
        run_prefix="value",
        gate_metric=GATE_METRIC,
        higher_is_better=False,
        score_champion=_mae,
        write_report=write_value_report,
        example=_example,
        grade=lambda result: value_grade(result.metrics),
        bundle_extra=_bundle_extra,
        run_params=lambda result: {"value_window_days": VALUE_WINDOW_DAYS},
        leakage_alarms=leakage_alarms,
        refit=refit_value if refit else None,
    )


def value_cutoffs(
    tables: Tables, as_of: pd.Timestamp, definition: ProblemDefinition
) -> list[pd.Timestamp] | Skipped:
    """The value model's training cutoffs, or why it is skipped.

    Its 12-month target window and the embargo after it need about two years of history;
    a shorter book still trains churn and offers, so too little history skips this model
    instead of failing the whole ``kam-ml train``.
    """
    try:
        return value_layout(definition).training_cutoff_dates(as_of, tables.first_date())
    except NotEnoughHistoryError as error:
        return Skipped(VALUE_MODEL_NAME, str(error))


def train_and_register_value(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    store: TrackingStore,
    models_dir: Path,
    report_dir: Path,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
    *,
    refit: bool = True,
) -> RegistrationOutcome[ValueTrainingResult] | Skipped:
    """Train the value model, log it to MLflow and promote it through the MAE gate.

    The version registered and exported to ``models_dir/kam-value`` is refit on every
    labelled cutoff after the gate (``refit=False`` keeps the held-out fit);
    ``Skipped`` (nothing trained or logged) when the history is too short (``value_cutoffs``).
    """
    planned = value_cutoffs(tables, as_of, definition)
    if isinstance(planned, Skipped):
        return planned
    result = train_value(tables, as_of, definition, on_cutoff_done=on_cutoff_done)
    spec = value_spec(value_leakage_alarms(result, tables), refit=refit)
    return register(result, spec, store=store, models_dir=models_dir, report_dir=report_dir)


def _mae(champion: ModelBundle, result: ValueTrainingResult) -> float:
    """The champion's MAE on the challenger's validation rows (KeyError if it needs features
    these rows lack)."""
    predicted = champion.model.predict(result.validation_features[champion.feature_names])
    return value_metrics(result.validation["revenue_next_12m"], predicted)[GATE_METRIC]


def _example(result: ValueTrainingResult) -> tuple[pd.DataFrame, Any]:
    rows = result.validation_features[result.feature_names].head(5)
    return rows, result.model.predict(rows)


def _bundle_extra(result: ValueTrainingResult) -> Mapping[str, Any]:
    """The target window and the naive baseline's metrics, for the API and the report."""
    return {
        "value_window_days": VALUE_WINDOW_DAYS,
        "naive_last_12m": result.metrics["naive_last_12m"],
    }
