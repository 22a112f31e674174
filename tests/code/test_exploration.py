"""Exploration tables on a hand-made three-account book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.problem.definition import ProblemDefinition
from kam_ml.science.exploration import (
    book_overview,
    cohort_retention,
    order_gaps,
    pre_churn_trajectories,
)
from tests.builders import tables_from_rows


def _order(i: int, account: str, day: str, amount: float = 10.0) -> dict:
    return {"order_id": f"O{i}", "account_id": account, "order_date": day, "category": "x",
            "quantity": 1, "amount": amount}  # fmt: skip


@pytest.fixture
def tables():
    accounts = [
        {"account_id": a, "signup_date": "2024-01-01", "manager": "m", "region": "r",
         "segment": s}
        for a, s in (("A", "gold"), ("B", "gold"), ("C", "silver"))
    ]  # fmt: skip
    orders = [
        _order(1, "A", "2024-01-05"), _order(2, "A", "2024-02-10"), _order(3, "A", "2024-03-12"),
        _order(4, "B", "2024-01-20"), _order(5, "B", "2024-01-20"),
        _order(6, "C", "2024-04-02"), _order(7, "C", "2024-04-12"), _order(8, "C", "2024-07-01"),
    ]  # fmt: skip
    return tables_from_rows(accounts, orders)


def test_overview(tables) -> None:
    overview = book_overview(tables)
    assert overview["accounts"] == 3 and overview["order_lines"] == 8
    assert overview["revenue"] == pytest.approx(80.0)


def test_cohort_retention_by_hand(tables) -> None:
    share = cohort_retention(tables, months=3, freq="Q")
    assert list(share.index) == ["2024Q1", "2024Q2"]
    # Q1 cohort: A orders in months 0, 1 and 2; B only in month 0.
    assert share.loc["2024Q1", [0, 1, 2, 3]].tolist() == [1.0, 0.5, 0.5, 0.0]
    # Q2 cohort (C, first order 2024-04-02; data ends 2024-07-01 ~ month 2.97): month 3 unknown.
    assert share.loc["2024Q2", [0, 1, 2]].tolist() == [1.0, 0.0, 1.0]  # 07-01 is day 90
    assert np.isnan(share.loc["2024Q2", 3])


def test_order_gaps_by_hand(tables) -> None:
    gaps = order_gaps(tables)
    assert sorted(gaps["gap_days"].tolist()) == [10.0, 31.0, 36.0, 80.0]  # B's same-day lines: none
    assert set(gaps.loc[gaps["gap_days"] == 10.0, "segment"]) == {"silver"}


def test_pre_churn_trajectories_by_hand(tables) -> None:
    definition = ProblemDefinition(horizon_days=60)
    frame = pre_churn_trajectories(tables, pd.Timestamp("2024-04-30"), definition, months=4)
    # Active at T: A, B, C. Orders in (T, T+60]: none, so all three churned.
    assert frame[("orders", "churned")].sum() == pytest.approx(7 / 3)  # B: two order ids
    assert frame.index.tolist() == [4, 3, 2, 1]
