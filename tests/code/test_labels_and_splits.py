"""Label windows and time splits on hand-built histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.errors import DefinitionError, NotEnoughHistoryError
from kam_ml.features import build_features
from kam_ml.problem.definition import CutoffLayout, ProblemDefinition
from kam_ml.problem.labels import churn_labels
from kam_ml.problem.splits import held_out_accounts, split_by_cutoff, split_by_layout
from tests.builders import tables_from_rows

T = pd.Timestamp("2026-03-31")


def _book(next_order_offsets: dict[str, pd.Timedelta | None]):
    accounts, orders = [], []
    for account, offset in next_order_offsets.items():
        accounts.append(
            {
                "account_id": account,
                "signup_date": pd.Timestamp("2025-01-01"),
                "manager": "M",
                "region": "EMEA",
            }
        )
        orders.append(
            {
                "order_id": f"{account}-0",
                "account_id": account,
                "order_date": T - pd.Timedelta(days=10),
                "category": "bags",
                "quantity": 1,
                "amount": 10.0,
            }
        )
        if offset is not None:
            orders.append(
                {
                    "order_id": f"{account}-1",
                    "account_id": account,
                    "order_date": T + offset,
                    "category": "bags",
                    "quantity": 1,
                    "amount": 10.0,
                }
            )
    return tables_from_rows(accounts, orders)


def test_churn_label_window_is_t_exclusive_to_t_plus_horizon_inclusive():
    book = _book(
        {
            "same_day": pd.Timedelta(hours=23),  # on T: history, not future -> churned
            "next_day": pd.Timedelta(days=1),  # T+1 00:00: inside the window
            "last_day": pd.Timedelta(days=90, hours=23),  # T+90 23:00: inside
            "too_late": pd.Timedelta(days=91),  # T+91 00:00: outside -> churned
            "never": None,
        }
    )
    definition = ProblemDefinition(horizon_days=90)
    spine = build_features(book, T, definition)
    labels = dict(zip(spine["account_id"], churn_labels(book, spine, definition), strict=True))
    assert labels == {"same_day": 1, "next_day": 0, "last_day": 0, "too_late": 1, "never": 1}


def test_shorter_horizon_turns_a_late_reorder_into_churn():
    book = _book({"a": pd.Timedelta(days=45)})
    spine = build_features(book, T, ProblemDefinition())
    assert churn_labels(book, spine, ProblemDefinition(horizon_days=30)).tolist() == [1]
    assert churn_labels(book, spine, ProblemDefinition(horizon_days=60)).tolist() == [0]


def test_training_cutoffs_end_their_label_window_by_as_of():
    definition = ProblemDefinition(horizon_days=90, training_cutoffs=6, cutoff_step_days=30)
    as_of = pd.Timestamp("2026-10-31")
    cutoffs = definition.training_cutoff_dates(as_of, pd.Timestamp("2023-01-01"))
    assert len(cutoffs) == 6 and cutoffs == sorted(cutoffs)
    assert max(definition.label_window_end(c) for c in cutoffs) <= as_of


def test_too_little_history_is_a_clear_error():
    definition = ProblemDefinition()
    with pytest.raises(NotEnoughHistoryError, match="no honest cutoff layout fits"):
        definition.training_cutoff_dates(pd.Timestamp("2026-03-01"), pd.Timestamp("2026-01-01"))


def test_validation_holds_the_latest_cutoffs_and_training_ends_before_their_future():
    definition = ProblemDefinition(training_cutoffs=8, validation_cutoffs=2)
    cutoffs = pd.date_range("2025-01-31", periods=8, freq="30D")
    frame = pd.DataFrame({"cutoff": cutoffs.repeat(3)})
    split = split_by_cutoff(frame, definition)
    assert split.validation_cutoffs == tuple(cutoffs[-2:])
    assert not (split.train & split.validation).any()
    assert all(definition.label_window_end(c) <= cutoffs[-2] for c in split.train_cutoffs)
    assert len(split.train_cutoffs) == 4


@pytest.mark.parametrize(
    "field, value", [("horizon_days", -3), ("training_cutoffs", 0), ("active_window_days", 1.5)]
)
def test_definition_rejects_bad_parameters_with_a_named_message(field, value):
    with pytest.raises(
        DefinitionError,
        match=f"The '{field}' of ProblemDefinition must be a positive int. Got {value!r} instead.",
    ):
        ProblemDefinition(**{field: value})


def test_an_account_holdout_splits_the_same_cutoffs_by_account():
    cutoffs = pd.date_range("2025-01-31", periods=3, freq="30D")
    accounts = [f"A{i:04d}" for i in range(1000)]
    frame = pd.DataFrame(
        {"cutoff": cutoffs.repeat(len(accounts)), "account_id": accounts * len(cutoffs)}
    )
    layout = CutoffLayout(tuple(cutoffs), (), (cutoffs[-1],), 30, 30, True, 0.2)
    split = split_by_layout(frame, layout)
    held_in = set(frame.loc[split.train, "account_id"])
    held_out = set(frame.loc[split.validation, "account_id"])
    assert not held_in & held_out and held_in | held_out == set(accounts)
    assert 150 <= len(held_out) <= 250  # about a fifth
    assert (frame.loc[split.validation, "cutoff"] == cutoffs[-1]).all()
    assert set(frame.loc[split.train, "cutoff"]) == set(cutoffs)


def test_held_out_accounts_are_stable_across_runs_and_orders():
    """A fixed hash, not Python's salted hash(): these sides are the same in every process."""
    ids = pd.Series([f"A{i:04d}" for i in range(20)])
    held_out = held_out_accounts(ids, 0.2)
    assert list(ids[held_out]) == ["A0009", "A0011", "A0017"]
    shuffled = ids.sample(frac=1, random_state=3)
    assert np.array_equal(held_out_accounts(shuffled, 0.2), held_out[shuffled.index])
