"""For any history, the cutoff layout is either valid or a NotEnoughHistoryError.

The crash this guards against: 8-10 months of history passed a cutoff count taken before
the embargo, then left churn training with 0 or 1 training cutoffs (IndexError, ValueError).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kam_ml.errors import NotEnoughHistoryError
from kam_ml.problem.definition import MIN_TRAINING_CUTOFFS, CutoffLayout, ProblemDefinition

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


def _first_date(days: int) -> pd.Timestamp:
    return AS_OF - pd.Timedelta(days=days)


def _assert_valid(layout: CutoffLayout, definition: ProblemDefinition, first: pd.Timestamp):
    train, validation = layout.train_cutoffs, layout.validation_cutoffs
    assert len(train) >= MIN_TRAINING_CUTOFFS
    assert len(validation) == definition.validation_cutoffs
    cutoffs = layout.cutoffs
    assert len(cutoffs) == len(set(cutoffs)) <= definition.training_cutoffs
    assert list(train) == sorted(train) and list(validation) == sorted(validation)
    assert cutoffs[-len(validation) :] == list(validation)  # validation is the newest
    # the embargo: no training label window reaches the first validation cutoff
    assert definition.label_window_end(train[-1]) <= validation[0]
    assert train[-1] + pd.Timedelta(days=definition.horizon_days) <= validation[0]
    for c in layout.embargoed_cutoffs:
        assert train[-1] < c < validation[0]
    # every cutoff lies inside the history and has its whole label window observed
    earliest = first + pd.Timedelta(days=definition.min_history_days)
    assert all(earliest <= c and definition.label_window_end(c) <= AS_OF for c in cutoffs)
    steps = {(b - a).days for a, b in zip(cutoffs, cutoffs[1:], strict=False)}
    assert steps == {definition.cutoff_step_days}


@settings(max_examples=400, deadline=None)
@given(definition=definitions, days=history_days)
def test_the_layout_is_valid_or_not_enough_history(definition, days):
    first = _first_date(days)
    try:
        layout = definition.training_layout(AS_OF, first)
    except NotEnoughHistoryError as error:
        assert str(first.date()) in str(error) and f"{definition.horizon_days}-day" in str(error)
        return
    _assert_valid(layout, definition, first)
    assert definition.training_cutoff_dates(AS_OF, first) == layout.cutoffs


@settings(max_examples=200, deadline=None)
@given(definition=definitions, days=history_days, more=st.integers(1, 400))
def test_more_history_never_breaks_a_layout_or_moves_validation(definition, days, more):
    try:
        shorter = definition.training_layout(AS_OF, _first_date(days))
    except NotEnoughHistoryError:
        return
    longer = definition.training_layout(AS_OF, _first_date(days + more))
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
    horizon that does, and one validation cutoff trains when the message says so."""
    first = _first_date(days)
    try:
        definition.training_layout(AS_OF, first)
    except NotEnoughHistoryError as error:
        message = str(error)
    else:
        return
    if "orders from " in message:
        needed = pd.Timestamp(message.split("orders from ")[1][:10])
        assert _trains(definition, needed)
        assert not _trains(definition, needed + pd.Timedelta(days=1))
    else:
        assert "more history alone cannot help" in message
        assert not _trains(definition, _first_date(100 * 365))
    if "horizon to at most " in message:
        horizon = int(message.split("horizon to at most ")[1].split()[0])
        assert _trains(replace(definition, horizon_days=horizon), first)
        assert not _trains(replace(definition, horizon_days=horizon + 1), first)
    else:
        assert not _trains(replace(definition, horizon_days=1), first)
    one_validation = replace(definition, validation_cutoffs=1)
    assert ("hold out 1 validation cutoff" in message) == (
        definition.validation_cutoffs > 1 and _trains(one_validation, first)
    )
