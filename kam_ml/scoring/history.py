"""Score accounts from posted histories: contract checks, features at T, the one path.

Used by the API for accounts created since the last nightly run. The histories go through
``validate_tables`` (refusing bad rows, so the caller learns which rule broke), features
are built at the snapshot's as-of date, scored once by ``score_features`` and explained by
``explained_scores``, as the nightly job does for every account.

Why many at once: the pipeline is vectorised over accounts, so scoring twenty histories
together costs about what one costs (the fixed cost of a few hundred pandas operations
dominates a single account). Every account is still judged alone: its features and scores
depend only on its own rows and the night's statistics, and a history that breaks a rule
is refused by itself, never taking the others down with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from kam_ml.data.tables import sorted_for_features
from kam_ml.data.validation import validate_tables
from kam_ml.errors import DataContractError, InactiveAccountError, KamMLError
from kam_ml.features import build_features
from kam_ml.offers.job import scoring_models_for
from kam_ml.offers.population import PopulationStats
from kam_ml.registry.champions import ScoringModels
from kam_ml.scoring.explained import explained_scores
from kam_ml.scoring.score import score_features

__all__ = ["HistoryScores", "score_histories"]

_PER_ACCOUNT_TABLES = ("accounts", "orders", "interactions")


@dataclass(frozen=True)
class HistoryScores:
    """``explained``: one explained-score row per account scored; ``refused``: account id ->
    why it was not (the contract rule its history broke, or that it is not active)."""

    explained: pd.DataFrame
    refused: dict[str, KamMLError] = field(default_factory=dict)


def score_histories(
    raw: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    models: ScoringModels,
    population: PopulationStats | None = None,
    peers: pd.DataFrame | None = None,
    history_start: pd.Timestamp | None = None,
) -> HistoryScores:
    """The explained scores of the accounts in ``raw`` (one history per account id), each
    as it would be scored alone.

    ``population``: the book's category statistics (the night's), so the accounts' offers
    are ranked against the book and not against each other. ``peers``: the night's band
    means, so reasons are judged against the book's low-risk accounts, as in the nightly
    run (without them a lone account is its own only peer and gets no reasons).
    ``history_start``: the book's first day of order history (the night's manifest), so an
    account that signed up before it gets the book's "days since the first order". With
    the night's catalogue in ``raw`` and one category in it, no account gets offers
    (``scoring_models_for``).

    A contract error in the histories is traced to the accounts that cause it by halving
    the set (a few extra checks for one bad history among twenty, instead of scoring the
    twenty one by one), so each refusal carries the error that account alone would get.
    """
    try:
        tables = validate_tables(raw, on_bad_rows="refuse").tables
    except DataContractError as error:
        accounts = raw["accounts"]["account_id"].astype(str).tolist()
        if len(accounts) <= 1:
            return HistoryScores(pd.DataFrame(), dict.fromkeys(accounts, error))
        half = len(accounts) // 2
        parts = [
            score_histories(_only(raw, ids), as_of, models, population, peers, history_start)
            for ids in (accounts[:half], accounts[half:])
        ]
        frames = [p.explained for p in parts if len(p.explained)]
        explained = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return HistoryScores(explained, {k: v for p in parts for k, v in p.refused.items()})
    if "categories" in raw:  # the night's catalogue: one category ranks nothing, as nightly
        models = scoring_models_for(tables, models)
    if history_start is not None:
        tables = dataclasses.replace(tables, history_start=pd.Timestamp(history_start))
    # features and offers each sort and encode the order lines; sorted once here, both
    # find them in order (a few ms of a pass: tiny frames pay pandas' fixed cost each time)
    tables = sorted_for_features(tables)
    definition = models.churn.definition
    as_of = pd.Timestamp(as_of).normalize()
    features = build_features(tables, as_of, definition)
    scored_ids = set(features["account_id"].astype(str))
    refused: dict[str, KamMLError] = {
        account: InactiveAccountError(
            f"Account {account} is not active at {as_of.date()}: it has no order in the "
            f"{definition.active_window_days} days up to that date, so it is not scored."
        )
        for account in tables.accounts["account_id"].astype(str)
        if account not in scored_ids
    }
    if features.empty:
        return HistoryScores(pd.DataFrame(), refused)
    scored = score_features(features, models, population=population, tables=tables, peers=peers)
    return HistoryScores(explained_scores(scored, features, tables.accounts), refused)


def _only(raw: Mapping[str, pd.DataFrame], accounts: Sequence[str]) -> dict[str, pd.DataFrame]:
    """``raw`` cut to ``accounts``; rows of no account in ``raw`` stay in every part, so the
    rule they break is reported for every account instead of vanishing with the split."""
    known = raw["accounts"]["account_id"].astype(str)
    keep = set(accounts)
    parts = dict(raw)
    for name in _PER_ACCOUNT_TABLES:
        if name in raw:
            ids = raw[name]["account_id"].astype(str)
            parts[name] = raw[name][ids.isin(keep) | ~ids.isin(known)]
    return parts
