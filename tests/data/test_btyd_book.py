"""The buy-till-you-die book: contract-shaped, deterministic, and an oracle that adds up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from kam_ml.data.validation import load_tables, validate_tables
from kam_ml.demo.btyd_book import BookShape, generate_btyd_book
from kam_ml.demo.generate import DemoData


def _raw(book: DemoData) -> dict[str, pd.DataFrame]:
    return {
        "accounts": book.accounts,
        "orders": book.orders,
        "interactions": book.interactions,
        "categories": book.categories,
    }


@pytest.fixture(scope="module")
def book() -> DemoData:
    return generate_btyd_book(n_accounts=2000, seed=11)


@pytest.fixture(scope="module")
def stress() -> DemoData:
    return generate_btyd_book(n_accounts=2000, seed=11, shape=BookShape.stress())


@pytest.mark.parametrize("name", ["book", "stress"])
def test_the_book_follows_the_contract_with_no_bad_rows(name: str, request) -> None:
    data: DemoData = request.getfixturevalue(name)
    result = validate_tables(_raw(data), on_bad_rows="refuse")
    assert result.report.is_clean
    assert len(result.tables.accounts) == len(data.accounts)
    assert len(result.tables.orders) == len(data.orders)
    assert data.accounts["account_id"].is_unique
    assert (data.orders["quantity"] > 0).all() and (data.orders["amount"] >= 0).all()


def test_written_tables_load_and_the_truth_stays_out_of_them(stress: DemoData, tmp_path: Path):
    stress.write(tmp_path, fmt="csv")
    loaded = load_tables(tmp_path, on_bad_rows="refuse")
    assert loaded.report.is_clean
    assert len(loaded.tables.orders) == len(stress.orders)
    assert (tmp_path / "truth" / "churn_truth.csv").exists()
    assert not list(tmp_path.glob("*truth*.*"))  # only the subfolder


def test_same_seed_same_book() -> None:
    first = generate_btyd_book(n_accounts=200, seed=4)
    second = generate_btyd_book(n_accounts=200, seed=4)
    pd.testing.assert_frame_equal(first.orders, second.orders)
    pd.testing.assert_frame_equal(first.truth, second.truth)


def test_the_stress_shape_is_what_it_says(stress: DemoData) -> None:
    span = stress.orders["order_date"].max() - stress.orders["order_date"].min()
    assert span <= pd.Timedelta(days=276)  # 9 months
    assert stress.orders["category"].nunique() == 1
    assert stress.interactions.empty
    orders_per_account = stress.orders.groupby("account_id")["order_id"].nunique()
    assert (orders_per_account == 1).mean() > 0.5  # mostly one-time buyers
    by_month = stress.orders["order_date"].dt.month.value_counts()
    # first orders arrive evenly all year; repeat orders crowd into the July peak
    assert by_month[7] > 1.5 * by_month.drop(7).median()


def test_the_oracle_mean_matches_the_observed_churn_rate(book: DemoData) -> None:
    """At each cutoff, the mean of the oracle is the expected churn rate; labels are
    independent Bernoulli draws given the latent state, so they agree within 4 sigma."""
    for _, rows in book.truth.groupby("cutoff"):
        p = rows["true_churn_probability"].to_numpy()
        sigma = np.sqrt((p * (1 - p)).sum()) / len(p)
        assert abs(rows["churned"].mean() - p.mean()) < 4 * sigma + 1e-9


def test_the_history_oracle_mean_matches_the_observed_churn_rate(book: DemoData) -> None:
    """The oracle that knows rate and dropout but not whether the account is still there
    is calibrated too, and ranks worse than the one that knows."""
    truth = book.truth
    p = truth["history_churn_probability"].to_numpy()
    sigma = np.sqrt((p * (1 - p)).sum()) / len(p)
    cutoffs = truth["cutoff"].nunique()  # rows repeat across cutoffs: not independent
    assert abs(truth["churned"].mean() - p.mean()) < 4 * sigma * np.sqrt(cutoffs)
    alive = truth["alive_probability"]
    assert abs(alive.mean() - truth["alive"].mean()) < 0.02
    latent = roc_auc_score(truth["churned"], truth["true_churn_probability"])
    assert roc_auc_score(truth["churned"], p) < latent


def test_the_oracle_is_exact_where_it_is_certain(book: DemoData) -> None:
    truth = book.truth
    gone = truth[~truth["alive"]]
    assert len(gone) > 0 and (gone["true_churn_probability"] == 1.0).all()
    assert gone["churned"].all()  # an account that has left never orders again
    alive = truth[truth["alive"]]
    assert np.allclose(alive["true_churn_probability"], np.exp(-alive["expected_orders"]))


def test_the_oracle_ranks_well_and_interactions_carry_no_signal(book: DemoData) -> None:
    truth = book.truth
    oracle = roc_auc_score(truth["churned"], truth["true_churn_probability"])
    assert 0.85 < oracle < 0.99
    cutoff = truth["cutoff"].max()
    rows = truth[truth["cutoff"] == cutoff]
    events = book.interactions[book.interactions["event_date"] <= cutoff]
    complaints = events[events["event_type"] == "complaint"].groupby("account_id").size()
    count = rows["account_id"].map(complaints).fillna(0.0)
    assert abs(roc_auc_score(rows["churned"], count) - 0.5) < 0.06


def test_truth_cutoffs_must_leave_room_for_the_horizon() -> None:
    with pytest.raises(ValueError, match="truth_cutoffs"):
        generate_btyd_book(n_accounts=10, truth_cutoffs=[pd.Timestamp("2026-10-01")])
