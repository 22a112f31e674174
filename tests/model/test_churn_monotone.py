"""An order never raises churn risk: the promise the monotone churn model makes to managers.

A manager who sees an account's risk rise the day after it ordered stops trusting the list
(before the constraints, account A002096 of the demo book went from 26% to 79% after a 26k
order). So: append one order dated T (the as-of date) to the history of every account
active at T, rebuild the features at T through the scoring path, and no account's churn
probability may rise by more than 0.01, whatever the amount or the category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kam_ml.churn.training import ChurnTrainingResult, train_churn
from kam_ml.data.tables import Tables
from kam_ml.features import FEATURES, build_features
from kam_ml.problem.definition import ProblemDefinition

MAX_RISE = 0.01


@pytest.fixture(scope="module")
def trained(demo_tables: Tables, demo_as_of: pd.Timestamp) -> ChurnTrainingResult:
    return train_churn(demo_tables, demo_as_of, ProblemDefinition())


@pytest.fixture(scope="module")
def today(trained: ChurnTrainingResult, demo_tables: Tables, demo_as_of: pd.Timestamp):
    """The feature rows at T and their churn probabilities, before any new order."""
    features = build_features(demo_tables, demo_as_of, trained.definition)
    return features, _churn_probability(trained, features)


def _churn_probability(trained: ChurnTrainingResult, features: pd.DataFrame) -> np.ndarray:
    return trained.model.predict_proba(features[trained.feature_names])[:, 1]


def _with_an_order_at(
    tables: Tables, accounts: pd.Series, when: pd.Timestamp, amount: float, category: str
) -> Tables:
    """``tables`` plus one not-returned order line per account, dated ``when``."""
    orders = tables.orders
    new = pd.DataFrame(
        {
            "order_id": [f"NEW-{i}" for i in range(len(accounts))],
            "account_id": pd.Categorical(
                accounts.to_numpy(), categories=orders["account_id"].cat.categories
            ),
            "order_date": when,
            "category": category,
            "product_id": "NEW-P",
            "quantity": 1,
            "amount": amount,
            "returned": False,
            "return_date": pd.NaT,
        }
    )
    return tables.with_orders(pd.concat([orders, new[orders.columns]], ignore_index=True))


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    amount=st.floats(min_value=0.01, max_value=1_000_000.0),
    hour=st.integers(min_value=0, max_value=23),
    data=st.data(),
)
@example(amount=26_000.0, hour=12, data=None)
@example(amount=0.01, hour=23, data=None)
def test_an_order_dated_t_never_raises_churn_risk(
    trained, today, demo_tables, demo_as_of, amount, hour, data
) -> None:
    features, before = today
    categories = sorted(demo_tables.orders["category"].astype(str).unique())
    category = categories[0] if data is None else data.draw(st.sampled_from(categories))
    when = demo_as_of + pd.Timedelta(hours=hour)
    tables = _with_an_order_at(demo_tables, features["account_id"], when, amount, category)
    after_features = build_features(tables, demo_as_of, trained.definition)
    assert (after_features["account_id"] == features["account_id"]).all()
    assert (after_features["revenue_30d"] > features["revenue_30d"]).all()  # counted at T
    rise = _churn_probability(trained, after_features) - before
    worst = int(np.argmax(rise))
    assert rise.max() <= MAX_RISE, (
        f"{(rise > MAX_RISE).sum()} of {len(rise)} accounts rose; worst "
        f"{features['account_id'].iloc[worst]} by {rise[worst]:.3f} after a {amount:,.2f} order"
    )


def test_the_model_is_constrained_in_every_registered_direction(trained) -> None:
    constraints = trained.model.monotone_constraints_
    assert constraints == {name: FEATURES[name].churn_direction for name in constraints}
    assert constraints["days_since_last_order"] == 1
    assert constraints["orders_90d"] == -1
    assert not any(FEATURES[name].either_way for name in trained.feature_names)
