"""The ``kam-ml train`` job for the offer ranker: train, check for leakage, register (or skip)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.evaluation.ranking import ranking_metrics
from kam_ml.offers.leakage import offer_leakage_alarms
from kam_ml.offers.report import offers_grade, write_offer_report
from kam_ml.offers.training import (
    DEFAULT_K,
    KEYS,
    QUERY,
    OfferTrainingResult,
    refit_offers,
    train_offers,
)
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle
from kam_ml.registry.champions import MODEL_NAMES, ScoringModels
from kam_ml.registry.gate import ModelSpec, RegistrationOutcome, Skipped, register
from kam_ml.registry.tracking import TrackingStore

__all__ = [
    "MIN_CATEGORIES",
    "OFFERS_MODEL_NAME",
    "offers_skipped",
    "offers_spec",
    "scoring_models_for",
    "train_and_register_offers",
]

OFFERS_MODEL_NAME = MODEL_NAMES.offers
MIN_CATEGORIES = 2


def offers_spec(
    k: int = DEFAULT_K, leakage_alarms: tuple[str, ...] = (), *, refit: bool = True
) -> ModelSpec[OfferTrainingResult]:
    """How kam-offers is registered: gated on NDCG@``k`` (the ``k`` it was trained for),
    graded against the best top-categories baseline, blocked by a point-in-time alarm, and
    refit on every labelled cutoff after the gate unless ``refit`` is false."""
    return ModelSpec(
        name=OFFERS_MODEL_NAME,
        run_prefix="offers",
        gate_metric=f"ndcg_at_{k}",
        higher_is_better=True,
        scorer="ranker",
        score_champion=_ndcg,
        write_report=write_offer_report,
        example=_example,
        grade=lambda result: offers_grade(result.metrics),
        bundle_extra=_bundle_extra,
        run_params=lambda result: {"k": result.k, "catalogue": list(result.catalogue)},
        leakage_alarms=leakage_alarms,
        refit=refit_offers if refit else None,
    )


def offers_skipped(tables: Tables) -> Skipped | None:
    """Why the book gets no offer model, or None when it has something to rank.

    With a single category every account's only candidate is that category: the ranker
    and every baseline score NDCG 1.000 and the "next best offer" is what it already buys
    (CDNOW, one category ``music``). Training churn and value is still worth it.
    """
    catalogue = sorted(tables.categories["category"].astype(str))
    if len(catalogue) >= MIN_CATEGORIES:
        return None
    named = f" ({catalogue[0]})" if catalogue else ""
    noun = "category" if len(catalogue) == 1 else "categories"
    return Skipped(
        OFFERS_MODEL_NAME,
        f"the book has {len(catalogue)} {noun}{named}; next-best offers need at least "
        f"{MIN_CATEGORIES} to rank.",
    )


def scoring_models_for(tables: Tables, models: ScoringModels) -> ScoringModels:
    """``models`` as a scoring run of this book uses them: without the offer model, and
    the reason among ``problems``, when the book has too few categories to rank (whatever
    champion exists, say one trained on another book). ``kam-ml score``, the nightly job
    and the API's from-history scoring all go through here."""
    skipped = offers_skipped(tables)
    if skipped is None:
        return models
    kept = [p for p in models.problems if not p.startswith(f"{skipped.name}:")]
    problem = f"{skipped.name}: {skipped.reason}"
    return dataclasses.replace(models, offers=None, problems=(*kept, problem))


def train_and_register_offers(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    store: TrackingStore,
    models_dir: Path,
    report_dir: Path,
    account_features: pd.DataFrame | None = None,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
    *,
    refit: bool = True,
) -> RegistrationOutcome[OfferTrainingResult] | Skipped:
    """Train the offer ranker, log it to MLflow and promote it through the NDCG@k gate.

    The version registered and exported to ``models_dir/kam-offers`` is refit on every
    labelled cutoff after the gate (``refit=False`` keeps the held-out fit);
    ``Skipped`` (nothing trained or logged) when the book has fewer than
    ``MIN_CATEGORIES`` categories (``offers_skipped``).
    """
    skipped = offers_skipped(tables)
    if skipped is not None:
        return skipped
    result = train_offers(
        tables, as_of, definition, account_features=account_features, on_cutoff_done=on_cutoff_done
    )
    spec = offers_spec(result.k, offer_leakage_alarms(result, tables), refit=refit)
    return register(result, spec, store=store, models_dir=models_dir, report_dir=report_dir)


def _ndcg(champion: ModelBundle, result: OfferTrainingResult) -> float:
    """The champion's NDCG@k on the challenger's validation pairs (KeyError if it needs
    features these pairs lack)."""
    pairs = result.validation_pairs
    scores = pairs[KEYS].assign(score=champion.model.predict(pairs[champion.feature_names]))
    truth = result.truth
    metrics = ranking_metrics(truth, scores, result.k, result.catalogue, QUERY)
    return metrics[f"ndcg_at_{result.k}"]


def _example(result: OfferTrainingResult) -> tuple[pd.DataFrame, Any]:
    rows = result.validation_pairs[result.feature_names].head(5)
    return rows, result.model.predict(rows)


def _bundle_extra(result: OfferTrainingResult) -> Mapping[str, Any]:
    """What scoring needs besides the model: k, the catalogue, the baselines' metrics."""
    baselines = {name: m for name, m in result.metrics.items() if name != "ranker"}
    return {
        "k": result.k,
        "catalogue": list(result.catalogue),
        "candidates": result.candidates,
        "baselines": baselines,
    }
