"""Property: whatever numbers a night holds, an API record is valid JSON (no NaN/Infinity).

JSON has no NaN or Infinity; Python's ``json.dumps`` writes the bare words, which
``JSON.parse``, Go and Jackson refuse. Every lookup, batch and from-history response is
built by ``RecordTable.record``, so the property is checked there, for any float.
"""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from serving.records import RecordTable
from serving.schemas import AccountScore

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
NOT_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])
PROBABILITY = st.one_of(st.floats(0, 1), NOT_FINITE)


@settings(max_examples=100, deadline=None)
@given(
    probabilities=st.lists(PROBABILITY, min_size=3, max_size=3),
    numbers=st.lists(ANY_FLOAT, min_size=6, max_size=6),
    means=st.lists(ANY_FLOAT, min_size=3, max_size=3),
)
def test_a_record_is_strict_json_for_any_float(
    probabilities: list[float], numbers: list[float], means: list[float]
) -> None:
    previous, score, _ = probabilities
    p = 0.5  # the schema requires a churn probability; a model's is always finite
    rar, ev, value, low, high, contribution = numbers
    detail = {
        "feature": "days_since_last_order",
        "value": value,
        "direction": "high",
        "peer_low_risk": low,
        "peer_high_risk": high,
        "contribution": contribution,
        "text": "No order for 150 days",
    }
    explained = pd.DataFrame(
        {
            "account_id": ["A1"],
            "manager": ["Ann"],
            "risk_band": ["high"],
            "churn_probability": [p],
            "revenue_at_risk": [rar],
            "expected_value_12m": [ev],
            "previous_probability": [previous],
            "reason_features": [["days_since_last_order"]],
            "reason_texts": [["No order for 150 days"]],
            "reason_values": [[value]],
            "reason_details": [[detail]],
            "offers": [["shoes"]],
            "offer_labels": [["Shoes"]],
            "offer_scores": [[score]],
            "offer_reasons": [["bought by similar accounts"]],
            "moved_by": [[]],
            "churn_model_version": ["3"],
            "offers_model_version": ["2"],
            "value_model_version": [None],
        }
    )
    band_means = pd.DataFrame(
        [means], columns=["low", "medium", "high"], index=pd.Index(["days_since_last_order"])
    )
    record = RecordTable.from_explained(explained, band_means, "2026-10-31", "nightly").record(0)
    text = json.dumps(record, allow_nan=False)  # raises ValueError on NaN or Infinity
    assert json.loads(text) == json.loads(json.dumps(record))
    AccountScore.model_validate(record)
