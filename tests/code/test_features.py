"""Hand-computed features on a three-account book."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kam_ml.features import (
    FEATURE_COLUMNS,
    FEATURES,
    FeatureSpec,
    build_features,
    describe_reason,
    feature_registry,
)
from kam_ml.offers.pairs import PAIR_FEATURES
from kam_ml.problem.definition import ProblemDefinition
from tests.builders import tables_from_rows

T = pd.Timestamp("2026-06-30")


def _order(order_id, account, when, amount, category="bags", **extra):
    return {
        "order_id": order_id,
        "account_id": account,
        "order_date": pd.Timestamp(when),
        "category": category,
        "quantity": 1,
        "amount": float(amount),
        **extra,
    }


@pytest.fixture
def book():
    accounts = [
        {
            "account_id": a,
            "signup_date": pd.Timestamp("2025-01-01"),
            "manager": "Ana",
            "region": "EMEA",
            "segment": "gold",
        }
        for a in ("A", "B", "C")
    ]
    orders = [
        _order("O1", "A", "2026-06-30 10:00", 100, "bags"),
        _order("O1", "A", "2026-06-30 10:00", 50, "shoes"),
        _order("O2", "A", "2026-05-31", 200, "bags"),
        _order(
            "O3",
            "A",
            "2026-01-01",
            300,
            "watches",
            returned=True,
            return_date=pd.Timestamp("2026-01-20"),
        ),
        _order("O4", "A", "2026-07-01 00:00", 999, "bags"),  # first instant after T
        _order("O5", "B", "2025-03-01", 100),  # inactive: last order > 365 days before T
        _order(
            "O6", "C", "2026-06-01", 500, returned=True, return_date=pd.Timestamp("2026-07-05")
        ),  # return not yet known at T
        _order("O7", "C", "2026-05-15", 100, returned=True),  # no date: known at +30 days
    ]
    interactions = [
        {"account_id": "C", "event_date": pd.Timestamp(d), "event_type": k, "value": v}
        for d, k, v in [
            ("2026-06-20", "complaint", None),
            ("2026-07-02", "complaint", None),
            ("2026-03-01", "nps", 8.0),
            ("2026-06-25", "nps", 4.0),
            ("2026-06-10", "ticket", 10.0),
            ("2026-04-01", "ticket", 20.0),
        ]
    ]
    return tables_from_rows(accounts, orders, interactions)


def _row(frame: pd.DataFrame, account: str) -> pd.Series:
    return frame.set_index("account_id").loc[account]


def test_only_active_accounts_get_a_row(book):
    frame = build_features(book, T, ProblemDefinition())
    assert sorted(frame["account_id"]) == ["A", "C"]
    assert list(frame.columns[:2]) == ["account_id", "cutoff"]
    assert set(FEATURE_COLUMNS) <= set(frame.columns)


def test_order_features_match_hand_computation(book):
    a = _row(build_features(book, T, ProblemDefinition()), "A")
    assert a["days_since_last_order"] == 0
    assert (a["orders_30d"], a["orders_90d"], a["orders_365d"]) == (1, 2, 3)
    assert (a["revenue_30d"], a["revenue_90d"], a["revenue_365d"]) == (150, 350, 650)
    assert a["revenue_lifetime"] == 650  # the 999 order on T+1 00:00 is not known
    assert a["avg_order_value_365d"] == pytest.approx(650 / 3)
    assert a["revenue_trend_90d"] == pytest.approx(math.log1p(350))
    assert a["orders_trend_180d"] == 1
    gaps = [150.0, 31 - 14 / 24]
    assert a["mean_gap_days"] == pytest.approx(np.mean(gaps))
    assert a["last_gap_days"] == pytest.approx(gaps[-1])
    assert a["overdue_ratio"] == pytest.approx((14 / 24) / np.mean(gaps))
    assert a["categories_365d"] == 3
    assert a["category_concentration"] == pytest.approx(2 * (300 / 650) ** 2 + (50 / 650) ** 2)
    assert a["tenure_days"] == 546


def test_returns_count_from_the_day_they_are_known(book):
    features = build_features(book, T, ProblemDefinition())
    a, c = _row(features, "A"), _row(features, "C")
    assert a["return_rate_365d"] == pytest.approx(300 / 650)
    assert a["returns_known_90d"] == 0  # known 2026-01-20, older than 90 days
    # C: the 500 return is registered after T; the 100 return has no date -> known at +30d.
    assert c["returned_value_365d"] == 100
    assert c["return_rate_365d"] == pytest.approx(100 / 600)
    assert c["returns_known_90d"] == 1


def test_service_features_match_hand_computation(book):
    c = _row(build_features(book, T, ProblemDefinition()), "C")
    assert (c["complaints_90d"], c["complaints_365d"]) == (1, 1)  # 07-02 is after T
    assert c["days_since_last_complaint"] == 11
    assert c["tickets_365d"] == 2
    assert c["ticket_hours_mean_365d"] == 15
    assert (c["nps_latest"], c["nps_mean_365d"]) == (4, 6)


def test_a_longer_return_lag_hides_the_undated_return(book):
    later = build_features(book, T, ProblemDefinition(return_lag_days=60))
    assert _row(later, "C")["returned_value_365d"] == 0


# Every churn and value model is fitted on these columns in this order, and every bundle
# records them: changing this literal is changing the models, so it is a reviewed change.
PINNED_FEATURE_COLUMNS = (
    "days_since_last_order",
    "days_since_first_order",
    "orders_30d",
    "orders_90d",
    "orders_365d",
    "revenue_30d",
    "revenue_90d",
    "revenue_365d",
    "revenue_lifetime",
    "avg_order_value_365d",
    "revenue_trend_90d",
    "orders_trend_180d",
    "mean_gap_days",
    "gap_variability",
    "last_gap_days",
    "overdue_ratio",
    "categories_365d",
    "category_concentration",
    "tenure_days",
    "region",
    "segment",
    "return_rate_365d",
    "returned_value_365d",
    "returns_known_90d",
    "complaints_90d",
    "complaints_365d",
    "days_since_last_complaint",
    "tickets_365d",
    "ticket_hours_mean_365d",
    "nps_latest",
    "nps_mean_365d",
)


def test_feature_columns_keep_their_pinned_order(book):
    assert FEATURE_COLUMNS == PINNED_FEATURE_COLUMNS
    assert tuple(build_features(book, T, ProblemDefinition()).columns[2:]) == FEATURE_COLUMNS


def test_feature_columns_do_not_depend_on_import_order():
    # Before the registry was declared, importing a group module first reordered the columns.
    code = (
        "import kam_ml.features.service, kam_ml.features.returns\n"
        "from kam_ml.features import FEATURE_COLUMNS\n"
        "print(','.join(FEATURE_COLUMNS))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert tuple(out.stdout.strip().split(",")) == PINNED_FEATURE_COLUMNS


@pytest.mark.parametrize(
    "specs", [FEATURES, PAIR_FEATURES], ids=["account_features", "pair_features"]
)
def test_every_feature_has_a_description_and_a_reason(specs):
    for spec in specs.values():
        assert spec.description and "{value}" in spec.reason, spec.name
        if not spec.categorical:
            assert spec.reason_for(float("nan")) == f"{spec.description} is unknown"


def test_a_feature_declared_twice_is_refused():
    spec = FeatureSpec("x", "X", "x is {value}")
    with pytest.raises(ValueError, match="'x' is declared twice"):
        feature_registry([spec, spec])


def test_reasons_format_values_and_name_unknown_ones():
    assert describe_reason("revenue_90d", 1234.4) == "Spent 1,234 in the last 90 days"
    assert describe_reason("return_rate_365d", 0.25) == "Returned 25% of what it bought this year"
    assert describe_reason("region", "EMEA") == "Region EMEA"
    assert describe_reason("nps_latest", float("nan")) == "Latest NPS score (0-10) is unknown"


def test_stacked_cutoffs_equal_single_cutoff_builds(book):
    definition = ProblemDefinition()
    cutoffs = [pd.Timestamp("2026-05-31"), T]
    stacked = build_features(book, cutoffs, definition)
    for cutoff in cutoffs:
        single = build_features(book, cutoff, definition)
        part = stacked[stacked["cutoff"] == cutoff].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, single)
