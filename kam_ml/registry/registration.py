"""Register a trained model as the challenger and move ``champion`` only through the gate.

Shared by the churn, offer and value jobs: log the model with its bundle metadata,
alias the new version ``challenger``, score the current champion on the challenger's own
validation rows, let ``kam_ml.registry.gate`` decide, log the evidence, and move ``champion``
if it wins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle
from kam_ml.registry.gate import PromotionDecision, decide_promotion
from kam_ml.registry.tracking import CHALLENGER, CHAMPION, LoggedModel, TrackingStore

__all__ = ["RegistrationOutcome", "log_training_run", "register_through_gate", "result_bundle"]

R = TypeVar("R")


@dataclass(frozen=True)
class RegistrationOutcome(Generic[R]):
    """What a training job did: the result, where it went and whether it was promoted."""

    result: R
    version: str
    run_id: str
    decision: PromotionDecision
    report_path: Path
    bundle_path: Path | None


def result_bundle(
    result: Any,
    model_name: str,
    version: str,
    metrics: Mapping[str, float],
    extra: Mapping[str, Any] | None = None,
) -> ModelBundle:
    """The bundle of a training result: model, features, definition, cutoffs, metrics and
    the data fingerprint, plus what ``extra`` adds for one model kind."""
    return ModelBundle(
        model=result.model,
        model_name=model_name,
        version=version,
        feature_names=result.feature_names,
        definition=result.definition,
        training_cutoffs=[str(c.date()) for c in result.split.train_cutoffs],
        validation_cutoffs=[str(c.date()) for c in result.split.validation_cutoffs],
        metrics=dict(metrics),
        extra={"as_of": str(result.as_of.date()), "data": result.fingerprint} | dict(extra or {}),
    )


def log_training_run(
    store: TrackingStore,
    definition: ProblemDefinition,
    hyperparameters: Mapping[str, Any],
    fingerprint: Mapping[str, Any],
    split: Any,
    features: list[str],
    metrics: Mapping[str, Mapping[str, float]],
    extra_params: Mapping[str, Any] | None = None,
    extra_metrics: Mapping[str, float] | None = None,
) -> None:
    """Inside an active run: log what every model job logs (definition, hyperparameters,
    data fingerprint, cutoffs, features) and each scorer's metrics as ``<scorer>_<metric>``."""
    store.log_params(
        {f"definition.{k}": v for k, v in definition.to_dict().items()}
        | {f"model.{k}": v for k, v in hyperparameters.items()}
        | {f"data.{k}": v for k, v in fingerprint.items()}
        | {
            "train_cutoffs": [str(c.date()) for c in split.train_cutoffs],
            "validation_cutoffs": [str(c.date()) for c in split.validation_cutoffs],
            "features": features,
        }
        | dict(extra_params or {})
    )
    store.log_metrics(
        {
            f"{scorer}_{name}": value
            for scorer, values in metrics.items()
            for name, value in values.items()
        }
        | dict(extra_metrics or {})
    )


def register_through_gate(
    store: TrackingStore,
    bundle: ModelBundle,
    input_example: pd.DataFrame,
    output_example: Any,
    run_id: str,
    gate_metric: str,
    challenger_score: float,
    score_champion: Callable[[ModelBundle], float],
    higher_is_better: bool = True,
    veto: Callable[[PromotionDecision], PromotionDecision] | None = None,
) -> tuple[LoggedModel, PromotionDecision]:
    """Inside an active run: register ``bundle.model`` and apply the champion gate.

    ``score_champion`` computes the gate metric of a champion bundle on the challenger's
    validation rows; a champion that cannot be scored (it needs features this build no
    longer makes) cannot compete. ``veto`` may overrule a promotion (the leakage alarm)
    before the decision is logged and acted on.
    """
    name = bundle.model_name
    logged = store.log_model(
        bundle.model,
        name,
        bundle_metadata=bundle.metadata(),
        input_example=input_example,
        output_example=output_example,
        run_id=run_id,
    )
    store.set_alias(name, CHALLENGER, logged.version)
    worst = float("-inf") if higher_is_better else float("inf")
    champion_version = store.alias_version(name, CHAMPION)
    champion_score = None
    if champion_version is not None:
        champion = store.load_bundle(f"models:/{name}/{champion_version}")
        try:
            champion_score = float(score_champion(champion))
        except KeyError:
            champion_score = worst
        if not np.isfinite(champion_score):
            champion_score = worst
    decision = decide_promotion(
        gate_metric, challenger_score, champion_score, champion_version, higher_is_better
    )
    if veto is not None:
        decision = veto(decision)
    gate_metrics = {f"gate_challenger_{gate_metric}": challenger_score}
    if champion_score is not None and np.isfinite(champion_score):
        gate_metrics[f"gate_champion_{gate_metric}"] = champion_score
    store.log_metrics(gate_metrics)
    store.set_tags(
        {
            "gate.metric": gate_metric,
            "gate.decision": "promoted" if decision.promote else "rejected",
            "gate.reason": decision.reason,
            "gate.champion_version_before": decision.champion_version or "none",
        }
    )
    if decision.promote:
        store.set_alias(name, CHAMPION, logged.version)
    return logged, decision
