"""The demo generator: contract-shaped tables, determinism, and a planted, known truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.api import types
from sklearn.metrics import roc_auc_score

from kam_ml.demo.generate import DemoData, generate_demo_data
from kam_ml.parquet import read_parquet

HORIZON_DAYS = 90
DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def demo_seed() -> int:
    return 7


@pytest.fixture(scope="module")
def demo(demo_seed: int) -> DemoData:
    return generate_demo_data(n_accounts=3000, seed=demo_seed, horizon_days=HORIZON_DAYS)


# -- the contract --------------------------------------------------------------------------
def test_tables_have_the_contract_columns_and_types(demo: DemoData) -> None:
    accounts, orders, events, categories = (
        demo.accounts,
        demo.orders,
        demo.interactions,
        demo.categories,
    )
    assert list(accounts.columns) == ["account_id", "signup_date", "manager", "region", "segment"]
    assert list(orders.columns) == [
        "order_id",
        "account_id",
        "order_date",
        "category",
        "product_id",
        "quantity",
        "amount",
        "returned",
        "return_date",
    ]
    assert list(events.columns) == ["account_id", "event_date", "event_type", "value"]
    assert list(categories.columns) == ["category", "margin_rate"]
    for frame, column in [
        (accounts, "account_id"),
        (accounts, "manager"),
        (accounts, "region"),
        (accounts, "segment"),
        (orders, "order_id"),
        (orders, "account_id"),
        (orders, "category"),
        (orders, "product_id"),
        (events, "account_id"),
        (events, "event_type"),
        (categories, "category"),
    ]:
        assert types.is_string_dtype(frame[column]), column
    for frame, column in [
        (accounts, "signup_date"),
        (orders, "order_date"),
        (orders, "return_date"),
        (events, "event_date"),
    ]:
        assert frame[column].dtype == "datetime64[ns]", column
    assert types.is_integer_dtype(orders["quantity"])
    assert orders["amount"].dtype == np.float64
    assert orders["returned"].dtype == bool
    assert events["value"].dtype == np.float64
    assert categories["margin_rate"].dtype == np.float64


def test_rows_follow_the_contract_rules(demo: DemoData) -> None:
    orders, events, categories = demo.orders, demo.interactions, demo.categories
    assert (orders["quantity"] > 0).all()
    assert (orders["amount"] >= 0).all()
    assert orders["order_id"].notna().all() and orders["account_id"].notna().all()
    assert orders.groupby("order_id").size().max() > 1  # several lines may share an order
    assert categories["category"].is_unique
    assert categories["margin_rate"].between(0.3, 0.75).all()
    assert set(orders["category"]) <= set(categories["category"])
    assert set(events["event_type"]) == {"complaint", "ticket", "nps", "newsletter_click"}
    nps = events.loc[events["event_type"] == "nps", "value"]
    assert nps.between(0, 10).all() and (nps == nps.round()).all()
    assert (events.loc[events["event_type"] == "ticket", "value"] >= 0).all()
    assert events.loc[events["event_type"] == "complaint", "value"].isna().all()


def test_account_ids_are_unique_and_every_row_belongs_to_an_account(demo: DemoData) -> None:
    ids = demo.accounts["account_id"]
    assert ids.is_unique and (ids.str.len() > 0).all()
    assert ids.str.fullmatch(r"A\d{6}").all()
    assert set(demo.orders["account_id"]) <= set(ids)
    assert set(demo.interactions["account_id"]) <= set(ids)


def test_accounts_look_like_a_key_account_book(demo: DemoData) -> None:
    accounts = demo.accounts
    unassigned = accounts["manager"].isna() | (accounts["manager"] == "")
    assert 0.005 < unassigned.mean() < 0.05
    per_manager = accounts.loc[~unassigned, "manager"].value_counts()
    assert 35 <= per_manager.mean() <= 65
    assert set(accounts["region"]) == {"EMEA", "AMER", "APAC"}
    assert set(accounts["segment"]) == {"platinum", "gold", "silver"}
    first_order = demo.orders["order_date"].min()
    assert (accounts["signup_date"] > first_order).mean() > 0.1  # newcomers sign up later


def test_signup_is_not_after_the_first_order(demo: DemoData) -> None:
    first = demo.orders.groupby("account_id")["order_date"].min()
    signup = demo.accounts.set_index("account_id")["signup_date"].reindex(first.index)
    assert (signup <= first).all()


def test_returns_come_after_their_order_and_some_lack_a_date(demo: DemoData) -> None:
    orders = demo.orders
    returned = orders[orders["returned"]]
    dated = returned.dropna(subset=["return_date"])
    assert (dated["return_date"] >= dated["order_date"]).all()
    assert orders.loc[~orders["returned"], "return_date"].isna().all()
    assert 0.02 < orders["returned"].mean() < 0.15
    assert 0.03 < returned["return_date"].isna().mean() < 0.2


def test_volume_is_about_twenty_lines_per_account(demo: DemoData) -> None:
    assert 15 <= len(demo.orders) / len(demo.accounts) <= 30


def test_platinum_accounts_order_more_and_bigger(demo: DemoData) -> None:
    segment = demo.accounts.set_index("account_id")["segment"]
    lines = demo.orders.assign(segment=demo.orders["account_id"].map(segment))
    per_account = lines.groupby("segment").size() / segment.value_counts()
    mean_amount = lines.groupby("segment")["amount"].mean()
    assert per_account["platinum"] > per_account["silver"]
    assert mean_amount["platinum"] > mean_amount["silver"]


def test_fourth_quarter_sells_more_than_summer(demo: DemoData) -> None:
    month = demo.orders["order_date"].dt.month
    assert month.isin([11, 12]).mean() > 1.2 * month.isin([6, 7]).mean()


# -- determinism -------------------------------------------------------------------------
def test_same_seed_gives_identical_frames() -> None:
    first = generate_demo_data(n_accounts=300, seed=3)
    second = generate_demo_data(n_accounts=300, seed=3)
    for name in ("accounts", "orders", "interactions", "categories", "truth"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))


def test_different_seeds_give_different_books() -> None:
    first = generate_demo_data(n_accounts=300, seed=3)
    other = generate_demo_data(n_accounts=300, seed=4)
    assert not first.orders.equals(other.orders)
    assert not first.accounts["segment"].equals(other.accounts["segment"])


# -- the planted truth ----------------------------------------------------------------------
def _contract_labels(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.Series:
    """Active accounts at T and their churn label, straight from the contract's words."""
    end_of_t = cutoff + DAY
    dates = orders["order_date"]
    active = orders.loc[(dates >= end_of_t - 365 * DAY) & (dates < end_of_t), "account_id"]
    future = orders.loc[(dates >= end_of_t) & (dates < end_of_t + HORIZON_DAYS * DAY), "account_id"]
    ids = pd.Index(active.unique(), name="account_id").sort_values()
    return pd.Series(~ids.isin(future.unique()), index=ids, name="churned")


