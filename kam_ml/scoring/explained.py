"""Explained scores: the one row per account that the risk lists and the API show.

Built from the scoring path's output plus the reasons' feature names and values, the
average of each reason feature among low/medium/high-risk accounts, and the change since
the previous night with the features that moved it. The nightly job builds it for every
account and the API for a posted history with the same function, so both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kam_ml.features import FEATURES
from kam_ml.registry.champions import score_with
from kam_ml.scoring.score import ScoringModels

__all__ = [
    "BANDS",
    "EXPLAINED_COLUMNS",
    "Explained",
    "band_means",
    "explained_scores",
    "moved_by",
    "score_and_explain",
]

BANDS = ("low", "medium", "high")
_N_MOVERS = 2
_OFFER_COLUMNS = ("offers", "offer_scores", "offer_reasons")
EXPLAINED_COLUMNS = (
    "account_id",
    "manager",
    "region",
    "segment",
    "as_of",
    "churn_probability",
    "risk_band",
    "revenue_at_risk",
    "expected_value_12m",
    "revenue_365d",
    "reason_features",
    "reason_texts",
    "reason_values",
    *_OFFER_COLUMNS,
    "churn_model_version",
    "offers_model_version",
    "value_model_version",
    "previous_probability",
    "probability_change",
    "moved_by",
)


@dataclass(frozen=True)
class Explained:
    """The scoring path's output, the contributions behind the reasons, and the view."""

    scores: pd.DataFrame
    contributions: pd.DataFrame
    explained: pd.DataFrame


def score_and_explain(
    features: pd.DataFrame,
    models: ScoringModels,
    accounts: pd.DataFrame,
    population: Any | None = None,
    previous: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    tables: Any | None = None,
) -> Explained:
    """Score feature rows with the one scoring path and explain them: the nightly job (all
    accounts) and the API's from-history endpoint (one account) both call this."""
    scores = score_with(features, models, population, tables=tables)
    churn = models.churn
    contributions = churn.model.contributions(features[churn.feature_names])
    contributions = contributions.astype(np.float32).reset_index(drop=True)
    explained = explained_scores(scores, features, contributions, accounts, previous=previous)
    return Explained(scores, contributions, explained)


def band_means(features: pd.DataFrame, risk_band: np.ndarray) -> pd.DataFrame:
    """Mean of every numeric feature per risk band (index: feature; columns: low/medium/high)."""
    numeric = [n for n in FEATURES if n in features and not FEATURES[n].categorical]
    grouped = features[numeric].groupby(np.asarray(risk_band)).mean()
    return grouped.reindex(list(BANDS)).T.rename_axis("feature")


