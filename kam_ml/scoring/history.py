"""Score one account from a posted history: contract checks, features at T, the one path.

Used by the API for accounts created since the last nightly run. The history goes through
``validate_tables`` (refusing bad rows, so the caller learns which rule broke), features
are built at the snapshot's as-of date, scored once by ``score_features`` and explained by
``explained_scores``, as the nightly job does for every account.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd

from kam_ml.data.validation import validate_tables
from kam_ml.errors import InactiveAccountError
from kam_ml.features import build_features
from kam_ml.offers.job import scoring_models_for
from kam_ml.offers.population import PopulationStats
from kam_ml.registry.champions import ScoringModels
from kam_ml.scoring.explained import explained_scores
from kam_ml.scoring.score import score_features

__all__ = ["score_history"]


def score_history(
    raw: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    models: ScoringModels,
    population: PopulationStats | None = None,
    peers: pd.DataFrame | None = None,
    history_start: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The explained score (one row) of the single account in ``raw``.

    ``population``: the book's category statistics (the night's), so the account's offers
    are ranked against the book and not against itself. ``peers``: the night's band means,
    so its reasons are judged against the book's low-risk accounts, as in the nightly run
    (without them one account is its own only peer and gets no reasons). ``history_start``:
    the book's first day of order history (the night's manifest), so an account that signed
    up before it gets the book's "days since the first order". With the night's catalogue
    in ``raw`` and one category in it, the account gets no offers (``scoring_models_for``).
    """
    tables = validate_tables(raw, on_bad_rows="refuse").tables
    if "categories" in raw:  # the night's catalogue: one category ranks nothing, as nightly
        models = scoring_models_for(tables, models)
    if history_start is not None:
        tables = dataclasses.replace(tables, history_start=pd.Timestamp(history_start))
    definition = models.churn.definition
    features = build_features(tables, pd.Timestamp(as_of).normalize(), definition)
    if features.empty:
        account = tables.accounts["account_id"].iloc[0]
        raise InactiveAccountError(
            f"Account {account} is not active at {pd.Timestamp(as_of).date()}: it has no order "
            f"in the {definition.active_window_days} days up to that date, so it is not scored."
        )
    scored = score_features(features, models, population=population, tables=tables, peers=peers)
    return explained_scores(scored, features, tables.accounts)
