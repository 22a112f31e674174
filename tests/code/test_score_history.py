"""The score history a night carries forward: tonight's accounts, newest nights, capped."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from kam_ml.nightly.history import HISTORY_NIGHTS, ScoreHistory, carry_history
from kam_ml.nightly.sparklines import sparklines


def _nights(days: list[str], ids_per_night: list[list[str]]) -> pd.DataFrame:
    history = None
    for k, (day, ids) in enumerate(zip(days, ids_per_night, strict=True)):
        p = np.full(len(ids), 0.1 * (k % 10))
        history = carry_history(
            history, day, np.array(ids, dtype=object), p, np.full(len(ids), "low")
        )
    assert history is not None
    return history


def test_history_keeps_tonights_accounts_and_the_newest_nights():
    days = [str(d.date()) for d in pd.date_range("2026-10-01", periods=15)]
    ids = [["A", "B"]] * 14 + [["B", "C"]]
    series = ScoreHistory.from_frame(_nights(days, ids))
    assert series.nights == days[-HISTORY_NIGHTS:]
    assert series.account_ids.tolist() == ["B", "C"]
    assert np.isnan(series.probability[1, :-1]).all()  # C is new tonight
    assert series.band[1, -1] == "low" and series.band[1, 0] is None
    assert not np.isnan(series.probability[0]).any()
    assert series.probability[0, -1] == np.float32(0.1 * (14 % 10))


def test_a_rerun_of_a_night_replaces_its_column():
    first = carry_history(None, "2026-10-01", np.array(["A"], dtype=object), [0.2], ["low"])
    again = carry_history(first, "2026-10-01", np.array(["A"], dtype=object), [0.6], ["high"])
    assert list(again.columns) == ["account_id", "probability_2026-10-01", "band_2026-10-01"]
    assert again["probability_2026-10-01"].iloc[0] == np.float32(0.6)


def test_a_sparkline_per_row_ends_at_tonights_dot():
    probability = np.array([[np.nan, 0.2, 0.6], [np.nan, np.nan, 0.0]])
    first, second = sparklines(probability)
    assert first.startswith('<svg class="spark"') and first.endswith("</svg>")
    assert re.search(r'points="\s+62,18\s+68,10\s+"', first)  # y: 0% at 22, 100% at 2
    assert '<circle cx="68" cy="10" r="2"/>' in first
    assert '<circle cx="68" cy="22" r="2"/>' in second
    [gap] = sparklines(np.array([[0.1, 0.5, np.nan]]))  # not scored tonight: no dot
    assert "<circle" not in gap and re.search(r'points="\s+56,20\s+62,12\s+"', gap)
    assert sparklines(np.empty((0, 3))) == []