def explained_scores(
    scores: pd.DataFrame,
    features: pd.DataFrame,
    contributions: pd.DataFrame,
    accounts: pd.DataFrame,
    n_reasons: int = 3,
    previous: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per scored account; rows of ``scores``, ``features`` and ``contributions``
    are aligned (the scoring path keeps the feature frame's order).

    ``previous`` is the previous night's (explained scores, contributions) if any.
    """
    n = len(scores)
    ids = scores["account_id"].to_numpy(dtype=object)
    profile = accounts.set_index("account_id").reindex(ids)
    reason_features, reason_values = _reason_features(contributions, features, n_reasons)
    texts = _lists(scores["reasons"])
    revenue = features["revenue_365d"].to_numpy(dtype=float)
    probability = scores["churn_probability"].to_numpy(dtype=float)
    out = {
        "account_id": ids,
        "manager": profile["manager"].to_numpy(dtype=object),
        "region": profile["region"].to_numpy(dtype=object),
        "segment": profile["segment"].to_numpy(dtype=object),
        "as_of": scores["as_of"].to_numpy(),
        "churn_probability": probability,
        "risk_band": scores["risk_band"].to_numpy(dtype=object),
        "revenue_at_risk": _column(scores, "revenue_at_risk", probability * revenue),
        "expected_value_12m": _column(scores, "expected_value_12m", np.full(n, np.nan)),
        "revenue_365d": revenue,
        "reason_features": reason_features,
        "reason_texts": texts,
        "reason_values": reason_values,
    }
    for column in _OFFER_COLUMNS:
        out[column] = _lists(scores[column]) if column in scores else [[] for _ in range(n)]
    for model in ("churn", "offers", "value"):
        column = f"{model}_model_version"
        out[column] = (
            scores[column].astype(object).to_numpy() if column in scores else np.full(n, None)
        )
    frame = pd.DataFrame(out)
    change, movers = _changes(frame, contributions, previous)
    frame["previous_probability"] = change
    frame["probability_change"] = probability - change
    frame["moved_by"] = movers
    return frame


def moved_by(delta: np.ndarray, names: list[str], n: int = _N_MOVERS) -> list[list[str]]:
    """The ``n`` features whose contribution to the log-odds changed most, per row, in words:
    "No order for N days: +0.41" (positive: pushed risk up)."""
    order = np.argsort(-np.abs(delta), axis=1, kind="stable")[:, :n]
    movers: list[list[str]] = []
    for row, top in enumerate(order):
        movers.append(
            [
                f"{FEATURES[names[j]].description}: {delta[row, j]:+.2f}"
                for j in top
                if abs(delta[row, j]) >= 0.01
            ]
        )
    return movers


def _reason_features(
    contributions: pd.DataFrame, features: pd.DataFrame, n: int
) -> tuple[list[list[str]], list[list[float | None]]]:
    """Names and values of the reasons ``explain.top_reasons`` picks (same rule, same order)."""
    values = contributions.to_numpy()
    names = list(contributions.columns)
    order = np.argsort(-values, axis=1, kind="stable")[:, :n]
    positive = np.take_along_axis(values, order, axis=1) > 0
    columns = {name: features[name].to_numpy(dtype=object) for name in names}
    reason_names: list[list[str]] = []
    reason_values: list[list[float | None]] = []
    for row, (top, keep) in enumerate(zip(order, positive, strict=True)):
        chosen = [names[j] for j, k in zip(top, keep, strict=True) if k]
        reason_names.append(chosen)
        reason_values.append([_number(columns[name][row]) for name in chosen])
    return reason_names, reason_values


def _changes(
    frame: pd.DataFrame,
    contributions: pd.DataFrame,
    previous: tuple[pd.DataFrame, pd.DataFrame] | None,
) -> tuple[np.ndarray, list[list[str]]]:
    n = len(frame)
    if previous is None or n == 0:
        return np.full(n, np.nan), [[] for _ in range(n)]
    before, before_contributions = previous
    position = pd.Index(before["account_id"]).get_indexer(frame["account_id"])
    known = position >= 0
    probability = np.full(n, np.nan)
    probability[known] = before["churn_probability"].to_numpy(dtype=float)[position[known]]
    names = list(contributions.columns)
    shared = [name for name in names if name in before_contributions]
    delta = np.zeros((n, len(names)))
    if shared:
        old = before_contributions[shared].to_numpy(dtype=float)[position[known]]
        now = contributions[shared].to_numpy(dtype=float)[known]
        delta[np.ix_(known, [names.index(s) for s in shared])] = now - old
    movers = moved_by(delta, names)
    return probability, [m if k else [] for m, k in zip(movers, known, strict=True)]


def _column(scores: pd.DataFrame, name: str, fallback: np.ndarray) -> np.ndarray:
    """The scoring path's column where it has a value (e.g. with a value model), else the
    fallback (revenue at risk without a value model: probability x last-year revenue)."""
    if name not in scores:
        return fallback
    values = scores[name].to_numpy(dtype=float)
    return np.where(np.isnan(values), fallback, values)


def _lists(column: pd.Series) -> list[list]:
    """Cells as plain lists (empty for None); lists of plain strings pass through as they are."""
    values = column.to_list()
    if all(type(v) is list for v in values):
        return values
    return [_as_list(v) for v in values]


def _as_list(value: object) -> list:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [_plain(v) for v in value]  # type: ignore[union-attr]


def _number(value: object) -> float | None:
    """A reason's numeric value; None for categorical features (their text names the label)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _plain(value: object) -> float | str | None:
    """A JSON- and Parquet-friendly scalar."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value if isinstance(value, int | float) else str(value)
