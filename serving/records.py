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

__all__ = ["RecordTable"]

_FLOATS = ("churn_probability", "revenue_at_risk", "expected_value_12m", "previous_probability")
_TEXTS = ("account_id", "manager", "risk_band")
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

    @classmethod
    def from_explained(
        cls, explained: pd.DataFrame, band_means: pd.DataFrame, as_of: str, source: str
    ) -> RecordTable:
        columns: dict[str, list[Any]] = {}
        for name in _TEXTS:
            columns[name] = explained[name].astype(object).to_list()
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
        return cls(index, columns, averages, as_of, source)

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
            "moved_by": [str(m) for m in c["moved_by"][i]],
            "model_versions": {model: c[f"version_{model}"][i] for model in _VERSIONS},
            "features_as_of": self.as_of,
            "source": self.source,
        }


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


def _reason(value: Any) -> str | list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return [str(v) for v in value]
