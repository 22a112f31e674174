"""Business rules over offer pairs (exclusion, cold start, expected value) and their reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.errors import DefinitionError
from kam_ml.offers.pairs import build_offer_pairs
from kam_ml.offers.reasons import offer_reasons
from kam_ml.offers.rules import OfferRules, apply_offer_rules, top_offers
from tests.offer_builders import DEFINITION, PAST, T, book


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    return build_offer_pairs(book(PAST), T, DEFINITION)


def _probability(pairs: pd.DataFrame) -> np.ndarray:
    """A made-up ranker: watches > bags > shoes for everyone."""
    return pairs["category"].map({"watches": 0.5, "bags": 0.3, "shoes": 0.1}).to_numpy()


def test_recently_bought_categories_are_excluded(pairs):
    rules = OfferRules(exclude_bought_within_days=32, cold_start_max_orders=0)
    kept = apply_offer_rules(pairs, _probability(pairs), rules)
    kept_pairs = set(kept[["account_id", "category"]].itertuples(index=False))
    # A1 bought bags and shoes 31 days ago, A2 shoes 7 days ago; A3 bags 304 days ago
    assert not kept_pairs & {("A1", "bags"), ("A1", "shoes"), ("A2", "shoes")}
    assert {("A1", "watches"), ("A3", "bags"), ("A2", "bags")} <= kept_pairs
    # bought exactly 31 days ago is not "within the last 31 days"
    boundary = apply_offer_rules(
        pairs, _probability(pairs), OfferRules(exclude_bought_within_days=31)
    )
    assert ("A1", "bags") in set(boundary[["account_id", "category"]].itertuples(index=False))


def test_by_default_categories_bought_in_the_last_30_days_are_excluded(pairs):
    assert OfferRules().exclude_bought_within_days == 30
    kept = apply_offer_rules(pairs, _probability(pairs), OfferRules())
    assert not (kept["cat_days_since_last"] < 30).any()
    # A2 bought shoes 7 days ago; A1 bags and shoes 31 days ago, outside the 30 days
    kept_pairs = set(kept[["account_id", "category"]].itertuples(index=False))
    assert ("A2", "shoes") not in kept_pairs
    assert {("A1", "bags"), ("A1", "shoes")} <= kept_pairs
    everything = apply_offer_rules(
        pairs, _probability(pairs), OfferRules(exclude_bought_within_days=None)
    )
    assert len(everything) == len(pairs)


def test_cold_start_accounts_get_their_segment_and_regions_base_rates(pairs):
    rules = OfferRules(cold_start_max_orders=1)
    scored = apply_offer_rules(pairs, _probability(pairs), rules)
    cold = scored[scored["cold_start"]]
    assert set(cold["account_id"]) == {"A2", "A3"}  # one order each; A1 has three
    np.testing.assert_allclose(cold["probability"], cold["cat_popularity_segment_region"])
    offers = top_offers(scored, 2)
    assert offers.groupby("account_id").size().to_dict() == {"A1": 2, "A2": 2, "A3": 2}
    warm = scored[~scored["cold_start"]]
    np.testing.assert_allclose(warm["probability"], _probability(warm))


def test_expected_value_multiplies_probability_spend_and_margin(pairs):
    scored = apply_offer_rules(
        pairs, _probability(pairs), OfferRules(rank_by="expected_value", cold_start_max_orders=0)
    )
    expected = scored["probability"] * scored["typical_spend"] * scored["margin_rate"]
    np.testing.assert_allclose(scored["score"], expected)
    a1_bags = scored[(scored["account_id"] == "A1") & (scored["category"] == "bags")].iloc[0]
    assert a1_bags["typical_spend"] == pytest.approx(150.0)  # its own average bags line
    assert a1_bags["margin_rate"] == pytest.approx(0.7)
    relevance = apply_offer_rules(pairs, _probability(pairs), OfferRules(cold_start_max_orders=0))
    np.testing.assert_allclose(relevance["score"], relevance["probability"])


def test_rules_say_what_is_wrong():
    with pytest.raises(DefinitionError, match="'rank_by' of OfferRules must be"):
        OfferRules(rank_by="margin")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="'exclude_bought_within_days' of OfferRules"):
        OfferRules(exclude_bought_within_days=0)
    with pytest.raises(DefinitionError, match="'cold_start_max_orders' of OfferRules"):
        OfferRules(cold_start_max_orders=-1)


def _reason_rows(**columns) -> pd.DataFrame:
    base = {
        "cutoff": pd.Timestamp("2026-10-31"),
        "category": "handbags",
        "cat_lines_365d": 0.0,
        "cat_lines_lifetime": 0.0,
        "cat_days_since_last": np.nan,
        "sequence_affinity": 0.0,
        "sequence_category": None,
        "affinity_category": None,
        "cooccurrence_max_lift": 1.0,
        "cat_popularity_segment_region": 0.12,
        "cat_momentum_region": 0.0,
        "segment": "silver",
        "region": "APAC",
        "cold_start": False,
    }
    return pd.DataFrame([base | columns])


@pytest.mark.parametrize(
    ("columns", "phrase"),
    [
        (
            {
                "category": "fine_jewelry",
                "cat_lines_365d": 4.0,
                "cat_lines_lifetime": 6.0,
                "cat_days_since_last": 225.0,
            },
            "bought Fine jewelry 4x last year, not since March",
        ),
        (
            {"cat_lines_365d": 2.0, "cat_lines_lifetime": 2.0, "cat_days_since_last": 10.0},
            "bought Handbags 2x last year, most recently in October",
        ),
        (
            {
                "category": "leather_goods",
                "affinity_category": "handbags",
                "cooccurrence_max_lift": 1.4,
            },
            "often bought with Handbags, which it buys",
        ),
        (
            {
                "category": "watches",
                "sequence_category": "fine_jewelry",
                "sequence_affinity": float(np.log(1.6)),
            },
            "often bought after Fine jewelry, its last purchase",
        ),
        (
            {"cat_lines_lifetime": 1.0, "cat_days_since_last": 500.0},
            "bought Handbags before, not since June 2025",
        ),
        ({"cat_momentum_region": 0.3}, "Handbags is gaining in APAC"),
        ({}, "bought lately by 12% of silver accounts in APAC"),
    ],
)
def test_every_offer_is_explained_in_one_phrase(columns, phrase):
    assert offer_reasons(_reason_rows(**columns)).tolist() == [phrase]


def test_reasons_name_categories_by_their_catalogue_label():
    rows = _reason_rows(
        category="watches",
        sequence_category="fine_jewelry",
        sequence_affinity=float(np.log(1.6)),
    )
    labels = {"fine_jewelry": "Fine Jewellery", "watches": "Timepieces"}
    assert offer_reasons(rows, labels).tolist() == [
        "often bought after Fine Jewellery, its last purchase"
    ]
    habit = _reason_rows(category="ready_to_wear", cat_lines_365d=3.0, cat_days_since_last=100.0)
    # a code the labels do not name is made readable
    assert offer_reasons(habit, labels).tolist() == [
        "bought Ready to wear 3x last year, not since July"
    ]


def test_cold_start_offers_are_not_explained_by_affinities():
    rows = _reason_rows(affinity_category="watches", cooccurrence_max_lift=2.0, cold_start=True)
    assert offer_reasons(rows).tolist() == ["bought lately by 12% of silver accounts in APAC"]
