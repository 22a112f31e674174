"""Train the offer ranker on stacked cutoffs, evaluate it against the baselines, refit it.

``train_offers`` fits on the training side and measures on the held-out cutoffs (the
gate's evidence); ``refit_offers`` fits the same ranker on every labelled cutoff, the
newest calibrating, for the version that scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.base import clone

from kam_ml.data.tables import Tables, data_fingerprint
from kam_ml.evaluation.ranking import ranking_metrics
from kam_ml.features import build_features
from kam_ml.offers.baselines import OFFER_BASELINES
from kam_ml.offers.candidates import DEFAULT_CANDIDATES
from kam_ml.offers.pairs import OFFER_FEATURE_COLUMNS, build_offer_pairs
from kam_ml.offers.ranker import OfferRanker
from kam_ml.offers.rules import OfferRules, apply_offer_rules
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import offer_labels
from kam_ml.problem.splits import TimeSplit, split_by_layout
from kam_ml.registry.gate import Refit

__all__ = [
    "DEFAULT_K",
    "OfferTrainingResult",
    "candidate_recall",
    "next_purchases",
    "evaluate_offer_scores",
    "offer_matrix",
    "refit_offers",
    "train_offers",
]

DEFAULT_K = 3
QUERY = ["cutoff", "account_id"]
KEYS = [*QUERY, "category"]


@dataclass(frozen=True)
class OfferTrainingResult:
    """Everything an offer training run produced; tracking and bundles read from here."""

    model: OfferRanker
    definition: ProblemDefinition
    as_of: pd.Timestamp
    split: TimeSplit
    k: int
    validation: pd.DataFrame  # keys, bought, one score column per scorer
    validation_pairs: pd.DataFrame  # the pair rows behind ``validation``, for the gate
    metrics: dict[str, dict[str, float]]  # {"ranker": {...}, "own_most_bought": {...}, ...}
    catalogue: tuple[str, ...]
    fingerprint: dict[str, str | int]
    hyperparameters: dict[str, object] = field(default_factory=dict)
    candidates: int | None = None  # the generator's bound per account (None: every category)
    # every (cutoff, account_id, category) bought in the horizon at the validation cutoffs,
    # candidate or not: the metrics' truth, so a purchase the generator missed is a miss
    purchases: pd.DataFrame | None = None
    # every labelled pair (train, embargoed and validation cutoffs) and its label: what
    # ``refit_offers`` fits on; None once a refit consumed them (they are the big frame)
    labelled_pairs: pd.DataFrame | None = None
    labelled_labels: np.ndarray | None = None

    @property
    def truth(self) -> pd.DataFrame:
        """The purchases the metrics are computed against (candidates or not)."""
        if self.purchases is not None:
            return self.purchases
        return self.validation.loc[self.validation["bought"] == 1, KEYS]

    @property
    def feature_names(self) -> list[str]:
        return list(self.model.feature_names_in_)


def offer_matrix(pairs: pd.DataFrame, features: list[str] | None = None) -> pd.DataFrame:
    """The ranker's X: feature columns indexed by (cutoff, account_id, category)."""
    columns = list(OFFER_FEATURE_COLUMNS) if features is None else features
    return pairs.set_index(KEYS)[columns]


def train_offers(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    model: OfferRanker | None = None,
    k: int = DEFAULT_K,
    account_features: pd.DataFrame | None = None,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
    candidates: int | None = DEFAULT_CANDIDATES,
) -> OfferTrainingResult:
    """Pairs at every training cutoff; fit on the older ones, validate on the newest.

    Same cutoffs, embargo and validation cutoffs as the churn model, so the reports of
    both models describe the same accounts at the same dates. ``candidates`` bounds the
    categories per account (``kam_ml.offers.candidates``); the ranker learns from the
    candidates only, and is judged against every purchase, candidate or not.
    """
    as_of = pd.Timestamp(as_of).normalize()
    layout = definition.training_layout(as_of, tables.first_date())
    if account_features is None:
        account_features = build_features(tables, layout.cutoffs, definition)
    pairs = build_offer_pairs(
        tables,
        layout.cutoffs,
        definition,
        account_features=account_features,
        on_cutoff_done=on_cutoff_done,
        candidates=candidates,
    )
    labels = offer_labels(tables, pairs, definition)
    split = split_by_layout(pairs, layout)

    model = model if model is not None else OfferRanker()
    model.fit(offer_matrix(pairs.loc[split.train]), labels[split.train])

    validation_pairs = pairs.loc[split.validation].reset_index(drop=True)
    catalogue = tuple(sorted(tables.categories["category"].astype(str)))
    purchases = next_purchases(tables, validation_pairs, definition, catalogue)
    validation, metrics = evaluate_offer_scores(
        model, validation_pairs, labels[split.validation], k, catalogue, purchases
    )
    return OfferTrainingResult(
        model=model,
        definition=definition,
        as_of=as_of,
        split=split,
        k=k,
        validation=validation,
        validation_pairs=validation_pairs,
        metrics=metrics,
        catalogue=catalogue,
        fingerprint=data_fingerprint(tables, as_of),
        hyperparameters=model.get_params(),
        candidates=candidates,
        purchases=purchases,
        labelled_pairs=pairs,
        labelled_labels=labels,
    )


