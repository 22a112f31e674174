"""Demo data with planted truth, generated once per session for the model tests."""

from __future__ import annotations

import pandas as pd
import pytest

from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import DemoData, generate_demo_data
from kam_ml.problem.definition import ProblemDefinition

MODEL_TEST_ACCOUNTS = 3000
END_DATE = pd.Timestamp("2026-10-31")


@pytest.fixture(scope="session")
def demo() -> DemoData:
    """Truth is recorded at the churn model's validation cutoffs for an as-of of END_DATE."""
    cutoffs = ProblemDefinition().training_cutoff_dates(END_DATE, END_DATE - pd.DateOffset(years=3))
    return generate_demo_data(
        n_accounts=MODEL_TEST_ACCOUNTS, seed=3, end_date=END_DATE, truth_cutoffs=cutoffs[-4:]
    )


@pytest.fixture(scope="session")
def demo_tables(demo: DemoData) -> Tables:
    raw = {
        "accounts": demo.accounts,
        "orders": demo.orders,
        "interactions": demo.interactions,
        "categories": demo.categories,
    }
    return validate_tables(raw, on_bad_rows="refuse").tables


@pytest.fixture(scope="session")
def demo_as_of() -> pd.Timestamp:
    return END_DATE


@pytest.fixture(scope="session")
def offer_result(demo_tables: Tables, demo_as_of: pd.Timestamp):
    """The offer ranker trained on the demo book (shared by the offer and scoring tests)."""
    from kam_ml.offers.training import train_offers

    return train_offers(demo_tables, demo_as_of, ProblemDefinition())


@pytest.fixture(scope="session")
def value_result(demo_tables: Tables, demo_as_of: pd.Timestamp):
    """The value model trained on the demo book's 12-month backtest."""
    from kam_ml.value.training import train_value

    return train_value(demo_tables, demo_as_of, ProblemDefinition())
