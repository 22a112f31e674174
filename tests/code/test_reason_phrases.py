"""Reason phrases: every account feature has one per direction, and they read right for
every value; the reason rule on a hand-made three-account frame."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from kam_ml.features import FEATURES, FeatureSpec
from kam_ml.features.registry import MissingPhraseError, ReasonPhrases
from kam_ml.scoring.explained import REASON_DETAIL_FIELDS, top_reasons

CONTEXT = {"tenure_days", "days_since_first_order", "region", "segment"}
# values a phrase must read right for: zero, one, fractions, many; and negative for trends
VALUES = (0.0, 0.3, 1.0, 1.6, 2.0, 7.0, 45.5, 150.0, 2500.0)
NEGATIVE = (-1.0, -3.0, -0.4)
ROW = {
    "mean_gap_days": 40.0,
    "days_since_last_order": 150.0,
    "revenue_90d": 900.0,
    "revenue_180d": 2400.0,
}
TEMPLATE_ARTEFACTS = re.compile(r"\(s\)|\{|\}|\bnan\b|\b0\.0x|trend [+-]|\b1 days\b|\b0 orders?\b")


def test_context_features_are_flagged_and_never_have_phrases():
    assert {n for n, s in FEATURES.items() if s.context} == CONTEXT


@pytest.mark.parametrize("name", [n for n, s in FEATURES.items() if not s.context])
def test_every_account_feature_has_a_phrase_for_each_direction(name):
    spec = FEATURES[name]
    assert spec.phrases is not None, (
        f"FeatureSpec {name!r} declares no ReasonPhrases(high=..., low=...): add them "
        f"(kam_ml/features/phrases.py has builders), or context=True"
    )
    for direction in ("high", "low"):
        for value in VALUES + (NEGATIVE if "trend" in name else ()):
            text = spec.phrase(direction, value, ROW)
            assert text and (text[0].isupper() or text[0].isdigit()), (name, direction, text)
            assert not TEMPLATE_ARTEFACTS.search(text), (name, direction, value, text)
    if spec.missing_is_riskiest:
        assert spec.phrase("high", math.nan, ROW) == spec.phrases.missing


def test_a_spec_without_phrases_fails_loudly():
    spec = FeatureSpec("late_payments_90d", "Late payments in 90 days", "{value} late payments")
    with pytest.raises(MissingPhraseError, match="'late_payments_90d' has no reason phrases"):
        spec.phrase("high", 2.0)


def test_phrases_say_zero_one_and_many_as_a_person_would():
    orders = FEATURES["orders_90d"]
    assert orders.phrase("low", 0.0) == "No order in the last 90 days"
    assert orders.phrase("low", 1.0) == "Only 1 order in the last 90 days"
    assert orders.phrase("low", 2.0) == "Only 2 orders in the last 90 days"
    recency = FEATURES["days_since_last_order"]
    assert recency.phrase("high", 150.0, {"mean_gap_days": 40.2}) == (
        "No order for 150 days — usually every 40"
    )
    trend = FEATURES["revenue_trend_90d"]
    row = {"revenue_90d": 650.0, "revenue_180d": 1650.0}  # 650 after 1,000
    assert trend.phrase("low", np.log1p(650) - np.log1p(1000), row) == (
        "Spending down 35% on the previous 90 days"
    )
    assert trend.phrase("low", 0.2, {"revenue_90d": 1200.0, "revenue_180d": 2200.0}) == (
        "Spending up 20% on the previous 90 days"
    )
    assert FEATURES["complaints_90d"].phrase("high", 3.0) == "3 complaints in the last 90 days"
    assert FEATURES["return_rate_365d"].phrase("low", 0.0) == "No returns this year"
    assert FEATURES["overdue_ratio"].phrase("high", math.nan) == (
        "Only one order so far: no usual rhythm yet"
    )


def test_reason_phrases_accept_a_template_or_a_function():
    spec = FeatureSpec(
        "x_90d",
        "X",
        "x {value}",
        fmt=".1f",
        churn_direction=1,
        phrases=ReasonPhrases(high="Many x ({value})", low=lambda v, row: f"Few x: {v:g}"),
    )
    assert spec.phrase("high", 2.25) == "Many x (2.2)"
    assert spec.phrase("low", 0.5) == "Few x: 0.5"


def _peers(**means: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "low": [lo for lo, _ in means.values()],
            "medium": [np.nan] * len(means),
            "high": [hi for _, hi in means.values()],
        },
        index=pd.Index(list(means), name="feature"),
    )


def test_a_reason_needs_a_risky_value_and_a_contribution_that_raises_risk():
    names = ["days_since_last_order", "orders_90d", "tenure_days", "tickets_365d", "overdue_ratio"]
    features = pd.DataFrame(
        {
            "days_since_last_order": [150.0, 10.0, 200.0],  # low-risk peers: 30
            "orders_90d": [0.0, 5.0, 1.0],  # peers: 3 (fewer is riskier)
            "tenure_days": [4000.0, 4000.0, 4000.0],  # context: never a reason
            "tickets_365d": [9.0, 9.0, 0.0],  # no direction: high-risk peers have more
            "overdue_ratio": [3.0, 0.3, np.nan],  # one order: missing is riskiest
            "mean_gap_days": [40.0, 30.0, np.nan],
        }
    )
    contributions = pd.DataFrame(
        [
            [0.9, 0.5, 2.0, 0.1, 0.4],
            [0.9, 0.5, 2.0, -0.1, 0.4],  # safe values with positive contributions
            [0.2, 0.1, 2.0, 0.3, 0.8],
        ],
        columns=names,
    )
    peers = _peers(
        days_since_last_order=(30.0, 160.0),
        orders_90d=(3.0, 0.2),
        tenure_days=(3000.0, 1000.0),
        tickets_365d=(1.0, 4.0),
        overdue_ratio=(0.9, 5.0),
    )
    reasons = top_reasons(contributions, features, peers, n=3)
    assert reasons.features == [
        ["days_since_last_order", "orders_90d", "overdue_ratio"],
        [],
        ["overdue_ratio", "days_since_last_order", "orders_90d"],
    ]
    first = reasons.details[0][0]
    assert tuple(first) == REASON_DETAIL_FIELDS
    assert first == {
        "feature": "days_since_last_order",
        "value": 150.0,
        "direction": "high",
        "peer_low_risk": 30.0,
        "peer_high_risk": 160.0,
        "contribution": pytest.approx(0.9),
        "text": "No order for 150 days — usually every 40",
    }
    assert reasons.details[0][1]["direction"] == "low"
    assert reasons.texts[2][0] == "Only one order so far: no usual rhythm yet"
    assert reasons.values[2][0] is None
    # a row gets the same reasons alone as in the batch
    alone = top_reasons(contributions.iloc[[2]], features.iloc[[2]], peers, n=3)
    assert alone.details == [reasons.details[2]]
