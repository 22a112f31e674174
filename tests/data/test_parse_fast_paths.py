"""The small-column fast paths of ``parse_column`` give exactly what the general path gives.

A posted history's columns are small and clean, so ``_text`` skips strip-and-blank when it
would change nothing, and datetimes in range are cast without the range mask. Each case is
parsed small (fast path taken when it applies) and repeated past ``SMALL_COLUMN_ROWS``
(general path always): the first rows must be identical, values, dtype and unparsed flags.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.data.contract import SMALL_COLUMN_ROWS, parse_column

TEXT_CASES = {
    "clean": ["A001", "gold", None],
    "padded": [" A001", "gold\t", "x"],
    "blank": ["", "   ", "x"],
    "non_ascii_space": ["gold\u00a0", "\u2003x", "y"],
    "non_ascii_clean": ["Zürich", "São Paulo", "x"],
    "ascii_separator": ["x\x1c", "y", "z"],
    "inner_space": ["fine jewelry", "a\tb", "c"],
}


def _both(values: pd.Series, type_: str) -> tuple[tuple, tuple]:
    large = pd.concat([values] * (SMALL_COLUMN_ROWS // len(values) + 1), ignore_index=True)
    assert len(large) > SMALL_COLUMN_ROWS
    small_parsed, small_unparsed = parse_column(values, type_)  # type: ignore[arg-type]
    large_parsed, large_unparsed = parse_column(large, type_)  # type: ignore[arg-type]
    n = len(values)
    return (small_parsed, small_unparsed), (large_parsed.iloc[:n], large_unparsed[:n])


@pytest.mark.parametrize("dtype", ["str", "string", "object"])
@pytest.mark.parametrize("case", sorted(TEXT_CASES))
def test_text_parses_alike_small_and_large(case: str, dtype: str) -> None:
    values = pd.Series(TEXT_CASES[case], dtype=dtype, name="segment")
    (small, small_bad), (large, large_bad) = _both(values, "string")
    pd.testing.assert_series_equal(small, large)
    np.testing.assert_array_equal(small_bad, large_bad)


def test_padding_and_blanks_are_still_stripped_in_a_small_column() -> None:
    parsed, _ = parse_column(pd.Series([" gold ", "  ", "x"], dtype="str"), "string")
    assert parsed.iloc[0] == "gold" and pd.isna(parsed.iloc[1]) and parsed.iloc[2] == "x"


@pytest.mark.parametrize("type_", ["date", "timestamp"])
@pytest.mark.parametrize(
    "days",
    [["2024-02-29T13:45:00", "NaT"], ["1600-01-01", "2024-01-01"], ["2024-01-01", "2999-01-01"]],
)
def test_datetimes_of_other_units_parse_alike_small_and_large(days: list[str], type_: str) -> None:
    values = pd.Series(np.array(days, dtype="datetime64[us]"), name="order_date")
    (small, small_bad), (large, large_bad) = _both(values, type_)
    pd.testing.assert_series_equal(small, large)
    np.testing.assert_array_equal(small_bad, large_bad)
    assert small.dtype == "datetime64[ns]"
