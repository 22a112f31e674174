"""Train -> report -> track -> register -> gate -> export, for the account value model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle, save_bundle
from kam_ml.registry.champions import MODEL_NAMES
from kam_ml.registry.registration import (
    RegistrationOutcome,
    log_training_run,
    register_through_gate,
    result_bundle,
)
from kam_ml.registry.tracking import TrackingStore
from kam_ml.value.report import write_value_report
from kam_ml.value.training import (
    VALUE_WINDOW_DAYS,
    ValueTrainingResult,
    train_value,
    value_metrics,
)

__all__ = [
    "VALUE_MODEL_NAME",
    "register_value",
    "train_and_register_value",
    "value_bundle",
]

VALUE_MODEL_NAME = MODEL_NAMES.value
GATE_METRIC = "mae"


def train_and_register_value(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    store: TrackingStore,
    models_dir: Path,
    report_dir: Path,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
) -> RegistrationOutcome[ValueTrainingResult]:
    """Train the value model, log it to MLflow and promote it through the MAE gate."""
    result = train_value(tables, as_of, definition, on_cutoff_done=on_cutoff_done)
    return register_value(result, store, models_dir, report_dir)


def register_value(
    result: ValueTrainingResult, store: TrackingStore, models_dir: Path, report_dir: Path
) -> RegistrationOutcome[ValueTrainingResult]:
    """Report, log and register a trained value model; gate it on MAE against the champion.

    A promoted version is exported to ``models_dir/kam-value`` as a verified bundle.
    """
    definition = result.definition
    report_path = write_value_report(result, report_dir)
    with store.run(VALUE_MODEL_NAME, run_name=f"value-{result.as_of.date()}") as run_id:
        log_training_run(
            store,
            definition,
            result.hyperparameters,
            result.fingerprint,
            result.split,
            result.feature_names,
            result.metrics,
            extra_params={
                "value_window_days": VALUE_WINDOW_DAYS,
            },
        )
        store.log_artifacts(report_dir, "report")
        example = result.validation_features[result.feature_names].head(5)
        logged, decision = register_through_gate(
            store,
            value_bundle(result, version="pending"),
            input_example=example,
            output_example=result.model.predict(example),
            run_id=run_id,
            gate_metric=GATE_METRIC,
            challenger_score=result.metrics["model"][GATE_METRIC],
            score_champion=lambda champion: _mae(champion, result),
            higher_is_better=False,
        )
    bundle_path = None
    if decision.promote:
        bundle_path = save_bundle(
            value_bundle(result, version=logged.version), models_dir / VALUE_MODEL_NAME
        )
    return RegistrationOutcome(result, logged.version, run_id, decision, report_path, bundle_path)


def _mae(champion: ModelBundle, result: ValueTrainingResult) -> float:
    """The champion's MAE on the challenger's validation rows (KeyError if it needs features
    these rows lack)."""
    predicted = champion.model.predict(result.validation_features[champion.feature_names])
    return value_metrics(result.validation["revenue_next_12m"], predicted)[GATE_METRIC]


def value_bundle(result: ValueTrainingResult, version: str) -> ModelBundle:
    extra = {
        "value_window_days": VALUE_WINDOW_DAYS,
        "naive_last_12m": result.metrics["naive_last_12m"],
    }
    return result_bundle(result, VALUE_MODEL_NAME, version, result.metrics["model"], extra)
