"""A book with one category gets no offer model: there is nothing to rank (CDNOW's case).

Trained anyway, the ranker and every baseline score 1.000 on every metric and the "next
best offer" is what the account already buys, so ``kam-ml train`` skips it with a reason.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kam_ml.offers.job import MIN_CATEGORIES, offers_skipped, train_and_register_offers
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.gate import Skipped
from tests.builders import tables_from_rows

ACCOUNTS = [
    {"account_id": "A1", "signup_date": "2025-01-01", "manager": "m", "region": "EMEA"},
    {"account_id": "A2", "signup_date": "2025-01-01", "manager": "m", "region": "EMEA"},
]


def _book(categories: list[str]):  # type: ignore[no-untyped-def]
    orders = [
        {
            "order_id": f"O{i}",
            "account_id": ACCOUNTS[i % 2]["account_id"],
            "order_date": "2025-03-01",
            "category": category,
            "quantity": 1,
            "amount": 10.0,
        }
        for i, category in enumerate(categories)
    ]
    return tables_from_rows(ACCOUNTS, orders)


def test_one_category_is_skipped_with_the_reason() -> None:
    skipped = offers_skipped(_book(["music", "music"]))
    assert skipped == Skipped(
        "kam-offers",
        "the book has 1 category (music); next-best offers need at least 2 to rank.",
    )


def test_two_categories_train() -> None:
    assert MIN_CATEGORIES == 2
    assert offers_skipped(_book(["music", "books"])) is None


def test_the_job_skips_before_touching_the_store(tmp_path: Path) -> None:
    outcome = train_and_register_offers(
        _book(["music"]),
        pd.Timestamp("2025-06-30"),
        ProblemDefinition(),
        store=None,  # type: ignore[arg-type]  # never reached
        models_dir=tmp_path / "models",
        report_dir=tmp_path / "reports",
    )
    assert isinstance(outcome, Skipped) and "1 category (music)" in outcome.reason
    assert not (tmp_path / "models").exists() and not (tmp_path / "reports").exists()
