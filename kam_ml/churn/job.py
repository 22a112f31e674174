"""Train -> report -> track -> register -> gate -> export: the ``kam-ml train`` job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kam_ml.churn.card import ModelCard, attach_card, churn_model_card, write_card
from kam_ml.churn.leakage import block_on_leakage, check_leakage
from kam_ml.churn.report import validation_kpis, write_churn_report
from kam_ml.churn.training import ChurnTrainingResult, train_churn
from kam_ml.data.tables import Tables
from kam_ml.evaluation.classification import churn_metrics
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle, save_bundle
from kam_ml.registry.champions import MODEL_NAMES
from kam_ml.registry.gate import PromotionDecision
from kam_ml.registry.registration import log_training_run, register_through_gate, result_bundle
from kam_ml.registry.tracking import TrackingStore

__all__ = ["CHURN_MODEL_NAME", "TrainOutcome", "train_and_register_churn"]

CHURN_MODEL_NAME = MODEL_NAMES.churn
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
    with store.run(CHURN_MODEL_NAME, run_name=f"churn-{result.as_of.date()}") as run_id:
        log_training_run(
            store,
            definition,
            result.hyperparameters,
            result.fingerprint,
            result.split,
            result.feature_names,
            result.metrics,
            extra_metrics={f"kpi_{k}": v for k, v in validation_kpis(result).items()},
        )
        store.log_artifacts(report_dir, "report")
        example = result.validation_features[result.feature_names].head(5)
        logged, decision = register_through_gate(
            store,
            _bundle(result, version="pending"),
            input_example=example,
            output_example=result.model.predict_proba(example)[:, 1],
            run_id=run_id,
            gate_metric=GATE_METRIC,
            challenger_score=result.metrics["model"][GATE_METRIC],
            score_champion=lambda champion: _roc_auc(champion, result),
            veto=lambda decision: block_on_leakage(decision, leakage),
        )
        card = churn_model_card(
            result, leakage, model_name=CHURN_MODEL_NAME, version=logged.version
        )
        store.log_artifacts(write_card(card, report_dir / "card"), "card")
        store.set_tags({"card.grade": card.grade, "leakage.fired": str(leakage.fired)})
    bundle_path = None
    if decision.promote:
        bundle_path = save_bundle(
            attach_card(_bundle(result, version=logged.version), card),
            models_dir / CHURN_MODEL_NAME,
        )
    return TrainOutcome(
        result, logged.version, run_id, decision, report_path, bundle_path, card=card
    )


def _roc_auc(champion: ModelBundle, result: ChurnTrainingResult) -> float:
    """The champion's ROC-AUC on the challenger's validation rows (KeyError if it needs
    features these rows lack)."""
    probability = champion.model.predict_proba(result.validation_features[champion.feature_names])[
        :, 1
    ]
    labels = result.validation["churned"].to_numpy()
    return churn_metrics(labels, probability, is_probability=True)[GATE_METRIC]


def _bundle(result: ChurnTrainingResult, version: str) -> ModelBundle:
    return result_bundle(result, CHURN_MODEL_NAME, version, result.metrics["model"])
