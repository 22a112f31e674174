"""Train -> report -> track -> register -> gate -> export: the ``kam-ml train`` job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kam_ml.bundle import ModelBundle, save_bundle
from kam_ml.cards import ModelCard, attach_card, churn_model_card, write_card
from kam_ml.definitions import ProblemDefinition
from kam_ml.evaluation import churn_metrics
from kam_ml.leakage import block_on_leakage, check_leakage
from kam_ml.promotion import PromotionDecision, decide_promotion
from kam_ml.reports import validation_kpis, write_churn_report
from kam_ml.tables import Tables
from kam_ml.tracking import CHALLENGER, CHAMPION, TrackingStore
from kam_ml.training import ChurnTrainingResult, train_churn

__all__ = ["CHURN_MODEL_NAME", "TrainOutcome", "train_and_register_churn"]

CHURN_MODEL_NAME = "kam-churn"
GATE_METRIC = "roc_auc"


@dataclass(frozen=True)
class TrainOutcome:
    """What a training job did: the result, where it went and whether it was promoted."""

    result: ChurnTrainingResult
    version: str
    run_id: str
    decision: PromotionDecision
    report_path: Path
    bundle_path: Path | None
    card: ModelCard | None = None


def train_and_register_churn(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    store: TrackingStore,
    models_dir: Path,
    report_dir: Path,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
    result: ChurnTrainingResult | None = None,
) -> TrainOutcome:
    """Train the churn model, log everything to MLflow, and promote it through the gate.

    A promoted version is exported to ``models_dir/kam-churn`` as a verified bundle.
    ``result`` registers an already trained result (a notebook's challenger) instead.
    """
    if result is None:
        result = train_churn(tables, as_of, definition, on_cutoff_done=on_cutoff_done)
    leakage = check_leakage(result, tables)  # an alarm blocks promotion below
    report_path = write_churn_report(result, report_dir)
    with store.run("kam-churn", run_name=f"churn-{result.as_of.date()}") as run_id:
        store.log_params(
            {f"definition.{k}": v for k, v in definition.to_dict().items()}
            | {f"model.{k}": v for k, v in result.hyperparameters.items()}
            | {f"data.{k}": v for k, v in result.fingerprint.items()}
            | {
                "train_cutoffs": [str(c.date()) for c in result.split.train_cutoffs],
                "validation_cutoffs": [str(c.date()) for c in result.split.validation_cutoffs],
                "features": result.feature_names,
            }
        )
        store.log_metrics(
            {
                f"{scorer}_{name}": value
                for scorer, values in result.metrics.items()
                for name, value in values.items()
            }
            | {f"kpi_{name}": value for name, value in validation_kpis(result).items()}
        )
        store.log_artifacts(report_dir, "report")
        example = result.validation_features[result.feature_names].head(5)
        logged = store.log_model(
            result.model,
            CHURN_MODEL_NAME,
            bundle_metadata=_bundle(result, version="pending").metadata(),
            input_example=example,
            output_example=result.model.predict_proba(example)[:, 1],
            run_id=run_id,
        )
        store.set_alias(CHURN_MODEL_NAME, CHALLENGER, logged.version)
        decision = block_on_leakage(_gate(store, result), leakage)
        card = churn_model_card(
            result, leakage, model_name=CHURN_MODEL_NAME, version=logged.version
        )
        store.log_artifacts(write_card(card, report_dir / "card"), "card")
        store.set_tags({"card.grade": card.grade, "leakage.fired": str(leakage.fired)})
        store.log_metrics(
            {"gate_challenger_roc_auc": decision.challenger_score}
            | (
                {"gate_champion_roc_auc": decision.champion_score}
                if decision.champion_score is not None
                else {}
            )
        )
        store.set_tags(
            {
                "gate.decision": "promoted" if decision.promote else "rejected",
                "gate.reason": decision.reason,
                "gate.champion_version_before": decision.champion_version or "none",
            }
        )
        if decision.promote:
            store.set_alias(CHURN_MODEL_NAME, CHAMPION, logged.version)
    bundle_path = None
    if decision.promote:
        bundle_path = save_bundle(
            attach_card(_bundle(result, version=logged.version), card),
            models_dir / CHURN_MODEL_NAME,
        )
    return TrainOutcome(
        result, logged.version, run_id, decision, report_path, bundle_path, card=card
    )


def _gate(store: TrackingStore, result: ChurnTrainingResult) -> PromotionDecision:
    """Score the current champion on the challenger's validation rows and compare."""
    challenger = result.metrics["model"][GATE_METRIC]
    champion_version = store.alias_version(CHURN_MODEL_NAME, CHAMPION)
    champion_score = None
    if champion_version is not None:
        champion = store.load_bundle(f"models:/{CHURN_MODEL_NAME}/{champion_version}")
        missing = set(champion.feature_names) - set(result.validation_features.columns)
        if not missing:
            probability = champion.model.predict_proba(
                result.validation_features[champion.feature_names]
            )[:, 1]
            labels = result.validation["churned"].to_numpy()
            champion_score = churn_metrics(labels, probability, is_probability=True)[GATE_METRIC]
        else:  # the champion needs features this build no longer makes: it cannot compete
            champion_score = float("-inf")
    if champion_score is not None and not np.isfinite(champion_score):
        champion_score = float("-inf")
    return decide_promotion(GATE_METRIC, challenger, champion_score, champion_version)


def _bundle(result: ChurnTrainingResult, version: str) -> ModelBundle:
    return ModelBundle(
        model=result.model,
        model_name=CHURN_MODEL_NAME,
        version=version,
        feature_names=result.feature_names,
        definition=result.definition,
        training_cutoffs=[str(c.date()) for c in result.split.train_cutoffs],
        validation_cutoffs=[str(c.date()) for c in result.split.validation_cutoffs],
        metrics=result.metrics["model"],
        extra={"as_of": str(result.as_of.date()), "data": result.fingerprint},
    )
