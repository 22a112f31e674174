"""Features do not depend on the order of the rows, nor on the rest of the book.

An account scored alone from a posted history (the API) must get exactly the features it
gets in the nightly book, whatever order its lines arrive in; floating-point sums in
another order used to differ in the last digits.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kam_ml.features import FEATURE_COLUMNS, build_features
from kam_ml.problem.definition import ProblemDefinition
from tests.builders import tables_from_rows

T = pd.Timestamp("2026-03-31")
CATEGORIES = ["bags", "fine_jewelry", "shoes", "watches", "ready_to_wear"]

line = st.tuples(
    st.sampled_from(["A1", "A2", "A3"]),
    st.integers(min_value=0, max_value=3),  # order number within the account
    st.sampled_from(CATEGORIES),
    st.integers(min_value=1, max_value=5_000_000),  # cents
    st.booleans(),
)
event = st.tuples(
    st.sampled_from(["A1", "A2", "A3"]),
    st.integers(min_value=0, max_value=300),
    st.sampled_from(["ticket", "nps", "complaint"]),
    st.integers(min_value=0, max_value=1_000),
)


def _rows(lines: list[tuple], events: list[tuple]) -> tuple[list, list, list]:
    accounts = [
        {
            "account_id": a,
            "signup_date": pd.Timestamp("2024-01-01"),
            "manager": "M",
            "region": "EMEA",
            "segment": "gold",
        }
        for a in ("A1", "A2", "A3")
    ]
    orders = [
        {
            "order_id": f"O{i}",
            "account_id": account,
            "order_date": T - pd.Timedelta(days=37 * number + 3),
            "category": category,
            "quantity": 1,
            "amount": cents / 100,
            "returned": returned,
            "return_date": T - pd.Timedelta(days=37 * number) if returned else pd.NaT,
        }
        for i, (account, number, category, cents, returned) in enumerate(lines)
    ]
    interactions = [
        {
            "account_id": account,
            "event_date": T - pd.Timedelta(days=days),
            "event_type": kind,
            "value": (value % 11) if kind == "nps" else value / 7,
        }
        for account, days, kind, value in events
    ]
    return accounts, orders, interactions


def _features(accounts: list, orders: list, interactions: list) -> pd.DataFrame:
    tables = tables_from_rows(accounts, orders, interactions)
    frame = build_features(tables, T, ProblemDefinition())
    return frame.set_index("account_id")[list(FEATURE_COLUMNS)].sort_index()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(line, min_size=3, max_size=30),
    events=st.lists(event, max_size=12),
    seed=st.randoms(use_true_random=False),
)
def test_features_are_the_same_in_any_row_order_and_alone(lines, events, seed):
    accounts, orders, interactions = _rows(lines, events)
    book = _features(accounts, orders, interactions)

    shuffled_orders, shuffled_events = orders[:], interactions[:]
    seed.shuffle(shuffled_orders)
    seed.shuffle(shuffled_events)
    pd.testing.assert_frame_equal(
        _features(accounts, shuffled_orders, shuffled_events), book, check_exact=True
    )

    for account_id in book.index:
        alone = _features(
            [a for a in accounts if a["account_id"] == account_id],
            [o for o in shuffled_orders if o["account_id"] == account_id],
            [e for e in shuffled_events if e["account_id"] == account_id],
        )
        pd.testing.assert_frame_equal(
            alone, book.loc[[account_id]], check_exact=True, check_categorical=False
        )
