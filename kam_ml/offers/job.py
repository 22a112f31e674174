"""Train -> report -> track -> register -> gate -> export, for the offer ranker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.evaluation.ranking import ranking_metrics
from kam_ml.offers.report import write_offer_report
from kam_ml.offers.training import KEYS, QUERY, OfferTrainingResult, train_offers
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

__all__ = [
    "OFFERS_MODEL_NAME",
    "offers_bundle",
    "register_offers",
    "train_and_register_offers",
]

OFFERS_MODEL_NAME = MODEL_NAMES.offers


def train_and_register_offers(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    store: TrackingStore,
    models_dir: Path,
    report_dir: Path,
    account_features: pd.DataFrame | None = None,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
) -> RegistrationOutcome[OfferTrainingResult]:
    """Train the offer ranker, log it to MLflow and promote it through the NDCG@k gate."""
    result = train_offers(
        tables, as_of, definition, account_features=account_features, on_cutoff_done=on_cutoff_done
    )
    return register_offers(result, store, models_dir, report_dir)


def register_offers(
    result: OfferTrainingResult, store: TrackingStore, models_dir: Path, report_dir: Path
) -> RegistrationOutcome[OfferTrainingResult]:
    """Report, log and register a trained ranker; gate it on NDCG@k against the champion.

    A promoted version is exported to ``models_dir/kam-offers`` as a verified bundle.
    """
    definition = result.definition
    gate_metric = f"ndcg_at_{result.k}"
    report_path = write_offer_report(result, report_dir)
    with store.run(OFFERS_MODEL_NAME, run_name=f"offers-{result.as_of.date()}") as run_id:
        log_training_run(
            store,
            definition,
            result.hyperparameters,
            result.fingerprint,
            result.split,
            result.feature_names,
            result.metrics,
            extra_params={
                "k": result.k,
                "catalogue": list(result.catalogue),
            },
        )
        store.log_artifacts(report_dir, "report")
        example = result.validation_pairs[result.feature_names].head(5)
        logged, decision = register_through_gate(
            store,
            offers_bundle(result, version="pending"),
            input_example=example,
            output_example=result.model.predict(example),
            run_id=run_id,
            gate_metric=gate_metric,
            challenger_score=result.metrics["ranker"][gate_metric],
            score_champion=lambda champion: _ndcg(champion, result),
        )
    bundle_path = None
    if decision.promote:
        bundle_path = save_bundle(
            offers_bundle(result, version=logged.version), models_dir / OFFERS_MODEL_NAME
        )
    return RegistrationOutcome(result, logged.version, run_id, decision, report_path, bundle_path)


def _ndcg(champion: ModelBundle, result: OfferTrainingResult) -> float:
    """The champion's NDCG@k on the challenger's validation pairs (KeyError if it needs
    features these pairs lack)."""
    pairs = result.validation_pairs
    scores = pairs[KEYS].assign(score=champion.model.predict(pairs[champion.feature_names]))
    truth = result.validation.loc[result.validation["bought"] == 1, KEYS]
    metrics = ranking_metrics(truth, scores, result.k, result.catalogue, QUERY)
    return metrics[f"ndcg_at_{result.k}"]


def offers_bundle(result: OfferTrainingResult, version: str) -> ModelBundle:
    baselines = {k: v for k, v in result.metrics.items() if k != "ranker"}
    extra = {"k": result.k, "catalogue": list(result.catalogue), "baselines": baselines}
    return result_bundle(result, OFFERS_MODEL_NAME, version, result.metrics["ranker"], extra)
