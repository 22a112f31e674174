"""The portfolio's value tiers are labelled with their revenue ranges."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.nightly.portfolio import _value_tiers as value_tiers
from kam_ml.nightly.portfolio import value_tier_labels


def test_labels_name_each_tier_and_its_range_in_three_figures() -> None:
    assert value_tier_labels(12_034.2, 48_213.7) == [
        "Bottom 50% (< 12,000)",
        "Next 30% (12,000 – 48,200)",
        "Top 20% (≥ 48,200)",
    ]
    assert value_tier_labels(5.234, 812.5)[1] == "Next 30% (5.23 – 812)"
    assert value_tier_labels(0.0, 0.0)[1] == "Next 30% (0)"  # a book of mostly zero revenue


def test_the_cut_points_are_the_50th_and_80th_percentiles_of_revenue() -> None:
    revenue = np.arange(1, 11, dtype=float) * 1000  # 1,000 ... 10,000
    tiers, labels = value_tiers(revenue)
    # np.quantile: 50th = 5,500, 80th = 8,200
    assert labels == ["Bottom 50% (< 5,500)", "Next 30% (5,500 – 8,200)", "Top 20% (≥ 8,200)"]
    counts = pd.Series(tiers).value_counts().to_dict()
    assert counts == {"low value": 5, "mid value": 3, "top value": 2}
