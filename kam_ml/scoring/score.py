"""One scoring path, shared by ``kam-ml score``, the nightly job and the API.

``score_features`` predicts and explains in one pass and hands back ``Scored``: the scores,
the churn model's contributions and the reasons picked from them. The nightly job and
``score_history`` build their explained view from that, so contributions are computed once
per row and the reasons in the scores, the risk lists and the API cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.errors import DefinitionError, ScoringInputError
from kam_ml.features import build_features
from kam_ml.offers.population import PopulationStats
from kam_ml.offers.recommend import OFFER_COLUMNS, recommend_offers
from kam_ml.offers.rules import OfferRules
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle
from kam_ml.registry.champions import ScoringModels
from kam_ml.scoring.explained import Reasons, band_means, top_reasons

__all__ = ["RiskBands", "Scored", "require_active_accounts", "score_accounts", "score_features"]


@dataclass(frozen=True)
class Scored:
    """One scoring pass, rows aligned with the feature rows it was given (index 0..n-1).

    scores: what ``kam-ml score`` writes and the nightly snapshot stores as scores.
    contributions: each feature's contribution to the churn log-odds, as float32 (what the
        snapshot stores and tomorrow's change is measured against).
    reasons: the reasons in ``scores["reasons"]`` (and, structured, ``reason_details``),
        with their feature names and values, picked once from the full-precision
        contributions.
    peers: each feature's average among low/medium/high-risk accounts (``band_means``)
        that the reasons were judged against: the scored rows' own, or those passed in.
    """

    scores: pd.DataFrame
    contributions: pd.DataFrame
    reasons: Reasons
    peers: pd.DataFrame


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
    peers: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score every account active at ``as_of`` with the churn bundle's problem definition:
    the scores of ``score_features`` (use that for the contributions too).

    ``population``: the book's category statistics at ``as_of``. Scoring the whole book may
    leave it None (it is computed from ``tables``); scoring part of the book (one account
    posted to the API) must pass the book's, or offers would be ranked against a
    "population" of that one account. ``peers`` likewise: the book's band means, which
    reasons are judged against (see ``score_features``). ``offer_rules`` defaults to
    ``OfferRules()``.
    """
    features = build_features(tables, pd.Timestamp(as_of), models.churn.definition)
    require_active_accounts(features, tables, pd.Timestamp(as_of), models.churn.definition)
    scored = score_features(
        features,
        models,
        bands=bands,
        n_reasons=n_reasons,
        k_offers=k_offers,
        population=population,
        tables=tables,
        offer_rules=offer_rules,
        peers=peers,
    )
    return scored.scores


def require_active_accounts(
    features: pd.DataFrame, tables: Tables, as_of: pd.Timestamp, definition: ProblemDefinition
) -> None:
    """Raise ``ScoringInputError`` when no account of the book is active at ``as_of``: a book
    scored at a date outside its history is a wrong date or wrong data, not an empty night."""
    if len(features):
        return
    first = tables.first_date().date()
    last = pd.Timestamp(tables.orders["order_date"].max()).normalize().date()
    window = definition.active_window_days
    raise ScoringInputError(
        f"No account is active at {as_of.date()}, so there is nothing to score: an account "
        f"is active with an order in the {window} days up to the as-of date, and the orders "
        f"run from {first} to {last}. Use an as-of date from {first} to "
        f"{(pd.Timestamp(last) + pd.Timedelta(days=window - 1)).date()}, or check the "
        "orders table."
    )


def score_features(
    features: pd.DataFrame,
    models: ScoringModels,
    *,
    bands: RiskBands = RiskBands(),
    n_reasons: int = 3,
    k_offers: int = 3,
    population: PopulationStats | None = None,
    tables: Tables | None = None,
    offer_rules: OfferRules | None = None,
    peers: pd.DataFrame | None = None,
) -> Scored:
    """Scores for prepared feature rows: the same rows training built for that cutoff.

    ``peers``: the book's ``band_means`` when the rows are part of a book (one account
    posted to the API is judged against the night's peers, so it gets the book's reasons);
    None computes them from the rows themselves (a whole book).

    Churn columns always; ``expected_value_12m`` and ``revenue_at_risk`` with a value model
    (NaN without); ``offers``, ``offer_scores`` and ``offer_reasons`` (lists, best first)
    with an offers model (None without), which also needs the ``tables`` the features
    were built from: offers are ranked from the account's order history.
    """
    churn = models.churn
    X = features[churn.feature_names]
    probability = churn.model.predict_proba(X)[:, 1]
    if len(X):
        contributions = churn.model.contributions(X)
    else:  # nothing to explain (and the explainer would be asked for zero leaves)
        contributions = pd.DataFrame(columns=churn.feature_names, dtype=np.float64)
    risk_band = bands.band(probability)
    if peers is None:
        peers = band_means(features, risk_band)
    reasons = top_reasons(contributions, features, peers, n_reasons)
    scores = pd.DataFrame(
        {
            "account_id": features["account_id"].to_numpy(dtype=object),
            "as_of": features["cutoff"].to_numpy(),
            "churn_probability": probability,
            "risk_band": risk_band,
            "reasons": pd.Series(reasons.texts, dtype=object),
            "reason_details": pd.Series(reasons.details, dtype=object),
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
    contributions = contributions.astype(np.float32).reset_index(drop=True)
    return Scored(scores, contributions, reasons, peers)


def _offers(
    features: pd.DataFrame,
    models: ScoringModels,
    k: int,
    population: PopulationStats | None,
    tables: Tables | None,
    rules: OfferRules,
) -> pd.DataFrame:
    """Offer lists aligned with ``features`` rows (None in every cell without a model)."""
    if models.offers is None:
        return pd.DataFrame({c: [None] * len(features) for c in OFFER_COLUMNS}, dtype=object)
    if tables is None:
        raise ScoringInputError(
            "Scoring offers needs the tables the features were built from (the accounts' "
            "order history): pass tables= to score_features, or use score_accounts."
        )
    _check_same_features_rule(models.churn, models.offers)
    return recommend_offers(
        models.offers, tables, features, rules=rules, k=k, population=population
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
