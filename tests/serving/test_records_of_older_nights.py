"""A night written before reason details still serves them, rebuilt from its band means."""

from __future__ import annotations

import pandas as pd

from serving.records import RecordTable
from serving.schemas import AccountScore


def _old_explained() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "manager": ["Ann", "Ann"],
            "risk_band": ["high", "low"],
            "churn_probability": [0.8, 0.1],
            "revenue_at_risk": [800.0, 10.0],
            "expected_value_12m": [1000.0, 100.0],
            "previous_probability": [None, None],
            "reason_features": [["days_since_last_order"], []],
            "reason_texts": [["No order for 150 days"], []],
            "reason_values": [[150.0], []],
            "offers": [[], []],
            "offer_scores": [[], []],
            "offer_reasons": [[], []],
            "moved_by": [[], []],
            "churn_model_version": ["3", "3"],
            "offers_model_version": [None, None],
            "value_model_version": [None, None],
        }
    )


def test_an_older_night_serves_reason_details_from_its_band_means():
    means = pd.DataFrame(
        {"low": [30.0], "medium": [70.0], "high": [160.0]},
        index=pd.Index(["days_since_last_order"], name="feature"),
    )
    table = RecordTable.from_explained(_old_explained(), means, "2026-10-31", "nightly")
    record = table.record(0)
    assert record["reason_details"] == [
        {
            "feature": "days_since_last_order",
            "value": 150.0,
            "direction": "high",
            "peer_low_risk": 30.0,
            "peer_high_risk": 160.0,
            "contribution": None,
            "text": "No order for 150 days",
        }
    ]
    assert table.record(1)["reason_details"] == []
    AccountScore.model_validate(record)
