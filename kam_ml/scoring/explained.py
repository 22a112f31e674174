"""Reasons, and the explained scores: the one row per account the risk lists and the API show.

``top_reasons`` is the one reason rule: the scoring path calls it once and carries its
names, values, texts and structured details in ``Scored``. A feature is a reason for an
account only when (1) its contribution raises the account's risk, (2) the account's value
is on the risky side of the low-risk accounts' average (its "peers": the low band's mean,
the number the page shows next to it; the risky side is the feature's ``churn_direction``,
or where the high-risk accounts' average lies for a feature without one) and (3) it is not
a context feature (tenure, first order, region, segment). The phrase is the spec's for that
side ("No order for 150 days — usually every 40"), so a reason cannot contradict its value.

``explained_scores`` turns a ``Scored`` into the explained view: the scores plus the
reasons (names, values, texts, details), and what changed since the previous night
(``kam_ml.scoring.changes``). The nightly job builds it for every account and the API for a
posted history from the same ``Scored``, so both agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kam_ml.features import FEATURES
from kam_ml.offers.recommend import OFFER_COLUMNS
from kam_ml.scoring.changes import PreviousNight, what_changed

if TYPE_CHECKING:
    from kam_ml.scoring.score import Scored

__all__ = [
    "BANDS",
    "REASON_DETAIL_FIELDS",
    "Reasons",
    "band_means",
    "explained_scores",
    "top_reasons",
]

BANDS = ("low", "medium", "high")
REASON_DETAIL_FIELDS = (
    "feature",
    "value",
    "direction",
    "peer_low_risk",
    "peer_high_risk",
    "contribution",
    "text",
)


@dataclass(frozen=True)
class Reasons:
    """Each row's reasons, strongest first: the features, their values, in words, and as
    structured details (dicts with ``REASON_DETAIL_FIELDS``, what the CRM renders from).

    ``values`` is None for a missing value (an account with one order has no overdue ratio).
    """

    features: list[list[str]]
    values: list[list[float | None]]
    texts: list[list[str]]
    details: list[list[dict[str, Any]]] = field(default_factory=list)


class _Row(Mapping[str, object]):
    """One account's feature row, read from the frame's columns only when a phrase asks."""

    def __init__(self, columns: Mapping[str, np.ndarray], row: int) -> None:
        self._columns, self._row = columns, row

    def __getitem__(self, name: str) -> object:
        return self._columns[name][self._row]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def top_reasons(
    contributions: pd.DataFrame, features: pd.DataFrame, peers: pd.DataFrame, n: int = 3
) -> Reasons:
    """Up to ``n`` reasons per row, largest contribution first, by the rule in the module
    docstring; ``peers`` is ``band_means`` of the book the rows were scored in.

    An account with fewer than ``n`` risky-side features that raise its risk gets fewer
    (or none), which is the honest answer. Ties keep the feature order (a stable sort), so
    a row gets the same reasons alone or in a batch, given the same peers.
    """
    names = list(contributions.columns)
    contribution = contributions.to_numpy(dtype=float)
    eligible = np.zeros(contribution.shape, dtype=bool)
    high_side = np.zeros(contribution.shape, dtype=bool)
    peer_low = np.full(len(names), np.nan)
    peer_high = np.full(len(names), np.nan)
    values: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        spec = FEATURES.get(name)
        if spec is None or spec.context or spec.categorical or spec.phrases is None:
            continue
        if name not in peers.index:
            continue
        low, high = float(peers.at[name, "low"]), float(peers.at[name, "high"])
        peer_low[j], peer_high[j] = low, high
        value = features[name].to_numpy(dtype=float)
        values[name] = value
        # the known direction, else the side the high-risk accounts are on (none without
        # both averages: a batch with no low- or no high-risk account cannot say)
        unknown = np.isnan(high) or np.isnan(low)
        risky = spec.churn_direction or (0 if unknown else int(np.sign(high - low)))
        with np.errstate(invalid="ignore"):
            side = np.sign(value - low)
        eligible[:, j] = (contribution[:, j] > 0) & (risky != 0) & (side == risky)
        high_side[:, j] = side > 0
        if spec.missing_is_riskiest and spec.phrases.missing is not None:
            missing = np.isnan(value) & (contribution[:, j] > 0)
            eligible[:, j] |= missing
            high_side[missing, j] = spec.churn_direction > 0
    masked = np.where(eligible, contribution, -np.inf)
    order = np.argsort(-masked, axis=1, kind="stable")[:, :n]
    keep = np.take_along_axis(masked, order, axis=1) > 0
    # The chosen (row, feature) pairs, row-major, strongest first within a row: everything
    # numeric is gathered with numpy; only the phrases are written one by one.
    counts = keep.sum(axis=1)
    rows = np.repeat(np.arange(len(contribution)), counts)
    cols = order[keep]
    chosen_value = np.full(len(rows), np.nan)
    texts: list[str] = [""] * len(rows)
    context = {c: features[c].to_numpy() for c in features.columns if c in FEATURES}
    for j in np.unique(cols):
        name = names[j]
        at = np.flatnonzero(cols == j)
        chosen_value[at] = values[name][rows[at]]
        sides = high_side[rows[at], j]
        phrase = FEATURES[name].phrase
        for k, row, value, high in zip(
            at.tolist(), rows[at].tolist(), chosen_value[at].tolist(), sides.tolist(), strict=True
        ):
            texts[k] = phrase("high" if high else "low", value, _Row(context, row))
    feature_names = [names[j] for j in cols.tolist()]
    value_list = [None if v != v else v for v in chosen_value.tolist()]  # NaN -> None
    direction_list = ["high" if h else "low" for h in high_side[rows, cols].tolist()]
    low_list = [None if v != v else v for v in peer_low[cols].tolist()]
    high_list = [None if v != v else v for v in peer_high[cols].tolist()]
    details = [
        dict(zip(REASON_DETAIL_FIELDS, entry, strict=True))
        for entry in zip(
            feature_names,
            value_list,
            direction_list,
            low_list,
            high_list,
            contribution[rows, cols].tolist(),
            texts,
            strict=True,
        )
    ]
    ends = np.cumsum(counts).tolist()
    starts = [0, *ends[:-1]]
    spans = list(zip(starts, ends, strict=True))
    return Reasons(
        features=[feature_names[a:b] for a, b in spans],
        values=[value_list[a:b] for a, b in spans],
        texts=[texts[a:b] for a, b in spans],
        details=[details[a:b] for a, b in spans],
    )


def band_means(features: pd.DataFrame, risk_band: np.ndarray) -> pd.DataFrame:
    """Mean of every numeric feature per risk band (index: feature; columns: low/medium/high)."""
    numeric = [n for n in FEATURES if n in features and not FEATURES[n].categorical]
    grouped = features[numeric].groupby(np.asarray(risk_band)).mean()
    return grouped.reindex(list(BANDS)).T.rename_axis("feature")


def explained_scores(
    scored: Scored,
    features: pd.DataFrame,
    accounts: pd.DataFrame,
    previous: PreviousNight | None = None,
) -> pd.DataFrame:
    """One row per scored account; ``features`` are the rows ``scored`` was scored from.

    ``previous`` is the night compared with, if any (``kam_ml.scoring.changes``): the
    change columns are ``previous_probability``, ``probability_change``,
    ``previous_risk_band``, ``new_on_list``, ``compared_with`` (its as-of), ``changes``
    (dicts with ``CHANGE_FIELDS``), ``what_changed`` (the sentence) and ``moved_by`` (the
    entries' texts, as the API has always served them).
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
        "reason_details": scored.reasons.details,
    }
    for column in OFFER_COLUMNS:
        out[column] = _lists(scores[column]) if column in scores else [[] for _ in range(n)]
    for model in ("churn", "offers", "value"):
        column = f"{model}_model_version"
        out[column] = (
            scores[column].astype(object).to_numpy() if column in scores else np.full(n, None)
        )
    changes = what_changed(
        ids,
        probability,
        out["risk_band"],
        features,
        contributions,
        previous,
        model_version=out["churn_model_version"],
    )
    # Built once with every column: inserting the eight change columns one by one cost
    # ~0.1 ms each on a posted history's frame (pandas' per-insert overhead).
    out["previous_probability"] = changes.previous_probability
    out["probability_change"] = probability - changes.previous_probability
    out["previous_risk_band"] = changes.previous_band
    out["new_on_list"] = changes.new_on_list
    out["compared_with"] = np.full(n, changes.compared_with, dtype=object)
    out["changes"] = changes.entries
    out["what_changed"] = changes.texts
    out["moved_by"] = [[e["text"] for e in row] for row in changes.entries]
    frame = pd.DataFrame(out)
    return frame


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
