"""Explained-score rows as API records, looked up by account id without pandas.

The nightly snapshot holds up to a million accounts; a request must not touch pandas or a
model. At load the explained frame becomes plain Python columns and an id -> row dict, so
a lookup is a dict access and a small dict build (tens of microseconds). Every number in a
record is finite or None, so the routes' ``json.dumps`` never writes ``NaN`` or ``Infinity``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kam_ml.data.contract import category_label
from kam_ml.nightly.history import ScoreHistory

__all__ = ["RecordTable"]

_FLOATS = ("churn_probability", "revenue_at_risk", "expected_value_12m", "previous_probability")
_TEXTS = ("account_id", "manager", "risk_band")
# what changed: absent in nights from before it (read as "nothing to say")
_OPTIONAL_TEXTS = ("previous_risk_band", "compared_with", "what_changed")
_CHANGE_NUMBERS = ("previous_value", "value", "contribution_change")
_LISTS = (
    "reason_features",
    "reason_texts",
    "reason_values",
    "offers",
    "offer_labels",
    "offer_scores",
    "offer_reasons",
    "moved_by",
)
_VERSIONS = ("churn", "offers", "value")
_DETAIL_TEXTS = ("feature", "direction", "text")
_DETAIL_NUMBERS = ("value", "peer_low_risk", "peer_high_risk", "contribution")


@dataclass(frozen=True)
class RecordTable:
    """Columns of an explained frame as Python lists, and where each account is."""

    index: dict[str, int]
    columns: dict[str, list[Any]]
    band_averages: dict[str, dict[str, float | None]]
    as_of: str
    source: str
    history: ScoreHistory | None = None

    @classmethod
    def from_explained(
        cls,
        explained: pd.DataFrame,
        band_means: pd.DataFrame,
        as_of: str,
        source: str,
        history: pd.DataFrame | None = None,
    ) -> RecordTable:
        """``history``: the night's score history (``kam_ml.nightly.history``), if stored."""
        columns: dict[str, list[Any]] = {}
        for name in _TEXTS:
            columns[name] = explained[name].astype(object).to_list()
        for name in _OPTIONAL_TEXTS:
            values = explained[name].to_list() if name in explained else [None] * len(explained)
            columns[name] = [None if v is None or v != v or v == "" else str(v) for v in values]
        columns["new_on_list"] = (
            explained["new_on_list"].astype(bool).to_list()
            if "new_on_list" in explained
            else [False] * len(explained)
        )
        columns["changes"] = (
            [[_change(c) for c in _seq(v)] for v in explained["changes"].to_list()]
            if "changes" in explained
            else [[] for _ in range(len(explained))]
        )
        for name in _FLOATS:
            values = explained[name].to_numpy(dtype=float)
            with np.errstate(over="ignore", invalid="ignore"):  # round() scales by 1e6
                rounded = np.where(np.isfinite(values.round(6)), values.round(6), values)
            columns[name] = list(np.where(np.isfinite(rounded), rounded, None))
        for name in _LISTS:
            # nights written before offer labels existed have no offer_labels column
            values = explained[name].to_list() if name in explained else [None] * len(explained)
            columns[name] = [_seq(v) for v in values]
        if "reason_details" in explained:
            columns["reason_details"] = [
                [_detail(d) for d in _seq(v)] for v in explained["reason_details"].to_list()
            ]
        else:  # a night written before reason details: rebuilt from the band means
            columns["reason_details"] = [
                _old_details(f, t, v, band_means)
                for f, t, v in zip(
                    columns["reason_features"],
                    columns["reason_texts"],
                    columns["reason_values"],
                    strict=True,
                )
            ]
        for model in _VERSIONS:
            values = explained[f"{model}_model_version"].to_numpy(dtype=object)
            columns[f"version_{model}"] = [None if v is None or v != v else str(v) for v in values]
        averages = {
            str(feature): {band: _number(row.get(band)) for band in ("low", "medium", "high")}
            for feature, row in band_means.iterrows()
        }
        index = {account: i for i, account in enumerate(columns["account_id"])}
        series = None
        if history is not None:  # reordered to the explained rows once, at load
            series = ScoreHistory.from_frame(history)
            position = pd.Index(series.account_ids).get_indexer(pd.Index(columns["account_id"]))
            nights = len(series.nights)
            probability = np.full((len(position), nights), np.nan)
            band = np.full((len(position), nights), None, dtype=object)
            known = position >= 0
            probability[known] = series.probability[position[known]]
            band[known] = series.band[position[known]]
            ids = np.asarray(columns["account_id"], dtype=object)
            series = ScoreHistory(ids, series.nights, probability.round(6), band)
        return cls(index, columns, averages, as_of, source, series)

    def __len__(self) -> int:
        return len(self.index)

    def record(self, i: int) -> dict[str, Any]:
        """The API's AccountScore for row ``i`` as plain JSON-ready values."""
        c = self.columns
        reasons = [
            {
                "feature": feature,
                "text": text,
                "value": _number(value),
                "average_by_band": self.band_averages.get(feature),
            }
            for feature, text, value in zip(
                c["reason_features"][i], c["reason_texts"][i], c["reason_values"][i], strict=False
            )
        ]
        scores, offer_reasons = c["offer_scores"][i], c["offer_reasons"][i]
        labels = c["offer_labels"][i]
        offers = [
            {
                "category": str(category),
                # a night from before labels names the code made readable
                "label": str(labels[k]) if k < len(labels) else category_label(str(category)),
                "score": _number(scores[k]) if k < len(scores) else None,
                "reason": _reason(offer_reasons[k]) if k < len(offer_reasons) else None,
            }
            for k, category in enumerate(c["offers"][i])
        ]
        return {
            "account_id": c["account_id"][i],
            "churn_probability": c["churn_probability"][i],
            "risk_band": c["risk_band"][i],
            "reasons": reasons,
            "reason_details": c["reason_details"][i],
            "offers": offers,
            "expected_value_12m": c["expected_value_12m"][i],
            "revenue_at_risk": c["revenue_at_risk"][i],
            "manager": c["manager"][i],
            "previous_probability": c["previous_probability"][i],
            "moved_by": _moved_by(c["changes"][i], c["moved_by"][i]),
            "previous_risk_band": c["previous_risk_band"][i],
            "new_on_list": c["new_on_list"][i],
            "compared_with": c["compared_with"][i],
            "what_changed": c["what_changed"][i],
            "changes": c["changes"][i],
            "model_versions": {model: c[f"version_{model}"][i] for model in _VERSIONS},
            "features_as_of": self.as_of,
            "source": self.source,
        }

    def score_history(self, i: int) -> list[dict[str, Any]]:
        """Row ``i``'s probability and band on each stored night, oldest first (tonight
        alone for a night written before histories)."""
        if self.history is None:
            c = self.columns
            return [
                {
                    "as_of": self.as_of,
                    "churn_probability": c["churn_probability"][i],
                    "risk_band": c["risk_band"][i],
                }
            ]
        p, band = self.history.probability[i], self.history.band[i]
        return [
            {"as_of": night, "churn_probability": float(p[k]), "risk_band": band[k]}
            for k, night in enumerate(self.history.nights)
            if p[k] == p[k]
        ]


