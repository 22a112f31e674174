"""One scoring path, shared by ``kam-ml score``, the nightly job and the API."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables, sorted_for_features
from kam_ml.errors import DefinitionError
from kam_ml.features import build_features
from kam_ml.offers.pairs import build_offer_pairs
from kam_ml.offers.population import PopulationStats, population_stats
from kam_ml.offers.recommend import recommend_offers
from kam_ml.offers.rules import OfferRules
from kam_ml.registry.bundle import ModelBundle
from kam_ml.scoring.explain import top_reasons

__all__ = ["RiskBands", "ScoringModels", "score_accounts", "score_features"]


@dataclass(frozen=True)
class ScoringModels:
    """The champion bundles a scoring run uses; offers and value are optional until trained."""

    churn: ModelBundle
    offers: ModelBundle | None = None
    value: ModelBundle | None = None

    def versions(self) -> dict[str, str | None]:
        return {
            "churn": self.churn.version,
            "offers": self.offers.version if self.offers else None,
            "value": self.value.version if self.value else None,
        }


@dataclass(frozen=True)
class RiskBands:
    """Calibrated-probability thresholds: ``high`` >= 0.5 (likelier to churn than not),
    ``medium`` >= 0.25 (about twice the typical base rate), ``low`` below."""

    high: float = 0.5
    medium: float = 0.25

    def band(self, probability: np.ndarray) -> np.ndarray:
        return np.select(
            [probability >= self.high, probability >= self.medium], ["high", "medium"], "low"
        ).astype(object)


def score_accounts(
    tables: Tables,
    as_of: pd.Timestamp,
    models: ScoringModels,
    bands: RiskBands = RiskBands(),
    n_reasons: int = 3,
    k_offers: int = 3,
    population: PopulationStats | None = None,
    offer_rules: OfferRules | None = None,
) -> pd.DataFrame:
    """Score every account active at ``as_of`` with the churn bundle's problem definition.

    ``population``: the book's category statistics at ``as_of``. Scoring the whole book may
    leave it None (it is computed from ``tables``); scoring part of the book (one account
    posted to the API) must pass the book's, or offers would be ranked against a
    "population" of that one account. ``offer_rules`` defaults to ``OfferRules()``.
    """
    features = build_features(tables, pd.Timestamp(as_of), models.churn.definition)
    return score_features(
        features,
        models,
        bands,
        n_reasons,
        k_offers=k_offers,
        population=population,
        tables=tables,
        offer_rules=offer_rules,
    )


def score_features(
    features: pd.DataFrame,
    models: ScoringModels | ModelBundle,
    bands: RiskBands = RiskBands(),
    n_reasons: int = 3,
    k_offers: int = 3,
    population: PopulationStats | None = None,
    tables: Tables | None = None,
    offer_rules: OfferRules | None = None,
) -> pd.DataFrame:
    """Scores for prepared feature rows: the same rows training built for that cutoff.

    Churn columns always; ``expected_value_12m`` and ``revenue_at_risk`` with a value model
    (NaN without); ``offers``, ``offer_scores`` and ``offer_reasons`` (lists, best first)
    with an offers model (None without), which also needs the ``tables`` the features
    were built from: offers are ranked from the account's order history.
    """
    if isinstance(models, ModelBundle):
        models = ScoringModels(churn=models)
    churn = models.churn
    X = features[churn.feature_names]
    probability = churn.model.predict_proba(X)[:, 1]
    reasons = top_reasons(churn.model.contributions(X), X, n_reasons) if len(X) else []
    scores = pd.DataFrame(
        {
            "account_id": features["account_id"].to_numpy(dtype=object),
            "as_of": features["cutoff"].to_numpy(),
            "churn_probability": probability,
            "risk_band": bands.band(probability),
            "reasons": pd.Series(reasons, dtype=object),
            "churn_model_version": churn.version,
        }
    )
    expected = np.full(len(features), np.nan)
    if models.value is not None:
        _check_same_features_rule(churn, models.value)
        expected = models.value.model.predict(features[models.value.feature_names])
    scores["expected_value_12m"] = expected
    scores["revenue_at_risk"] = probability * expected
    rules = offer_rules if offer_rules is not None else OfferRules()
    scores = scores.join(_offers(features, models, k_offers, population, tables, rules))
    scores["offers_model_version"] = models.offers.version if models.offers else None
    scores["value_model_version"] = models.value.version if models.value else None
    return scores


def _offers(
    features: pd.DataFrame,
    models: ScoringModels,
    k: int,
    population: PopulationStats | None,
    tables: Tables | None,
    rules: OfferRules,
) -> pd.DataFrame:
    """Offer lists aligned with ``features`` rows (None in every cell without a model)."""
    columns = ("offers", "offer_scores", "offer_reasons")
    if models.offers is None:
        return pd.DataFrame({c: [None] * len(features) for c in columns}, dtype=object)
    if tables is None:
        raise ValueError(
            "Scoring offers needs the tables the features were built from (the accounts' "
            "order history): pass tables= to score_features, or use score_accounts."
        )
    _check_same_features_rule(models.churn, models.offers)
    cutoffs = pd.unique(features["cutoff"])
    if len(cutoffs) != 1:
        raise ValueError(f"Offers are scored at one date; the features hold {len(cutoffs)}.")
    as_of = pd.Timestamp(cutoffs[0])
    definition = models.offers.definition
    # population_stats and build_offer_pairs each sort and encode the order lines they get;
    # given them once sorted, both find them in order and skip it (seconds at 20M lines)
    tables = sorted_for_features(tables)
    if population is None:
        population = population_stats(tables, as_of, definition)
    pairs = build_offer_pairs(
        tables, as_of, definition, population=population, account_features=features
    )
    lists = recommend_offers(models.offers.model, models.offers.feature_names, pairs, rules, k)
    aligned = lists.set_index("account_id").reindex(features["account_id"].to_numpy())
    return pd.DataFrame(
        {c: aligned[c].to_numpy(dtype=object) for c in columns}, index=range(len(features))
    )


def _check_same_features_rule(churn: ModelBundle, other: ModelBundle) -> None:
    """Both bundles must cut history the same way, or one feature build cannot serve both."""
    keys = ("active_window_days", "return_lag_days")
    mismatched = [k for k in keys if getattr(churn.definition, k) != getattr(other.definition, k)]
    if mismatched:
        raise DefinitionError(
            f"{other.model_name} v{other.version} was trained with "
            + ", ".join(f"{k}={getattr(other.definition, k)}" for k in mismatched)
            + f" but {churn.model_name} v{churn.version} with "
            + ", ".join(f"{k}={getattr(churn.definition, k)}" for k in mismatched)
            + "; retrain them on one problem definition."
        )
