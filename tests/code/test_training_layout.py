"""The cutoff layout: counted after the embargo, pinned on long histories, clear when short."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_nine_months_of_history_name_the_history_the_counts_and_every_remedy():
    with pytest.raises(NotEnoughHistoryError) as caught:
        ProblemDefinition().training_layout(AS_OF, pd.Timestamp("2026-02-01"))
    assert str(caught.value) == (
        "Not enough history to train: the history runs from 2026-02-01 to the as-of date "
        "2026-10-31, 272 days (about 8.9 months). With a 90-day horizon, 4 cutoffs fit (every "
        "30 days, at least 90 days after the first order, label window ended by the as-of "
        "date): 2 validate (validation_cutoffs=2), 2 are embargoed because their label "
        "windows reach the validation period, and 0 are left to train; training needs at "
        "least 2. To train, shorten the horizon to at most 60 days or add about 2 more months "
        "of history (orders from 2025-12-05 on)."
    )


def test_ten_months_also_offer_one_validation_cutoff():
    """The old check passed here and ChurnModel.fit then failed: 1 training cutoff."""
    with pytest.raises(NotEnoughHistoryError) as caught:
        ProblemDefinition().training_layout(AS_OF, pd.Timestamp("2026-01-04"))
    message = str(caught.value)
    assert "and 1 is left to train" in message
    assert "hold out 1 validation cutoff instead of 2 (validation_cutoffs=1)" in message
    assert "add about 1 more month of history (orders from 2025-12-05 on)" in message
    ProblemDefinition(validation_cutoffs=1).training_layout(AS_OF, pd.Timestamp("2026-01-04"))


def test_when_no_history_can_help_the_message_says_what_can():
    with pytest.raises(NotEnoughHistoryError, match=r"stack more than 3 cutoffs") as caught:
        ProblemDefinition(training_cutoffs=3).training_layout(AS_OF, pd.Timestamp("2020-01-01"))
    assert "more history alone cannot help" in str(caught.value)


@pytest.mark.parametrize("train", [train_churn, train_offers, train_value])
def test_training_on_a_short_book_is_not_enough_history_not_a_crash(train):
    demo = generate_demo_data(n_accounts=60, seed=2, years=0.75)
    raw = {"accounts": demo.accounts, "orders": demo.orders, "categories": demo.categories}
    tables = validate_tables(raw, on_bad_rows="refuse").tables
    with pytest.raises(NotEnoughHistoryError, match="left to train"):
        train(tables, tables.last_date(), ProblemDefinition())


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
