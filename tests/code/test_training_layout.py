"""The cutoff layout: counted after the embargo, pinned on long histories, clear when short."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.training import train_churn
from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import generate_demo_data
from kam_ml.errors import DefinitionError, NotEnoughHistoryError
from kam_ml.offers.training import train_offers
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.splits import split_by_cutoff, split_by_layout
from kam_ml.value.training import train_value, value_layout

AS_OF = pd.Timestamp("2026-10-31")
PRE_MOVE_BUNDLES = Path(__file__).parents[1] / "data" / "fixtures" / "pre-move-bundles"


def _dates(cutoffs) -> list[str]:
    return [str(c.date()) for c in cutoffs]


def test_the_demo_book_layout_is_the_one_models_were_trained_on():
    """The demo book (3000 accounts, seed 7) starts 2023-10-29: these are the cutoffs the
    churn, offer and value models had before the layout counted after the embargo."""
    first = pd.Timestamp("2023-10-29")
    churn = ProblemDefinition().training_layout(AS_OF, first)
    assert _dates(churn.train_cutoffs) == [
        "2025-09-06", "2025-10-06", "2025-11-05", "2025-12-05",
        "2026-01-04", "2026-02-03", "2026-03-05", "2026-04-04",
    ]  # fmt: skip
    assert _dates(churn.embargoed_cutoffs) == ["2026-05-04", "2026-06-03"]
    assert _dates(churn.validation_cutoffs) == ["2026-07-03", "2026-08-02"]
    value = value_layout(ProblemDefinition()).training_layout(AS_OF, first)
    assert _dates(value.train_cutoffs) == [
        "2024-02-09", "2024-03-10", "2024-04-09", "2024-05-09",
        "2024-06-08", "2024-07-08", "2024-08-07", "2024-09-06",
    ]  # fmt: skip
    assert _dates(value.validation_cutoffs) == ["2025-10-01", "2025-10-31"]
    assert len(value.cutoffs) == 22  # the 90-day floor drops the two oldest of 24


def test_the_default_layout_is_kept_wherever_it_trains():
    """The 3-year demo book and an 18-month book keep the monthly layout, unadapted."""
    for first in ("2023-10-29", "2025-05-04"):
        for horizon in (90, 91):
            definition = ProblemDefinition(horizon_days=horizon)
            layout = definition.training_layout(AS_OF, pd.Timestamp(first))
            assert not layout.adapted and layout == definition._laid_out(AS_OF, pd.Timestamp(first))
            assert (layout.step_days, len(layout.cutoffs)) == (30, 12)
    eighteen = ProblemDefinition(horizon_days=91).training_layout(AS_OF, pd.Timestamp("2025-05-04"))
    assert (len(eighteen.train_cutoffs), len(eighteen.embargoed_cutoffs)) == (7, 3)


def test_nine_months_and_a_91_day_horizon_train_on_fortnightly_cutoffs():
    """272 days: no layout with a 90-day floor fits (it needs 279), a 30-day floor does."""
    layout = ProblemDefinition(horizon_days=91).training_layout(AS_OF, pd.Timestamp("2026-02-01"))
    assert layout.adapted and (layout.step_days, layout.min_history_days) == (14, 30)
    assert _dates(layout.train_cutoffs) == ["2026-03-14", "2026-03-28", "2026-04-11"]
    assert _dates(layout.validation_cutoffs) == ["2026-07-18", "2026-08-01"]
    assert len(layout.embargoed_cutoffs) == 6
    assert layout.params() == {
        "layout.step_days": 14,
        "layout.min_history_days": 30,
        "layout.train_cutoffs": 3,
        "layout.embargoed_cutoffs": 6,
        "layout.validation_cutoffs": 2,
        "layout.adapted": True,
        "layout.account_holdout": False,
        "layout.holdout_fraction": None,
    }
    assert layout.describe() == (
        "Cutoff layout: 11 cutoffs every 14 days from 2026-03-14 to 2026-08-01: 3 train, 6 "
        "embargoed, 2 validate, none earlier than 30 days after the first order (adapted to "
        "the history: the definition's own layout left fewer than 2 training cutoffs)."
    )


def test_ten_months_go_weekly_before_giving_up_a_validation_cutoff():
    """The monthly layout leaves 1 training cutoff here; weekly cutoffs keep both held out."""
    layout = ProblemDefinition().training_layout(AS_OF, pd.Timestamp("2026-01-04"))
    assert layout.adapted and (layout.step_days, layout.min_history_days) == (7, 90)
    assert (len(layout.train_cutoffs), len(layout.validation_cutoffs)) == (4, 2)
    explicit = ProblemDefinition(validation_cutoffs=1)  # an explicit layout that trains is kept
    kept = explicit.training_layout(AS_OF, pd.Timestamp("2026-01-04"))
    assert not kept.adapted and (kept.step_days, len(kept.validation_cutoffs)) == (30, 1)


def test_too_few_cutoffs_for_the_embargo_stack_more():
    layout = ProblemDefinition(training_cutoffs=3).training_layout(
        AS_OF, pd.Timestamp("2020-01-01")
    )
    assert layout.adapted and layout.step_days == 30 and len(layout.cutoffs) == 6
    assert len(layout.train_cutoffs) == 2


@pytest.mark.parametrize("horizon", [30, 90, 91, 180])
def test_out_of_time_needs_30_days_the_horizon_its_weekly_embargo_and_a_week(horizon):
    """Below that, an account holdout on the same cutoffs; not an error."""
    definition = ProblemDefinition(horizon_days=horizon)
    needed = 30 + horizon + 7 * math.ceil(horizon / 7) + 7
    assert definition.out_of_time_history_days() == needed
    finest = definition.training_layout(AS_OF, AS_OF - pd.Timedelta(days=needed))
    assert (finest.step_days, finest.min_history_days, len(finest.validation_cutoffs)) == (7, 30, 1)
    assert len(finest.train_cutoffs) == 2 and not finest.account_holdout
    holdout = definition.training_layout(AS_OF, AS_OF - pd.Timedelta(days=needed - 1))
    assert holdout.account_holdout and holdout.embargoed_cutoffs == ()


@pytest.mark.parametrize("horizon", [30, 90, 91, 180, 365])
def test_any_layout_needs_30_days_the_horizon_and_a_week(horizon):
    """Two weekly labelled cutoffs, the oldest 30 days after the first order."""
    definition = ProblemDefinition(horizon_days=horizon)
    needed = 30 + horizon + 7
    assert definition.minimum_history_days() == needed
    layout = definition.training_layout(AS_OF, AS_OF - pd.Timedelta(days=needed))
    assert layout.account_holdout and (layout.step_days, layout.min_history_days) == (7, 30)
    assert _dates(layout.train_cutoffs) == _dates(
        [AS_OF - pd.Timedelta(days=horizon + 7), AS_OF - pd.Timedelta(days=horizon)]
    )
    assert layout.validation_cutoffs == layout.train_cutoffs[-1:]
    with pytest.raises(NotEnoughHistoryError):
        definition.training_layout(AS_OF, AS_OF - pd.Timedelta(days=needed - 1))


def test_cdnow_eleven_months_and_a_180_day_horizon_hold_out_accounts():
    """CDNOW starts 1997-01-01: 333 days cannot hold a 180-day out-of-time layout (399)."""
    definition = ProblemDefinition(horizon_days=180)
    layout = definition.training_layout(pd.Timestamp("1997-11-30"), pd.Timestamp("1997-01-01"))
    assert layout.account_holdout and layout.adapted
    assert _dates(layout.train_cutoffs) == ["1997-04-04", "1997-05-04", "1997-06-03"]
    assert _dates(layout.validation_cutoffs) == ["1997-06-03"]
    assert layout.cutoffs == list(layout.train_cutoffs)
    assert layout.params()["layout.account_holdout"] is True
    assert layout.describe().endswith(
        "(account holdout: the history is too short for an out-of-time validation; the "
        "held-out accounts are scored on the same cutoffs, so the metrics do not test drift)."
    )


def test_three_months_name_the_history_the_horizon_and_the_remedy():
    with pytest.raises(NotEnoughHistoryError) as caught:
        ProblemDefinition(horizon_days=91).training_layout(AS_OF, pd.Timestamp("2026-08-01"))
    assert str(caught.value) == (
        "Not enough history to train: the history runs from 2026-08-01 to the as-of date "
        "2026-10-31, 91 days (about 3.0 months). With a 91-day horizon no honest cutoff "
        "layout fits: training needs 128 days, enough for 2 cutoffs whose label windows end "
        "by the as-of date, validated on held-out accounts (with cutoffs every 7 days, the "
        "first 30 days after the first order; an out-of-time validation needs 219 days). "
        "To train, shorten the horizon to at most 54 days or add about 2 more months of "
        "history (orders from 2026-06-25 on)."
    )


def _short_book(days: int):
    """A 9-month demo book cut to its last ``days`` days of orders."""
    demo = generate_demo_data(n_accounts=60, seed=2, years=0.75)
    orders = demo.orders.loc[demo.orders["order_date"] > AS_OF - pd.Timedelta(days=days)]
    raw = {"accounts": demo.accounts, "orders": orders, "categories": demo.categories}
    return validate_tables(raw, on_bad_rows="refuse").tables


@pytest.mark.parametrize("train", [train_churn, train_offers, train_value])
def test_training_on_a_short_book_is_not_enough_history_not_a_crash(train):
    tables = _short_book(days=120)
    with pytest.raises(NotEnoughHistoryError, match="no honest cutoff layout fits"):
        train(tables, tables.last_date(), ProblemDefinition())


def test_nine_months_train_churn_but_not_the_12_month_value_model():
    tables = _short_book(days=400)
    result = train_churn(tables, tables.last_date(), ProblemDefinition(horizon_days=91))
    assert result.split.layout is not None and result.split.layout.adapted
    assert len(result.split.train_cutoffs) >= 2
    with pytest.raises(NotEnoughHistoryError):
        train_value(tables, tables.last_date(), ProblemDefinition(horizon_days=91))


def _book(n_accounts: int, years: float):
    demo = generate_demo_data(n_accounts=n_accounts, seed=2, years=years)
    raw = {"accounts": demo.accounts, "orders": demo.orders, "categories": demo.categories}
    return validate_tables(raw, on_bad_rows="refuse").tables


def _rows_by_side(result, frame):
    held_in = set(frame.loc[result.split.train, "account_id"])
    held_out = set(frame.loc[result.split.validation, "account_id"])
    return held_in, held_out


@pytest.mark.parametrize("train", [train_churn, train_offers])
def test_nine_months_and_a_180_day_horizon_train_on_an_account_holdout(train):
    tables = _book(n_accounts=300, years=0.75)
    result = train(tables, tables.last_date(), ProblemDefinition(horizon_days=180))
    layout = result.split.layout
    assert layout is not None and layout.account_holdout and layout.embargoed_cutoffs == ()
    assert result.split.validation_cutoffs == result.split.train_cutoffs[-1:]
    frame = result.labelled_features if train is train_churn else result.labelled_pairs
    held_in, held_out = _rows_by_side(result, frame)
    assert held_in and held_out and not held_in & held_out
    assert len(result.validation) > 0


def test_fourteen_months_train_the_12_month_value_model_on_an_account_holdout():
    tables = _book(n_accounts=150, years=1.2)
    result = train_value(tables, tables.last_date(), ProblemDefinition())
    assert result.split.layout is not None and result.split.layout.account_holdout
    validated = set(result.validation["account_id"])
    trained = set(result.labelled_features["account_id"]) - validated
    assert validated and trained
    assert np.isfinite(result.metrics["model"]["mae"])


def test_min_history_days_is_the_floor_of_the_oldest_cutoff():
    first = pd.Timestamp("2025-06-01")
    for floor in (0, 90, 200):
        definition = ProblemDefinition(min_history_days=floor)
        cutoffs = definition.training_layout(AS_OF, first).cutoffs
        assert cutoffs[0] >= first + pd.Timedelta(days=floor)
    assert len(ProblemDefinition(min_history_days=0).training_cutoff_dates(AS_OF, first)) == 12
    assert len(ProblemDefinition(min_history_days=200).training_cutoff_dates(AS_OF, first)) == 8


def test_min_history_days_is_logged_and_round_trips():
    definition = ProblemDefinition(min_history_days=365)
    assert definition.to_dict()["min_history_days"] == 365
    assert ProblemDefinition.from_dict(definition.to_dict()) == definition


def test_a_bundle_saved_before_min_history_days_loads_with_the_old_floor():
    metadata = json.loads((PRE_MOVE_BUNDLES / "kam-churn" / "metadata.json").read_text())
    assert "min_history_days" not in metadata["definition"]
    loaded = ProblemDefinition.from_dict(metadata["definition"])
    assert loaded == ProblemDefinition() and loaded.min_history_days == 90


def test_min_history_days_must_be_a_non_negative_int():
    with pytest.raises(
        DefinitionError,
        match="The 'min_history_days' of ProblemDefinition must be a non-negative int. Got -1",
    ):
        ProblemDefinition(min_history_days=-1)


def test_split_by_layout_leaves_embargoed_rows_on_neither_side():
    layout = ProblemDefinition().training_layout(AS_OF, pd.Timestamp("2023-01-01"))
    frame = pd.DataFrame({"cutoff": pd.DatetimeIndex(layout.cutoffs).repeat(2)})
    split = split_by_layout(frame, layout)
    embargoed = frame["cutoff"].isin(layout.embargoed_cutoffs).to_numpy()
    assert embargoed.sum() == 4 and not (split.train | split.validation)[embargoed].any()
    assert (split.train | split.validation | embargoed).all()
    by_cutoff = split_by_cutoff(frame, ProblemDefinition())  # the same rule, from the frame
    assert (by_cutoff.train == split.train).all()
    assert (by_cutoff.validation == split.validation).all()
    assert (by_cutoff.train_cutoffs, by_cutoff.validation_cutoffs) == (
        split.train_cutoffs,
        split.validation_cutoffs,
    )