def refit_offers(result: OfferTrainingResult) -> Refit[OfferTrainingResult]:
    """The same ranker fitted again on every labelled cutoff (the newest calibrates, as in
    every ``OfferRanker.fit``); the held-out evidence stays the one the gate judged."""
    pairs, labels = result.labelled_pairs, result.labelled_labels
    if pairs is None or labels is None:
        raise ValueError(
            "refit_offers needs the result's labelled pairs; this result has none (it was "
            "refit already, or built without train_offers). Train it again with train_offers."
        )
    model = clone(result.model)
    model.fit(offer_matrix(pairs), labels)
    cutoffs = tuple(sorted(pd.Timestamp(c) for c in pairs["cutoff"].unique()))
    refit = replace(result, model=model, labelled_pairs=None, labelled_labels=None)
    return Refit(refit, cutoffs)


def evaluate_offer_scores(
    model: OfferRanker,
    pairs: pd.DataFrame,
    labels: np.ndarray,
    k: int,
    catalogue: tuple[str, ...],
    purchases: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """Rank validation pairs with the model, its expected-value variant and every baseline.

    ``ranker`` is the pure-relevance ranking (what the gate compares); ``ranker_expected_value``
    ranks by probability x spend x margin (the default business rule) to show what that
    costs in hits. ``purchases``: every purchase at these cutoffs (``next_purchases``),
    candidate or not; None takes the bought pairs. Every scorer gets
    ``candidate_recall``, the share of those purchases that were candidates: the ceiling
    of all their recalls.
    """
    probability = model.predict(pairs[list(model.feature_names_in_)])
    validation = pairs[KEYS].assign(bought=np.asarray(labels, dtype=int))
    validation["score_ranker"] = probability
    # every pair keeps its score: the metrics judge orderings, not the exclusion rule
    value_rules = OfferRules(
        rank_by="expected_value", exclude_bought_within_days=None, cold_start_max_orders=0
    )
    validation["score_ranker_expected_value"] = apply_offer_rules(pairs, probability, value_rules)[
        "score"
    ].to_numpy()
    for name, baseline in OFFER_BASELINES.items():
        validation[f"score_{name}"] = baseline(pairs)
    truth = validation.loc[validation["bought"] == 1, KEYS] if purchases is None else purchases
    recall = candidate_recall(truth, validation)
    metrics = {
        column.removeprefix("score_"): ranking_metrics(
            truth, validation[[*KEYS, column]], k, catalogue, QUERY, "category", column
        )
        | {"candidate_recall": recall}
        for column in validation.columns
        if column.startswith("score_")
    }
    return validation, metrics


def candidate_recall(purchases: pd.DataFrame, pairs: pd.DataFrame) -> float:
    """Share of the (cutoff, account_id, category) purchases that are rows of ``pairs``."""
    if not len(purchases):
        return float("nan")
    asked = pd.MultiIndex.from_frame(pairs[KEYS])
    return float(pd.MultiIndex.from_frame(purchases[KEYS]).isin(asked).mean())


def next_purchases(
    tables: Tables, pairs: pd.DataFrame, definition: ProblemDefinition, catalogue: tuple[str, ...]
) -> pd.DataFrame:
    """``KEYS`` of every catalogue category each query of ``pairs`` bought in the horizon.

    Asks ``offer_labels`` about every (query, category), candidate or not: the truth a
    candidate generator is judged by includes what it left out.
    """
    queries = pairs[QUERY].drop_duplicates().reset_index(drop=True)
    grid = queries.loc[queries.index.repeat(len(catalogue))].reset_index(drop=True)
    grid["category"] = np.tile(np.asarray(catalogue, dtype=object), len(queries))
    bought = offer_labels(tables, grid, definition) == 1
    return grid.loc[bought].reset_index(drop=True)
