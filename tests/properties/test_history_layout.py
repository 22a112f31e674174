"""For any history, the cutoff layout is either valid or a NotEnoughHistoryError.

The crash this guards against: 8-10 months of history passed a cutoff count taken before
the embargo, then left churn training with 0 or 1 training cutoffs (IndexError, ValueError).
Since the layout adapts to the history, the error is also exact. With the default
definition an out-of-time layout is used from ``30 + horizon + 7 * ceil(horizon / 7) + 7``
days from the first order to the as-of date, an account holdout (same cutoffs, held-out
accounts) below that down to ``30 + horizon + 7``, and only below that the error.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kam_ml.errors import NotEnoughHistoryError
from kam_ml.problem.definition import (
    ACCOUNT_HOLDOUT_FRACTION,
    ADAPTED_MIN_HISTORY_DAYS,
    ADAPTIVE_STEPS_DAYS,
    MIN_TRAINING_CUTOFFS,
    CutoffLayout,
    ProblemDefinition,
)
from kam_ml.problem.splits import split_by_layout

AS_OF = pd.Timestamp("2026-10-31")

definitions = st.builds(
    ProblemDefinition,
    horizon_days=st.sampled_from([7, 30, 60, 90, 120, 180, 365]),
    training_cutoffs=st.sampled_from([4, 6, 12, 24]),
    validation_cutoffs=st.integers(1, 3),
    cutoff_step_days=st.sampled_from([7, 30, 31]),
    min_history_days=st.sampled_from([0, 30, 90, 365]),
)
history_days = st.integers(1, 48 * 31)  # 1 day to 4 years
history_months = st.integers(3, 48)
horizons = st.integers(30, 180)


def _first_date(days: int) -> pd.Timestamp:
    return AS_OF - pd.Timedelta(days=days)


def _months(months: int) -> pd.Timestamp:
    return pd.Timestamp(AS_OF - pd.DateOffset(months=months))


def _assert_valid(layout: CutoffLayout, definition: ProblemDefinition, first: pd.Timestamp):
    if layout.account_holdout:
        _assert_valid_holdout(layout, definition, first)
        return
    assert days_of(first) >= definition.out_of_time_history_days()  # out of time when it fits
    train, validation = layout.train_cutoffs, layout.validation_cutoffs
    assert len(train) >= MIN_TRAINING_CUTOFFS and len(validation) >= 1
    cutoffs = layout.cutoffs
    assert len(cutoffs) == len(set(cutoffs))
    assert list(train) == sorted(train) and list(validation) == sorted(validation)
    assert cutoffs[-len(validation) :] == list(validation)  # validation is the newest
    # the embargo: no training label window reaches the first validation cutoff
    assert definition.label_window_end(train[-1]) <= validation[0]
    assert train[-1] + pd.Timedelta(days=definition.horizon_days) <= validation[0]
    for c in layout.embargoed_cutoffs:
        assert train[-1] < c < validation[0]
    # every cutoff lies inside the history and has its whole label window observed
    assert layout.min_history_days is not None and layout.step_days is not None
    earliest = first + pd.Timedelta(days=layout.min_history_days)
    assert all(earliest <= c and definition.label_window_end(c) <= AS_OF for c in cutoffs)
    steps = {(b - a).days for a, b in zip(cutoffs, cutoffs[1:], strict=False)}
    assert steps == {layout.step_days}
    if not layout.adapted:  # the definition's own layout, exactly
        assert len(validation) == definition.validation_cutoffs
        assert len(cutoffs) <= definition.training_cutoffs
        assert (layout.step_days, layout.min_history_days) == (
            definition.cutoff_step_days,
            definition.min_history_days,
        )
        return
    # adapted: only ever finer, fewer held out, a lower floor -- never below the limits
    assert layout.step_days in (definition.cutoff_step_days, *ADAPTIVE_STEPS_DAYS)
    assert layout.step_days <= definition.cutoff_step_days
    assert len(validation) <= definition.validation_cutoffs
    floor = min(definition.min_history_days, ADAPTED_MIN_HISTORY_DAYS)
    assert floor <= layout.min_history_days <= definition.min_history_days
    own = definition._laid_out(AS_OF, first)
    assert len(own.train_cutoffs) < MIN_TRAINING_CUTOFFS  # adapted only when it cannot train


def days_of(first: pd.Timestamp) -> int:
    return (AS_OF - first).days


def _assert_valid_holdout(
    layout: CutoffLayout, definition: ProblemDefinition, first: pd.Timestamp
) -> None:
    """Only when no out-of-time layout fits; every labelled cutoff trains, the newest
    validates, and no account is on both sides."""
    assert days_of(first) < definition.out_of_time_history_days()
    assert layout.adapted and layout.holdout_fraction == ACCOUNT_HOLDOUT_FRACTION
    train, validation = layout.train_cutoffs, layout.validation_cutoffs
    assert len(train) >= MIN_TRAINING_CUTOFFS and layout.embargoed_cutoffs == ()
    assert list(train) == sorted(set(train)) and validation == train[-1:]
    assert layout.cutoffs == list(train)
    assert layout.min_history_days is not None and layout.step_days is not None
    earliest = first + pd.Timedelta(days=layout.min_history_days)
    assert all(earliest <= c and definition.label_window_end(c) <= AS_OF for c in train)
    assert definition.label_window_end(train[-1]) + pd.Timedelta(days=layout.step_days) > AS_OF
    steps = {(b - a).days for a, b in zip(train, train[1:], strict=False)}
    assert steps == {layout.step_days}
    assert "the metrics do not test drift" in layout.describe()
    accounts = [f"A{i:03d}" for i in range(200)]
    frame = pd.DataFrame(
        {"cutoff": [c for c in train for _ in accounts], "account_id": accounts * len(train)}
    )
    split = split_by_layout(frame, layout)
    held_in = set(frame.loc[split.train, "account_id"])
    held_out = set(frame.loc[split.validation, "account_id"])
    assert held_in and held_out and not held_in & held_out
    assert set(frame.loc[split.validation, "cutoff"]) == set(validation)


@settings(max_examples=400, deadline=None)
@given(definition=definitions, days=history_days)
def test_the_layout_is_valid_or_not_enough_history(definition, days):
    first = _first_date(days)
    try:
        layout = definition.training_layout(AS_OF, first)
    except NotEnoughHistoryError as error:
        assert str(first.date()) in str(error) and f"{definition.horizon_days}-day" in str(error)
        assert days < definition.minimum_history_days()
        return
    assert days >= definition.minimum_history_days()
    _assert_valid(layout, definition, first)
    assert definition.training_cutoff_dates(AS_OF, first) == layout.cutoffs


@settings(max_examples=300, deadline=None)
@given(months=history_months, horizon=horizons)
def test_a_default_layout_exists_exactly_from_the_stated_minimum(months, horizon):
    """3-48 months of history, 30-180-day horizons: out of time from 30 days + the horizon
    + the horizon in whole weeks + 1 week, an account holdout below that from 30 days + the
    horizon + 1 week, and the error only below that."""
    definition = ProblemDefinition(horizon_days=horizon)
    first = _months(months)
    days = (AS_OF - first).days
    out_of_time = 30 + horizon + 7 * math.ceil(horizon / 7) + 7
    minimum = 30 + horizon + 7
    assert definition.out_of_time_history_days() == out_of_time
    assert definition.minimum_history_days() == minimum
    try:
        layout = definition.training_layout(AS_OF, first)
    except NotEnoughHistoryError as error:
        assert days < minimum
        message = str(error)
        assert f"{days} days" in message and f"With a {horizon}-day horizon" in message
        assert f"training needs {minimum} days" in message and "To train, " in message
        return
    assert days >= minimum
    _assert_valid(layout, definition, first)
    assert layout.account_holdout == (days < out_of_time)
    for edge, holdout in ((out_of_time, False), (out_of_time - 1, True)):
        assert definition.training_layout(AS_OF, _first_date(edge)).account_holdout == holdout
    for edge, trains in ((minimum, True), (minimum - 1, False)):
        try:
            definition.training_layout(AS_OF, _first_date(edge))
        except NotEnoughHistoryError:
            assert not trains
        else:
            assert trains


@settings(max_examples=200, deadline=None)
@given(definition=definitions, days=history_days, more=st.integers(1, 400))
def test_more_history_never_breaks_a_layout(definition, days, more):
    """Nor, on the same layout, moves validation or drops a training cutoff."""
    try:
        shorter = definition.training_layout(AS_OF, _first_date(days))
    except NotEnoughHistoryError:
        return
    longer = definition.training_layout(AS_OF, _first_date(days + more))
    if shorter.account_holdout and not longer.account_holdout:
        return  # more history, an out-of-time layout: nothing to compare cutoff by cutoff
    assert not longer.account_holdout or shorter.account_holdout
    same = (shorter.step_days, shorter.min_history_days, len(shorter.validation_cutoffs)) == (
        longer.step_days,
        longer.min_history_days,
        len(longer.validation_cutoffs),
    )
    if same:
        assert longer.validation_cutoffs == shorter.validation_cutoffs
        assert set(shorter.train_cutoffs) <= set(longer.train_cutoffs)


def _trains(definition: ProblemDefinition, first: pd.Timestamp) -> bool:
    try:
        definition.training_layout(AS_OF, first)
    except NotEnoughHistoryError:
        return False
    return True


@settings(max_examples=200, deadline=None)
@given(definition=definitions, days=history_days)
def test_every_remedy_the_message_names_is_exact(definition, days):
    """ "orders from D on" is the latest first date that trains, "at most H days" the longest
    horizon that does."""
    first = _first_date(days)
    try:
        definition.training_layout(AS_OF, first)
    except NotEnoughHistoryError as error:
        message = str(error)
    else:
        return
    needed = pd.Timestamp(message.split("orders from ")[1][:10])
    assert _trains(definition, needed)
    assert not _trains(definition, needed + pd.Timedelta(days=1))
    if "horizon to at most " in message:
        horizon = int(message.split("horizon to at most ")[1].split()[0])
        assert _trains(replace(definition, horizon_days=horizon), first)
        assert not _trains(replace(definition, horizon_days=horizon + 1), first)
    else:
        assert not _trains(replace(definition, horizon_days=1), first)
