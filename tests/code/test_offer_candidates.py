"""The offer candidate generator: N bounds the pairs, own history comes first, and a
catalogue no larger than N gets exactly the all-pairs rows it always had."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.catalogue_book import grocery_book
from kam_ml.data.tables import Tables
from kam_ml.offers.candidates import DEFAULT_CANDIDATES
from kam_ml.offers.pairs import build_offer_pairs
from kam_ml.offers.population import population_stats
from kam_ml.offers.training import KEYS, candidate_recall
from kam_ml.problem.definition import ProblemDefinition
from tests.offer_builders import DEFINITION, PAST, T, book

CUTOFF = pd.Timestamp("2026-06-30")


@pytest.fixture(scope="module")
def shop() -> Tables:
    """A small book of 60 categories: enough that N = 10 leaves most of them out."""
    return grocery_book(n_accounts=120, n_categories=60, n_lines=20_000, seed=5, years=1.5)


@pytest.fixture(scope="module")
def all_pairs(shop: Tables) -> pd.DataFrame:
    return build_offer_pairs(shop, CUTOFF, ProblemDefinition(), candidates=None)


@pytest.mark.parametrize("n", [1, 5, 10, 25])
def test_n_bounds_the_pairs_per_account(shop, n):
    pairs = build_offer_pairs(shop, CUTOFF, ProblemDefinition(), candidates=n)
    per_account = pairs.groupby("account_id").size()
    assert per_account.max() == n  # 60 categories: every account has n candidates
    assert pairs[KEYS].duplicated().sum() == 0


def test_own_history_categories_are_always_candidates(shop):
    definition = ProblemDefinition()
    n = 10
    pairs = build_offer_pairs(shop, CUTOFF, definition, candidates=n)
    history = definition.history_at(shop, CUTOFF).orders
    own = history.groupby("account_id", observed=True)["category"].agg(lambda c: set(c.astype(str)))
    chosen = pairs.groupby("account_id")["category"].agg(set)
    for account, categories in chosen.items():
        bought = own[account]
        if len(bought) <= n:
            assert bought <= categories, account
        else:  # more own categories than places: the places all go to own categories
            assert categories <= bought, account
    assert any(len(own[a]) <= n for a in chosen.index)
    assert any(len(own[a]) > n for a in chosen.index)


def test_candidate_rows_are_the_all_pairs_rows_they_select(shop, all_pairs):
    """The generator chooses rows; it changes no feature of the rows it keeps."""
    pairs = build_offer_pairs(shop, CUTOFF, ProblemDefinition(), candidates=10)
    full = all_pairs.set_index(KEYS).loc[pd.MultiIndex.from_frame(pairs[KEYS])]
    pd.testing.assert_frame_equal(pairs.set_index(KEYS), full)


@pytest.mark.parametrize("n", [60, 61, 1000, None])
def test_n_at_least_the_catalogue_is_every_category(shop, all_pairs, n):
    pairs = build_offer_pairs(shop, CUTOFF, ProblemDefinition(), candidates=n)
    pd.testing.assert_frame_equal(pairs, all_pairs)
    assert (pairs.groupby("account_id").size() == 60).all()


def test_the_default_keeps_a_small_catalogue_exactly_as_before():
    """The hand-built book's three categories (the demo's ten) are all candidates."""
    assert DEFAULT_CANDIDATES >= 10
    default = build_offer_pairs(book(PAST), T, DEFINITION)
    pd.testing.assert_frame_equal(default, build_offer_pairs(book(PAST), T, DEFINITION, None))
    assert len(default) == 3 * default["account_id"].nunique()


def test_own_history_beyond_n_keeps_the_most_recent():
    """A1 bought bags (Mar 2026, Dec 2025), shoes (Mar 2026) and watches (2024): with two
    places, watches (the oldest) is left out; A2 and A3 keep their own category."""
    pairs = build_offer_pairs(book(PAST), T, DEFINITION, candidates=2)
    chosen = pairs.groupby("account_id")["category"].agg(set).to_dict()
    assert chosen["A1"] == {"bags", "shoes"}
    assert "shoes" in chosen["A2"] and "bags" in chosen["A3"]
    single = build_offer_pairs(book(PAST), T, DEFINITION, candidates=1)
    assert single.set_index("account_id")["category"].to_dict() == {
        "A1": "bags",
        "A2": "shoes",
        "A3": "bags",
    }


def test_neighbours_and_popularity_fill_the_places_left(shop):
    """An account with few own categories gets the rest from the population sources, so
    they are not just the first categories of the catalogue."""
    definition = ProblemDefinition()
    stats = population_stats(shop, CUTOFF, definition)
    pairs = build_offer_pairs(shop, CUTOFF, definition, population=stats, candidates=25)
    first_25 = set(stats.categories[:25])
    chosen = pairs.groupby("account_id")["category"].agg(set)
    assert any(categories != first_25 for categories in chosen)
    popular = set(np.asarray(stats.categories)[np.argsort(-stats.popularity_all)[:5]])
    share_with_popular = np.mean([len(popular & c) >= 3 for c in chosen])
    assert share_with_popular > 0.8


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_a_bad_candidate_count_is_refused(bad):
    with pytest.raises(ValueError, match="'candidates' of the offer pairs must be a positive int"):
        build_offer_pairs(book(PAST), T, DEFINITION, candidates=bad)


def test_candidate_recall_is_the_share_of_purchases_that_were_candidates():
    cutoff = pd.Timestamp("2026-01-31")
    purchases = pd.DataFrame(
        {"cutoff": cutoff, "account_id": ["A1", "A1", "A2", "A3"], "category": list("abca")}
    )
    pairs = pd.DataFrame(
        {"cutoff": cutoff, "account_id": ["A1", "A1", "A2"], "category": ["a", "c", "c"]}
    )
    assert candidate_recall(purchases, pairs) == pytest.approx(0.5)
    assert candidate_recall(purchases, purchases) == 1.0
    assert np.isnan(candidate_recall(purchases.iloc[:0], pairs))
