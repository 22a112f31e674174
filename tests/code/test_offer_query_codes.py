"""The short lists' small-frame query numbering equals the MultiIndex path it skips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.offers import recommend
from kam_ml.offers.recommend import _query_codes


def _frames(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    cutoffs = pd.to_datetime(["2026-01-01", "2026-02-01"])
    scored = pd.DataFrame(
        {
            "cutoff": cutoffs[rng.integers(0, 2, rows)],
            "account_id": pd.Series([f"A-{i}" for i in rng.integers(0, 40, rows)], dtype="string"),
        }
    )
    return scored.drop_duplicates(), scored


def _general(accounts: pd.DataFrame, scored: pd.DataFrame) -> np.ndarray:
    return np.asarray(
        pd.MultiIndex.from_frame(accounts).get_indexer(pd.MultiIndex.from_frame(scored))
    )


@pytest.mark.parametrize("rows", [0, 1, 300])
def test_small_frames_number_queries_as_the_multiindex_does(rows: int) -> None:
    accounts, scored = _frames(rows)
    np.testing.assert_array_equal(_query_codes(accounts, scored), _general(accounts, scored))


def test_a_row_missing_from_the_accounts_gets_minus_one_on_both_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts, scored = _frames(300)
    accounts = accounts.iloc[1:]
    small = _query_codes(accounts, scored)
    monkeypatch.setattr(recommend, "SMALL_QUERY_ROWS", 0)
    np.testing.assert_array_equal(small, _query_codes(accounts, scored))
    np.testing.assert_array_equal(small, _general(accounts, scored))
    assert (small == -1).any()


def test_missing_keys_take_the_general_path() -> None:
    accounts, scored = _frames(50)
    scored.loc[scored.index[0], "account_id"] = pd.NA
    accounts = scored.drop_duplicates()
    np.testing.assert_array_equal(_query_codes(accounts, scored), _general(accounts, scored))
