"""Register a trained model as the challenger and move ``champion`` only through the gate.

Shared by the offer and value jobs (the churn job in ``kam_ml.pipeline`` does the same
steps inline): log the model with its bundle metadata, alias the new version
``challenger``, score the current champion on the challenger's own validation rows, let
``kam_ml.promotion`` decide, log the evidence, and move ``champion`` if it wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

from kam_ml.bundle import ModelBundle
from kam_ml.promotion import PromotionDecision, decide_promotion
from kam_ml.tracking import CHALLENGER, CHAMPION, LoggedModel, TrackingStore

__all__ = ["RegistrationOutcome", "register_through_gate"]

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
) -> tuple[LoggedModel, PromotionDecision]:
    """Inside an active run: register ``bundle.model`` and apply the champion gate.

    ``score_champion`` computes the gate metric of a champion bundle on the challenger's
    validation rows; a champion that cannot be scored (it needs features this build no
    longer makes) cannot compete.
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
