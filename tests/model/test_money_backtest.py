"""The money backtest: hand-made lists (perfect / none / textbook) and a replay on demo data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.model import ChurnModel
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import generate_demo_data
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.science.backtest import (
    capture_table,
    lost_revenue_backtest,
    summarise_capture,
    training_frame_as_of,
)

T = pd.Timestamp("2026-03-31")


def _lists(probability: list[float], churned: list[bool], lost: list[float]) -> pd.DataFrame:
    n = len(probability)
    return pd.DataFrame(
        {
            "as_of": T,
            "account_id": [f"A{i}" for i in range(n)],
            "manager": "Ann",
            "region": "EMEA",
            "churn_probability": probability,
            "revenue_at_risk": probability,  # equal revenue: the list order is the probability's
            "days_since_last_order": np.arange(n, dtype=float),  # recency ranks A{n-1} first
            "churned": churned,
            "lost_revenue": lost,
        }
    )


def _row(capture: pd.DataFrame, level: str, ranking: str = "revenue_at_risk") -> pd.Series:
    return capture.set_index(["level", "ranking"]).loc[(level, ranking)]


def test_textbook_capture() -> None:
    lists = _lists([0.9, 0.5, 0.1], [True, False, True], [100.0, 0.0, 50.0])
    capture = capture_table(lists, top_n=(1, 2, 3))
    row = _row(capture, "manager")
    assert row["group"] == "Ann" and row["lost_revenue"] == 150.0 and row["churned"] == 2
    assert row["captured_top1"] == 100.0 and row["share_top1"] == pytest.approx(2 / 3)
    assert row["share_top2"] == pytest.approx(2 / 3) and row["share_top3"] == 1.0
    recency = _row(capture, "manager", "recency")  # A2 (50) first
    assert recency["share_top1"] == pytest.approx(1 / 3)


def test_perfect_and_no_hit_lists() -> None:
    perfect = _row(capture_table(_lists([0.9, 0.8, 0.1], [1, 1, 0], [5.0, 5.0, 0.0]), (2,)), "all")
    assert perfect["share_top2"] == 1.0
    none = _row(capture_table(_lists([0.9, 0.8, 0.1], [0, 0, 1], [0.0, 0.0, 7.0]), (2,)), "all")
    assert none["share_top2"] == 0.0


def test_nothing_lost_gives_nan_share() -> None:
    row = _row(capture_table(_lists([0.9], [False], [0.0]), (1,)), "region")
    assert np.isnan(row["share_top1"])


@pytest.fixture(scope="module")
def tables() -> Tables:
    demo = generate_demo_data(n_accounts=600, seed=4, end_date="2026-10-31")
    raw = {"accounts": demo.accounts, "orders": demo.orders, "interactions": demo.interactions}
    return validate_tables(raw, on_bad_rows="refuse").tables


DEFINITION = ProblemDefinition(training_cutoffs=5, validation_cutoffs=1)


def test_replayed_model_never_sees_after_the_date(tables: Tables) -> None:
    _, _, cutoffs = training_frame_as_of(tables, T, DEFINITION)
    assert max(DEFINITION.label_window_end(c) for c in cutoffs) <= T


def test_replay_beats_a_random_list(tables: Tables) -> None:
    dates = [T, pd.Timestamp("2026-05-31")]
    capture = lost_revenue_backtest(
        tables, dates, DEFINITION, top_n=(25,), make_model=lambda: ChurnModel(n_estimators=60)
    )
    assert set(capture["level"]) == {"all", "region", "manager"}
    assert set(capture["as_of"]) == set(dates)
    book = summarise_capture(capture, top_n=(25,)).set_index(["level", "ranking"])
    model = book.loc[("all", "revenue_at_risk")]
    random_share = 25 * len(dates) / model["accounts"]
    assert model["share_top25"] > 2 * random_share
    per_manager = capture[
        (capture["level"] == "manager") & (capture["ranking"] == "revenue_at_risk")
    ]
    assert per_manager.groupby("as_of")["lost_revenue"].sum().to_numpy() == pytest.approx(
        capture[(capture["level"] == "all") & (capture["ranking"] == "revenue_at_risk")][
            "lost_revenue"
        ].to_numpy()
    )