def test_truth_covers_exactly_the_active_accounts_with_the_contract_label(
    demo: DemoData,
) -> None:
    truth = demo.truth
    assert truth["cutoff"].dtype == "datetime64[ns]"
    assert truth["churned"].dtype == bool
    cutoffs = sorted(truth["cutoff"].unique())
    assert len(cutoffs) >= 6
    for cutoff in cutoffs:
        expected = _contract_labels(demo.orders, pd.Timestamp(cutoff))
        actual = truth[truth["cutoff"] == cutoff].set_index("account_id")["churned"].sort_index()
        pd.testing.assert_index_equal(actual.index, expected.index)
        np.testing.assert_array_equal(actual.to_numpy(), expected.to_numpy())


def test_default_cutoffs_are_month_ends_whose_horizon_fits(demo: DemoData) -> None:
    cutoffs = pd.DatetimeIndex(sorted(demo.truth["cutoff"].unique()))
    assert cutoffs.is_month_end.all()
    assert cutoffs.max() + HORIZON_DAYS * DAY <= pd.Timestamp("2026-10-31")
    assert cutoffs.min() > pd.Timestamp("2025-10-31")


def test_true_probabilities_are_calibrated(demo: DemoData) -> None:
    truth = demo.truth
    assert truth["true_churn_probability"].between(0, 1).all()
    for _, at_cutoff in truth.groupby("cutoff"):
        realised = at_cutoff["churned"].mean()
        assert 0.10 <= realised <= 0.30
        assert abs(at_cutoff["true_churn_probability"].mean() - realised) < 0.05


def test_accounts_that_already_left_surely_churn(demo: DemoData) -> None:
    gone = demo.truth[~demo.truth["alive"]]
    assert len(gone) > 0
    assert (gone["true_churn_probability"] == 1.0).all() and gone["churned"].all()


def test_the_oracle_separates_churners_well(demo: DemoData) -> None:
    for _, at_cutoff in demo.truth.groupby("cutoff"):
        auc = roc_auc_score(at_cutoff["churned"], at_cutoff["true_churn_probability"])
        assert auc > 0.75


def test_accounts_with_recent_complaints_churn_more(demo: DemoData) -> None:
    complaints = demo.interactions[demo.interactions["event_type"] == "complaint"]
    rows = []
    for cutoff, at_cutoff in demo.truth.groupby("cutoff"):
        dates = complaints["event_date"]
        recent = complaints.loc[(dates < cutoff + DAY) & (dates >= cutoff - 89 * DAY)]
        rows.append(at_cutoff.assign(complained=at_cutoff["account_id"].isin(recent["account_id"])))
    stacked = pd.concat(rows)
    rate = stacked.groupby("complained")["churned"].mean()
    assert rate[True] > rate[False] + 0.02


# -- arguments and files ---------------------------------------------------------------------
def test_explicit_cutoffs_are_honoured_and_late_ones_refused() -> None:
    cutoff = pd.Timestamp("2026-03-15")
    demo = generate_demo_data(n_accounts=200, seed=1, truth_cutoffs=[cutoff])
    assert set(demo.truth["cutoff"]) == {cutoff}
    with pytest.raises(ValueError, match="truth_cutoffs"):
        generate_demo_data(n_accounts=200, truth_cutoffs=[pd.Timestamp("2026-09-30")])


@pytest.mark.parametrize(
    ("arguments", "name"),
    [({"n_accounts": 0}, "n_accounts"), ({"seed": -1}, "seed"), ({"years": 0.2}, "years")],
)
def test_bad_arguments_are_named(arguments: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=f"'{name}'"):
        generate_demo_data(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_keeps_the_truth_out_of_the_contract_folder(tmp_path: Path, fmt: str) -> None:
    demo = generate_demo_data(n_accounts=200, seed=2)
    demo.write(tmp_path, fmt=fmt)  # type: ignore[arg-type]
    top_level = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert top_level == sorted(
        f"{name}.{fmt}" for name in ("accounts", "orders", "interactions", "categories")
    )
    assert (tmp_path / "truth" / f"churn_truth.{fmt}").is_file()
    if fmt == "parquet":
        orders = read_parquet(tmp_path / "orders.parquet")  # stored in us, read back in ns
        pd.testing.assert_frame_equal(orders, demo.orders)
    else:
        orders = pd.read_csv(tmp_path / "orders.csv", parse_dates=["order_date"])
        assert len(orders) == len(demo.orders)
        assert (orders["order_date"] == demo.orders["order_date"]).all()
