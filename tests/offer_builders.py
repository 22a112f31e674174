"""A hand-built three-account book for the offer tests: every number can be checked by hand."""

from __future__ import annotations

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.problem.definition import ProblemDefinition

T = pd.Timestamp("2026-03-31")
DEFINITION = ProblemDefinition()


def _order(order_id: str, account: str, when: str, category: str, amount: float) -> dict:
    return {
        "order_id": order_id,
        "account_id": account,
        "order_date": pd.Timestamp(when),
        "category": category,
        "quantity": 1,
        "amount": float(amount),
    }


PAST = [
    _order("O1", "A1", "2026-03-01", "bags", 100),
    _order("O1", "A1", "2026-03-01", "shoes", 50),
    _order("O2", "A1", "2025-12-01", "bags", 200),
    _order("O3", "A1", "2024-01-10", "watches", 1000),
    _order("O4", "A2", "2026-03-25", "shoes", 80),
    _order("O5", "A3", "2025-06-01", "bags", 300),
]
FUTURE = [
    _order("O6", "A1", "2026-05-01", "shoes", 60),
    _order("O7", "A3", "2026-04-01 00:00:00", "watches", 900),  # the first instant after T
    _order("O8", "A3", "2027-01-01", "bags", 10),
]


def book(orders: list[dict]) -> Tables:
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "signup_date": pd.Timestamp("2023-01-01"),
            "manager": "M",
            "region": ["EMEA", "EMEA", "APAC"],
            "segment": ["gold", "gold", "silver"],
        }
    )
    categories = pd.DataFrame(
        {"category": ["bags", "shoes", "watches"], "margin_rate": [0.7, 0.6, 0.5]}
    )
    raw = {"accounts": accounts, "orders": pd.DataFrame(orders), "categories": categories}
    return validate_tables(raw, on_bad_rows="refuse").tables
