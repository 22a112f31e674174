"""The reason rule for any values, contributions and peers: a shown reason never contradicts
its value, raises risk, names no context feature, and is the same for a row alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kam_ml.features import FEATURES
from kam_ml.scoring.explained import top_reasons

# one feature of each kind: risky when high (+1), when low (-1), no direction (0), context,
# and a missing-is-riskiest one
NAMES = [
    "days_since_last_order",
    "orders_90d",
    "tickets_365d",
    "tenure_days",
    "overdue_ratio",
    "complaints_90d",
]
ROWS = 6
values = st.one_of(st.just(np.nan), st.floats(0, 400, allow_nan=False))
peer = st.one_of(st.just(np.nan), st.floats(0, 400, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(
    frame=arrays(np.float64, (ROWS, len(NAMES)), elements=values),
    contribution=arrays(np.float64, (ROWS, len(NAMES)), elements=st.floats(-2, 2)),
    lows=arrays(np.float64, len(NAMES), elements=peer),
    highs=arrays(np.float64, len(NAMES), elements=peer),
)
def test_a_shown_reason_never_contradicts_its_value(frame, contribution, lows, highs):
    features = pd.DataFrame(frame, columns=NAMES).assign(mean_gap_days=30.0)
    contributions = pd.DataFrame(contribution, columns=NAMES)
    peers = pd.DataFrame(
        {"low": lows, "medium": np.nan, "high": highs}, index=pd.Index(NAMES, name="feature")
    )
    reasons = top_reasons(contributions, features, peers, n=3)
    for row, details in enumerate(reasons.details):
        assert len(details) <= 3
        shown = [d["contribution"] for d in details]
        assert shown == sorted(shown, reverse=True)
        for d in details:
            spec = FEATURES[d["feature"]]
            assert not spec.context and d["contribution"] > 0
            assert d["contribution"] == contribution[row, NAMES.index(d["feature"])]
            if d["value"] is None:
                assert spec.missing_is_riskiest and d["direction"] == "high"
                continue
            low = d["peer_low_risk"]
            assert (d["value"] > low) if d["direction"] == "high" else (d["value"] < low)
            risky_high = (
                spec.churn_direction > 0
                if spec.churn_direction
                else d["peer_high_risk"] > d["peer_low_risk"]
            )
            assert (d["direction"] == "high") == risky_high
            assert d["text"]
        alone = top_reasons(contributions.iloc[[row]], features.iloc[[row]], peers, n=3)
        assert alone.details == [details]
