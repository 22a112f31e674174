"""``score_features`` over a book a bucket of accounts at a time, with the same answers.

Why: scoring a whole book at once holds every account's offer candidates in memory (at
1M accounts the scoring stage peaks 5 GiB above the validated book). Everything scored per
account depends only on the account's rows and on two book-level inputs, so those are
computed once for the book and passed to every bucket:

- ``population``: the book's category statistics the offers are ranked against;
- ``peers``: the band means the reasons are judged against — the book's feature rows
  averaged per risk band, from one prediction over the book's (small) feature rows.

``score_bucket`` is the unit an engine maps over buckets (the loop here; a cluster could
map the same function), and ``score_in_buckets`` puts the buckets' rows back in the book's
order, so the result is the ``Scored`` of one ``score_features`` call, value for value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kam_ml.data.buckets import split_by_bucket
from kam_ml.data.tables import Tables
from kam_ml.offers.population import PopulationStats
from kam_ml.registry.champions import ScoringModels
from kam_ml.scoring.explained import Reasons, band_means
from kam_ml.scoring.score import RiskBands, Scored, score_features

__all__ = ["book_peers", "score_bucket", "score_in_buckets"]


def book_peers(features: pd.DataFrame, models: ScoringModels) -> pd.DataFrame:
    """The band means of the whole book, as ``score_features`` computes them for a book."""
    churn = models.churn
    probability = churn.model.predict_proba(features[churn.feature_names])[:, 1]
    return band_means(features, RiskBands().band(probability))


def score_bucket(
    features: pd.DataFrame,
    bucket: Tables,
    models: ScoringModels,
    peers: pd.DataFrame,
    population: PopulationStats | None = None,
) -> Scored:
    """One bucket's feature rows scored against the book's ``peers`` and ``population``."""
    return score_features(features, models, population=population, tables=bucket, peers=peers)


def score_in_buckets(
    features: pd.DataFrame,
    tables: Tables,
    models: ScoringModels,
    n_buckets: int,
    population: PopulationStats | None = None,
) -> Scored:
    """``score_features(features, models, population=..., tables=tables)``, computed
    ``n_buckets`` buckets of accounts at a time (``kam_ml.data.buckets``), default bands."""
    if n_buckets <= 1:
        return score_features(features, models, population=population, tables=tables)
    peers = book_peers(features, models)
    position = pd.Index(tables.accounts["account_id"]).get_indexer(features["account_id"])
    rows, parts = [], []
    for positions, bucket in split_by_bucket(tables, n_buckets):
        mine = np.flatnonzero(np.isin(position, positions))
        if not len(mine):
            continue
        part = features.iloc[mine].reset_index(drop=True)
        rows.append(mine)
        parts.append(score_bucket(part, bucket, models, peers, population))
    return _in_book_order(parts, np.concatenate(rows), peers)


def _in_book_order(parts: list[Scored], rows: np.ndarray, peers: pd.DataFrame) -> Scored:
    """The parts' rows stacked, then put back in the order of the book's feature rows."""
    order = np.argsort(rows, kind="stable")

    def stacked(frames: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(frames, ignore_index=True).iloc[order].reset_index(drop=True)

    def listed(field: str) -> list[Any]:
        values = [v for part in parts for v in getattr(part.reasons, field)]
        return [values[i] for i in order]

    reasons = Reasons(
        features=listed("features"),
        values=listed("values"),
        texts=listed("texts"),
        details=listed("details"),
    )
    scores = stacked([part.scores for part in parts])
    contributions = stacked([part.contributions for part in parts])
    return Scored(scores, contributions, reasons, peers)
