"""Reasons, and the explained scores: the one row per account the risk lists and the API show.

``top_reasons`` is the one reason rule: the scoring path calls it once and carries its
names, values and texts in ``Scored``. ``explained_scores`` turns a ``Scored`` into the
explained view: the scores plus the reasons' feature names and values, the average of each
reason feature among low/medium/high-risk accounts, and the change since the previous
night with the features that moved it. The nightly job builds it for every account and the
API for a posted history from the same ``Scored``, so both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kam_ml.features import FEATURES, describe_reason
from kam_ml.offers.recommend import OFFER_COLUMNS

if TYPE_CHECKING:
    from kam_ml.scoring.score import Scored

__all__ = [
    "BANDS",
    "Reasons",
    "band_means",
    "explained_scores",
    "moved_by",
    "top_reasons",
]

BANDS = ("low", "medium", "high")
_N_MOVERS = 2


@dataclass(frozen=True)
class Reasons:
    """Each row's reasons, strongest first: the features, their values, and in words.

    ``values`` is None for a categorical feature (its text names the label).
    """

    features: list[list[str]]
    values: list[list[float | None]]
    texts: list[list[str]]


def top_reasons(contributions: pd.DataFrame, features: pd.DataFrame, n: int = 3) -> Reasons:
    """The ``n`` largest positive contributions of each row, as reasons.

    Only features that raise risk are reasons; an account whose risk is below the average
    may have fewer than ``n`` (or none), which is the honest answer. Ties keep the
    feature order (a stable sort), so a row gets the same reasons alone or in a batch.
    """
    values = contributions.to_numpy()
    names = list(contributions.columns)
    order = np.argsort(-values, axis=1, kind="stable")[:, :n]
    positive = np.take_along_axis(values, order, axis=1) > 0
    columns = {name: features[name].to_numpy(dtype=object) for name in names}
    reasons = Reasons(features=[], values=[], texts=[])
    for row, (top, keep) in enumerate(zip(order, positive, strict=True)):
        chosen = [names[j] for j, k in zip(top, keep, strict=True) if k]
        raw = [columns[name][row] for name in chosen]
        reasons.features.append(chosen)
        reasons.values.append([_number(value) for value in raw])
        reasons.texts.append(
            [describe_reason(name, value) for name, value in zip(chosen, raw, strict=True)]
        )
    return reasons


def band_means(features: pd.DataFrame, risk_band: np.ndarray) -> pd.DataFrame:
    """Mean of every numeric feature per risk band (index: feature; columns: low/medium/high)."""
    numeric = [n for n in FEATURES if n in features and not FEATURES[n].categorical]
    grouped = features[numeric].groupby(np.asarray(risk_band)).mean()
    return grouped.reindex(list(BANDS)).T.rename_axis("feature")


def explained_scores(
    scored: Scored,
    features: pd.DataFrame,
    accounts: pd.DataFrame,
    previous: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per scored account; ``features`` are the rows ``scored`` was scored from.

    ``previous`` is the previous night's (explained scores, contributions) if any.
    """
    scores, contributions = scored.scores, scored.contributions
    n = len(scores)
    ids = scores["account_id"].to_numpy(dtype=object)
    profile = accounts.set_index("account_id").reindex(ids)
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
        "reason_features": scored.reasons.features,
        "reason_texts": scored.reasons.texts,
        "reason_values": scored.reasons.values,
    }
    for column in OFFER_COLUMNS:
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


def _lists(column: pd.Series) -> list[list[Any]]:
    """Cells as plain lists (empty for None); lists of plain strings pass through as they are."""
    values: list[Any] = column.to_list()
    if all(type(v) is list for v in values):
        return values
    return [_as_list(v) for v in values]


def _as_list(value: Any) -> list[float | str | None]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [_plain(v) for v in value]


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