def _change(entry: dict[str, Any]) -> dict[str, Any]:
    """One stored change entry with plain numbers (Parquet gives numpy scalars)."""
    out: dict[str, Any] = {"feature": str(entry.get("feature")), "text": str(entry.get("text"))}
    for key in _CHANGE_NUMBERS:
        out[key] = _number(entry.get(key))
    return out


def _detail(detail: dict[str, Any]) -> dict[str, Any]:
    """One stored reason detail with plain, rounded numbers (Parquet gives numpy scalars)."""
    out = {k: detail.get(k) for k in _DETAIL_TEXTS}
    for key in _DETAIL_NUMBERS:
        number = _number(detail.get(key))
        out[key] = None if number is None else round(number, 6)
    return out


def _old_details(
    features: list[Any], texts: list[Any], values: list[Any], band_means: pd.DataFrame
) -> list[dict[str, Any]]:
    """Details for a night without them: direction from the value and the low band's
    average, no contribution (that night stored it elsewhere)."""
    details = []
    for feature, text, value in zip(features, texts, values, strict=False):
        number = _number(value)
        low = high = None
        if feature in band_means.index:
            low = _number(band_means.at[feature, "low"])
            high = _number(band_means.at[feature, "high"])
        direction = "high" if number is not None and low is not None and number > low else "low"
        details.append(
            {
                "feature": str(feature),
                "value": number,
                "direction": direction,
                "peer_low_risk": low,
                "peer_high_risk": high,
                "contribution": None,
                "text": str(text),
            }
        )
    return details


def _seq(value: Any) -> list[Any]:
    """A list cell as a list (Parquet gives arrays, and None for an all-empty column)."""
    return [] if value is None else list(value)


def _number(value: Any) -> float | None:
    """A JSON number, or None (null) for a missing or non-finite one: JSON has no NaN or
    Infinity, and clients (JSON.parse, Go, Jackson) refuse the bare words."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _reason(value: Any) -> str | None:
    """One offer's reason as one string: a night that stored several phrases joins them."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return "; ".join(str(v) for v in value) or None


def _moved_by(changes: list[dict[str, Any]], texts: list[Any]) -> list[dict[str, Any]]:
    """``moved_by`` as items: from the stored changes, else (a night that kept only the
    words) the words with no feature."""
    if changes:
        return [
            {
                "feature": c["feature"],
                "text": c["text"],
                "contribution_change": c["contribution_change"],
            }
            for c in changes
        ]
    return [{"feature": None, "text": str(t), "contribution_change": None} for t in texts]
