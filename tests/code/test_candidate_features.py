"""Hand-computed values of the ablation's candidate feature groups on a two-account book.

T is 2026-06-30, so ages are measured from 2026-07-01 00:00 (the end of day T).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.model import ChurnModel
from kam_ml.demo.btyd_book import generate_btyd_book
from kam_ml.features import build_features
from kam_ml.features.build import ALL_FEATURES, CANDIDATE_GROUPS, FEATURE_GROUPS, FEATURES
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.science.bgnbd_group import BGNBD_GROUP
from kam_ml.science.cdnow_benchmark import bgnbd_scores
from tests.builders import tables_from_rows

T = pd.Timestamp("2026-06-30")
CANDIDATES = (*CANDIDATE_GROUPS.values(), BGNBD_GROUP)


def _order(order_id, account, when, **extra):
    return {
        "order_id": order_id,
        "account_id": account,
        "order_date": pd.Timestamp(when),
        "category": "bags",
        "quantity": 1,
        "amount": 100.0,
        **extra,
    }


def _event(when, kind, value=None):
    return {"account_id": "X", "event_date": pd.Timestamp(when), "event_type": kind, "value": value}


@pytest.fixture
def book():
    accounts = [
        {
            "account_id": a,
            "signup_date": pd.Timestamp("2024-01-01"),
            "manager": "Ana",
            "region": "EMEA",
            "segment": "gold",
        }
        for a in ("X", "Y")
    ]
    orders = [
        _order("O1", "X", "2025-08-15"),  # age 320: in last year's window (275, 365]
        _order("O2", "X", "2026-06-01", returned=True, return_date=pd.Timestamp("2026-06-11")),
        _order(
            "O3", "X", "2026-06-30 12:00", returned=True, return_date=pd.Timestamp("2026-07-03")
        ),
        _order("O4", "X", "2026-07-01 00:00"),  # the first instant after T
        _order("O5", "Y", "2026-06-20"),
    ]
    interactions = [
        _event("2026-04-01", "complaint"),  # age 91
        _event("2026-06-30", "complaint"),  # age 1
        _event("2026-07-02", "complaint"),  # after T
        _event("2026-06-01", "ticket", 50.0),  # slow, age 30
        _event("2026-05-01", "ticket", 10.0),  # age 61
        _event("2026-03-01", "ticket", 100.0),  # slow, age 122: outside 90 days
        _event("2025-05-01", "nps", 10.0),  # older than a year
        _event("2026-01-01", "nps", 8.0),
        _event("2026-03-01", "nps", 6.0),
        _event("2026-06-15", "nps", 3.0),
    ]
    return tables_from_rows(accounts, orders, interactions)


@pytest.fixture
def rows(book):
    frame = build_features(book, T, ProblemDefinition(), groups=(*FEATURE_GROUPS, *CANDIDATES))
    return frame.set_index("account_id")


def test_lifetime_count_and_rate(rows):
    x, y = rows.loc["X"], rows.loc["Y"]
    assert x["orders_lifetime"] == 3  # the order at T+1 00:00 is not known
    assert x["order_rate_lifetime_30d"] == pytest.approx(3 * 30 / 320)
    # Y's one order is 11 days old: exposure is floored at 30 days, not read as 3/month
    assert (y["orders_lifetime"], y["order_rate_lifetime_30d"]) == (1, 1)


def test_expected_orders_and_last_years_window(rows):
    x, y = rows.loc["X"], rows.loc["Y"]
    assert x["expected_orders_horizon"] == pytest.approx(3 * 90 / 320)
    assert y["expected_orders_horizon"] == pytest.approx(1 * 90 / 30)
    assert (x["orders_same_window_last_year"], y["orders_same_window_last_year"]) == (1, 0)


def test_the_window_last_year_follows_the_horizon(book):
    short = build_features(book, T, ProblemDefinition(horizon_days=30), groups=CANDIDATES[:2])
    assert short.set_index("account_id").loc["X", "orders_same_window_last_year"] == 0


def test_decayed_counts_halve_every_90_days(rows):
    x, y = rows.loc["X"], rows.loc["Y"]
    assert x["complaints_decayed"] == pytest.approx(2 ** (-91 / 90) + 2 ** (-1 / 90))
    # the return of O3 becomes known after T; O2's is known since 06-11 (age 20)
    assert x["returns_decayed"] == pytest.approx(2 ** (-20 / 90))
    assert x["slow_tickets_decayed"] == pytest.approx(2 ** (-30 / 90) + 2 ** (-122 / 90))
    assert (y["complaints_decayed"], y["returns_decayed"], y["slow_tickets_decayed"]) == (0, 0, 0)


def test_recent_resolution_time_and_nps_trend(rows):
    x, y = rows.loc["X"], rows.loc["Y"]
    assert x["ticket_hours_mean_90d"] == 30  # (50 + 10) / 2; the 100 h ticket is older
    assert x["nps_trend_365d"] == pytest.approx(3 - (8 + 6) / 2)
    assert np.isnan(y["ticket_hours_mean_90d"]) and np.isnan(y["nps_trend_365d"])


def test_cutoff_month_is_the_same_for_every_account(rows):
    assert rows["cutoff_month"].tolist() == [6, 6]


def test_bgnbd_needs_a_book_to_fit(rows):
    assert rows["bgnbd_p_alive"].isna().all() and rows["bgnbd_expected_orders"].isna().all()


def test_bgnbd_features_match_the_benchmarks_refit_at_the_cutoff():
    data = generate_btyd_book(n_accounts=300, seed=1)
    tables = tables_from_rows(data.accounts.to_dict("records"), data.orders.to_dict("records"))
    cutoff, definition = pd.Timestamp("2026-07-31"), ProblemDefinition()
    ours = build_features(tables, cutoff, definition, groups=(BGNBD_GROUP,))
    reference = bgnbd_scores(tables, cutoff, definition).set_index("account_id")
    reference = reference.loc[ours["account_id"]]
    np.testing.assert_allclose(ours["bgnbd_p_alive"], reference["bgnbd_p_alive"])
    np.testing.assert_allclose(ours["bgnbd_expected_orders"], reference["bgnbd_expected_purchases"])
    assert ours["bgnbd_p_alive"].between(0, 1).all()


def test_every_candidate_has_a_spec_with_an_honest_direction():
    names = [spec.name for group in CANDIDATES for spec in group.specs]
    assert set(names) <= set(ALL_FEATURES)
    for name in names:
        spec = ALL_FEATURES[name]
        assert spec.description and "{value}" in spec.reason, name
        assert not spec.either_way, name  # none of them can be moved both ways by an order
    # an order only ever adds to a count or a rate: never "more risk"
    assert all(ALL_FEATURES[n].churn_direction <= 0 for n in names if "order" in n)
    assert set(FEATURES) <= set(ALL_FEATURES)


def test_the_churn_model_constrains_candidates_by_their_direction(book):
    frame = build_features(book, T, ProblemDefinition(), groups=(*FEATURE_GROUPS, *CANDIDATES))
    model = ChurnModel()
    X = frame.drop(columns=["account_id", "cutoff"])
    directions = model._monotone_kwargs(model._without_either_way(X))["monotone_constraints"]
    by_name = dict(zip(model._without_either_way(X).columns, directions, strict=True))
    assert by_name["orders_lifetime"] == -1
    assert by_name["complaints_decayed"] == 1
    assert by_name["cutoff_month"] == 0
