"""No feature at cutoff T changes when facts dated after T are added or revealed."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kam_ml.features import build_features
from kam_ml.features.build import CANDIDATE_GROUPS, FEATURE_GROUPS
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.science.bgnbd_group import BGNBD_GROUP
from tests.builders import tables_from_rows

T = pd.Timestamp("2026-03-31")
ACCOUNTS = ["A1", "A2", "A3", "A4"]
CATEGORIES = ["bags", "shoes", "watches"]


def _base_rows():
    accounts = [
        {
            "account_id": a,
            "signup_date": pd.Timestamp("2024-01-01"),
            "manager": "M",
            "region": "EMEA",
            "segment": "gold",
        }
        for a in ACCOUNTS
    ]
    orders, n = [], 0
    for i, account in enumerate(ACCOUNTS):
        for k in range(3 + i):
            n += 1
            orders.append(
                {
                    "order_id": f"O{n}",
                    "account_id": account,
                    "order_date": T - pd.Timedelta(days=17 * k + 5 * i, hours=k),
                    "category": CATEGORIES[(i + k) % 3],
                    "quantity": 1 + k,
                    "amount": 100.0 + 10 * k,
                    "returned": k == 1,
                    "return_date": (T - pd.Timedelta(days=17 * k + 5 * i - 10))
                    if k == 1
                    else pd.NaT,
                }
            )
    interactions = [
        {
            "account_id": a,
            "event_date": T - pd.Timedelta(days=3 + i),
            "event_type": "nps",
            "value": float(5 + i),
        }
        for i, a in enumerate(ACCOUNTS)
    ]
    return accounts, orders, interactions


later_seconds = st.integers(min_value=0, max_value=400 * 86400)


@st.composite
def future_orders(draw):
    offset = draw(later_seconds)
    returned = draw(st.booleans())
    when = T + pd.Timedelta(days=1) + pd.Timedelta(seconds=offset)
    return {
        "order_id": f"F{draw(st.integers(0, 10**6))}",
        "account_id": draw(st.sampled_from(ACCOUNTS)),
        "order_date": when,
        "category": draw(st.sampled_from(CATEGORIES + ["new_category"])),
        "quantity": draw(st.integers(1, 5)),
        "amount": draw(st.floats(0, 10_000, allow_nan=False)),
        "returned": returned,
        "return_date": when + pd.Timedelta(days=3) if returned else pd.NaT,
    }


@st.composite
def future_events(draw):
    kind = draw(st.sampled_from(["complaint", "ticket", "nps", "other"]))
    return {
        "account_id": draw(st.sampled_from(ACCOUNTS)),
        "event_date": T + pd.Timedelta(days=1) + pd.Timedelta(seconds=draw(later_seconds)),
        "event_type": kind,
        "value": float(draw(st.integers(0, 10))) if kind in {"nps", "ticket"} else None,
    }


# The ablation's candidates too (bench/bench_feature_ablation.py): a group that reads the
# future would win the ablation for the wrong reason.
ALL_GROUPS = (*FEATURE_GROUPS, *CANDIDATE_GROUPS.values(), BGNBD_GROUP)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extra_orders=st.lists(future_orders(), max_size=8),
    extra_events=st.lists(future_events(), max_size=6),
    late_returns=st.lists(st.integers(0, 17), max_size=4),
    return_lag=st.integers(0, 60),
)
def test_rows_after_cutoff_change_no_feature(extra_orders, extra_events, late_returns, return_lag):
    _assert_rows_after_cutoff_change_nothing(
        FEATURE_GROUPS, extra_orders, extra_events, late_returns, return_lag
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extra_orders=st.lists(future_orders(), max_size=8),
    extra_events=st.lists(future_events(), max_size=6),
    late_returns=st.lists(st.integers(0, 17), max_size=4),
    return_lag=st.integers(0, 60),
)
def test_rows_after_cutoff_change_no_candidate_feature(
    extra_orders, extra_events, late_returns, return_lag
):
    _assert_rows_after_cutoff_change_nothing(
        ALL_GROUPS, extra_orders, extra_events, late_returns, return_lag
    )


def _assert_rows_after_cutoff_change_nothing(
    groups, extra_orders, extra_events, late_returns, return_lag
):
    definition = ProblemDefinition(return_lag_days=return_lag)
    accounts, orders, interactions = _base_rows()
    before = build_features(
        tables_from_rows(accounts, orders, interactions), T, definition, groups=groups
    )

    revealed = [dict(row) for row in orders]
    for index in late_returns:  # a return registered after T on an order placed before it
        row = revealed[index % len(revealed)]
        if not row["returned"]:
            row["returned"] = True
            row["return_date"] = T + pd.Timedelta(days=1, seconds=index)
    after = build_features(
        tables_from_rows(accounts, revealed + extra_orders, interactions + extra_events),
        T,
        definition,
        groups=groups,
    )
    pd.testing.assert_frame_equal(before, after, check_categorical=False)


def test_boundary_rows_at_end_of_day_count_and_next_midnight_does_not():
    accounts, orders, interactions = _base_rows()
    definition = ProblemDefinition()
    base = build_features(tables_from_rows(accounts, orders, interactions), T, definition)
    edge = dict(
        orders[0], order_id="EDGE", order_date=T + pd.Timedelta(hours=23, minutes=59, seconds=59)
    )
    midnight = dict(orders[0], order_id="MID", order_date=T + pd.Timedelta(days=1))
    with_edge = build_features(
        tables_from_rows(accounts, orders + [edge], interactions), T, definition
    )
    with_midnight = build_features(
        tables_from_rows(accounts, orders + [midnight], interactions), T, definition
    )
    a1 = lambda f: f.set_index("account_id").loc["A1"]  # noqa: E731
    assert a1(with_edge)["revenue_lifetime"] == a1(base)["revenue_lifetime"] + edge["amount"]
    pd.testing.assert_frame_equal(base, with_midnight, check_categorical=False)
