"""The per-account reductions and the radix sort behind fast feature building."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kam_ml.data.aggregate import last_value, newest_value
from kam_ml.data.tables import _account_date_order


@settings(max_examples=60, deadline=None)
@given(
    codes=hnp.arrays(np.int64, st.integers(1, 300), elements=st.integers(0, 70_000)),
    seed=st.integers(0, 2**16),
)
def test_radix_order_equals_lexsort(codes, seed):
    dates = np.random.default_rng(seed).integers(0, 20, size=len(codes))  # many ties
    np.testing.assert_array_equal(_account_date_order(codes, dates), np.lexsort((dates, codes)))


def test_newest_value_picks_the_youngest_row_and_the_later_row_on_ties():
    codes = np.array([0, 1, 0, 0, 1])
    age = np.array([5.0, 2.0, 1.0, 1.0, 3.0])
    values = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    np.testing.assert_array_equal(newest_value(codes, age, values, 3), [40.0, 20.0, np.nan])


def test_newest_value_agrees_with_last_value_on_sorted_rows():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 50, 1000)
    age = rng.integers(0, 30, 1000).astype(float)
    values = rng.normal(size=1000)
    order = np.lexsort((-age, codes))  # by account, oldest first (stable on ties)
    np.testing.assert_array_equal(
        newest_value(codes, age, values, 60),
        last_value(codes[order], values[order], 60),
    )
