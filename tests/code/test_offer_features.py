"""Offer pair features and population statistics on a hand-built three-account book."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.offers.pairs import OFFER_FEATURE_COLUMNS, PAIR_FEATURES, build_offer_pairs
from kam_ml.offers.population import PopulationStats, population_stats
from kam_ml.problem.labels import offer_labels, revenue_labels
from tests.offer_builders import DEFINITION, FUTURE, PAST, T, book


def pair(pairs: pd.DataFrame, account: str, category: str) -> pd.Series:
    rows = pairs[(pairs["account_id"] == account) & (pairs["category"] == category)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_the_accounts_own_history_in_each_category():
    pairs = build_offer_pairs(book(PAST), T, DEFINITION)
    assert len(pairs) == 3 * 3  # every active account x every catalogue category
    bags = pair(pairs, "A1", "bags")
    assert bags["cat_lines_365d"] == 2 and bags["cat_lines_90d"] == 1
    assert bags["cat_lines_lifetime"] == 2
    assert bags["cat_days_since_last"] == 31  # 2026-03-01 to the end of 2026-03-31
    assert bags["cat_spend_365d"] == 300
    assert bags["cat_share_365d"] == pytest.approx(300 / 350)  # share of wallet
    assert bags["account_orders_lifetime"] == 3
    watches = pair(pairs, "A1", "watches")
    assert watches["cat_lines_365d"] == 0 and watches["cat_lines_lifetime"] == 1
    assert watches["cat_days_since_last"] == (T + pd.Timedelta(days=1) - PAST[3]["order_date"]).days
    assert np.isnan(pair(pairs, "A2", "bags")["cat_days_since_last"])
    # what the account last ordered (bags and shoes on 2026-03-01) drives sequence affinity
    assert pair(pairs, "A1", "watches")["sequence_category"] in {"bags", "shoes"}
    assert pair(pairs, "A2", "bags")["sequence_category"] == "shoes"


def test_population_popularity_counts_active_accounts_that_bought_in_the_horizon():
    stats = population_stats(book(PAST), T, DEFINITION)
    assert stats.categories == ("bags", "shoes", "watches")
    assert stats.active_accounts == 3
    np.testing.assert_allclose(stats.popularity_all, [1 / 3, 2 / 3, 0.0])
    np.testing.assert_allclose(stats.margin_rate, [0.7, 0.6, 0.5])
    np.testing.assert_allclose(np.diag(stats.cooccurrence_lift), 1.0)
    # small groups are shrunk towards the overall rate, never past it
    gold = stats.popularity_segment[stats.segments.index("gold")]
    assert 1 / 3 <= gold[1] <= 1.0 and gold[1] > stats.popularity_all[1]


def test_no_fact_after_the_cutoff_changes_a_pair_feature_or_the_population():
    before = build_offer_pairs(book(PAST), T, DEFINITION)
    after = build_offer_pairs(book(PAST + FUTURE), T, DEFINITION)
    pd.testing.assert_frame_equal(before, after)
    pd.testing.assert_frame_equal(
        population_stats(book(PAST), T, DEFINITION).to_frame(),
        population_stats(book(PAST + FUTURE), T, DEFINITION).to_frame(),
    )


def test_shuffled_order_rows_give_identical_pairs(seed):
    rows = PAST + FUTURE
    shuffled = [rows[i] for i in np.random.default_rng(seed).permutation(len(rows))]
    pd.testing.assert_frame_equal(
        build_offer_pairs(book(rows), T, DEFINITION),
        build_offer_pairs(book(shuffled), T, DEFINITION),
    )


def test_labels_read_only_the_window_after_the_cutoff():
    tables = book(PAST + FUTURE)
    pairs = build_offer_pairs(tables, T, DEFINITION)
    bought = pairs.assign(y=offer_labels(tables, pairs, DEFINITION))
    assert set(
        bought.loc[bought["y"] == 1, ["account_id", "category"]].itertuples(index=False)
    ) == {
        ("A1", "shoes"),
        ("A3", "watches"),
    }  # O8 (2027) is outside the 90-day horizon; O7 at 00:00 on T + 1 is inside
    spine = pairs[["account_id", "cutoff"]].drop_duplicates()
    revenue = revenue_labels(tables, spine, DEFINITION, 365)
    assert dict(zip(spine["account_id"], revenue, strict=True)) == {
        "A1": 60.0,
        "A2": 0.0,
        "A3": 910.0,
    }


def test_population_statistics_survive_parquet(tmp_path):
    stats = population_stats(book(PAST), T, DEFINITION)
    back = PopulationStats.from_parquet(stats.to_parquet(tmp_path / "population.parquet"))
    pd.testing.assert_frame_equal(stats.to_frame(), back.to_frame(), check_exact=True)
    assert (back.as_of, back.categories, back.segments) == (
        stats.as_of,
        stats.categories,
        stats.segments,
    )


def test_pairs_refuse_population_statistics_of_another_date():
    stats = population_stats(book(PAST), T - pd.Timedelta(days=1), DEFINITION)
    with pytest.raises(ValueError, match="as of 2026-03-30 but the offer pairs are built at"):
        build_offer_pairs(book(PAST), T, DEFINITION, population=stats)


def test_every_model_feature_is_numeric_and_pair_features_known_where_bought():
    pairs = build_offer_pairs(book(PAST), T, DEFINITION)
    X = pairs[list(OFFER_FEATURE_COLUMNS)]
    assert all(np.issubdtype(dtype, np.number) for dtype in X.dtypes)
    bought = pairs["cat_lines_lifetime"] > 0
    assert pairs.loc[bought, list(PAIR_FEATURES)].notna().all().all()
