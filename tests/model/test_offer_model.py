"""The offer ranker recovers the planted cross-selling and beats every baseline on demo data,
and beats them on the buy-till-you-die book too, whose purchases are habit, not cross-sell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.btyd_book import generate_btyd_book
from kam_ml.offers.pairs import build_offer_pairs
from kam_ml.offers.training import train_offers
from kam_ml.problem.definition import ProblemDefinition

BASELINES = ("global_popularity", "segment_popularity", "own_most_bought", "item_to_item")
BTYD_SEEDS = (1, 2, 3, 4, 5, 6)


@pytest.mark.parametrize("baseline", BASELINES)
def test_ranker_beats_every_baseline_by_ndcg_at_3(offer_result, baseline):
    ranker, other = offer_result.metrics["ranker"], offer_result.metrics[baseline]
    assert ranker["ndcg_at_3"] > other["ndcg_at_3"] + 0.03, (ranker, other)
    assert ranker["recall_at_3"] > other["recall_at_3"]
    assert ranker["hit_rate_at_3"] > other["hit_rate_at_3"]


@pytest.mark.parametrize("seed", BTYD_SEEDS)
def test_ranker_beats_every_baseline_on_small_btyd_books(demo_as_of, seed):
    """Purchases there are each account's stationary category habits (a Dirichlet draw, a
    Poisson rate): nothing is planted for a ranker to find, so its own most-bought
    categories are nearly the best ranking, and a 1,000-account book leaves little to
    learn from. With 200 fixed boosting rounds the ranker fell behind them on seeds 1 and 6
    here (README "Next-best offers"); early-stopped, it is ahead on every one.
    """
    book = generate_btyd_book(n_accounts=1000, seed=seed, end_date=demo_as_of)
    tables = validate_tables(book.raw_tables(), on_bad_rows="refuse").tables
    metrics = train_offers(tables, demo_as_of, ProblemDefinition()).metrics
    ndcg = {name: metrics[name]["ndcg_at_3"] for name in ("ranker", *BASELINES)}
    assert all(ndcg["ranker"] > ndcg[name] for name in BASELINES), ndcg


def test_every_metric_is_measured_on_the_same_accounts(offer_result):
    evaluated = {m["users_evaluated"] for m in offer_result.metrics.values()}
    assert len(evaluated) == 1 and evaluated.pop() > 1000


def test_ranker_finds_the_planted_effects(offer_result):
    """Complements follow the last order; segments have tastes (``kam_ml.demo.offers``)."""
    top = list(offer_result.model.feature_importances_.index[:5])
    assert "sequence_affinity" in top[:2], top
    assert {"cat_popularity_segment", "cat_popularity_segment_region"} & set(top), top


def test_complement_of_the_last_order_ranks_high(offer_result):
    """After an order of watches only, fine jewelry (its planted complement) ranks top 3."""
    pairs = offer_result.validation_pairs
    scores = offer_result.validation.assign(
        sequence_category=pairs["sequence_category"].to_numpy(),
        account_bought=pairs["cat_lines_lifetime"].to_numpy() > 0,
    )
    scores["rank"] = scores.groupby(["cutoff", "account_id"])["score_ranker"].rank(
        ascending=False, method="first"
    )
    after_watches = scores[(scores["sequence_category"] == "watches")]
    jewelry = after_watches[after_watches["category"] == "fine_jewelry"]
    assert len(jewelry) > 30
    assert (jewelry["rank"] <= 3).mean() > 0.8


def test_purchase_probabilities_are_calibrated(offer_result):
    v = offer_result.validation
    deciles = pd.qcut(v["score_ranker"], 10, labels=False, duplicates="drop")
    by_decile = v.groupby(deciles)[["score_ranker", "bought"]].mean()
    assert (by_decile["score_ranker"] - by_decile["bought"]).abs().mean() < 0.05, by_decile


def test_shuffled_order_rows_give_identical_rankings(offer_result, demo_tables, seed):
    cutoff = offer_result.split.validation_cutoffs[-1]
    order = np.random.default_rng(seed).permutation(len(demo_tables.orders))
    shuffled = Tables(
        demo_tables.accounts,
        demo_tables.orders.iloc[order].reset_index(drop=True),
        demo_tables.interactions,
        demo_tables.categories,
    )
    features = offer_result.feature_names
    original = build_offer_pairs(demo_tables, cutoff, offer_result.definition)
    moved = build_offer_pairs(shuffled, cutoff, offer_result.definition)
    pd.testing.assert_frame_equal(original, moved)
    np.testing.assert_array_equal(
        offer_result.model.predict(original[features]), offer_result.model.predict(moved[features])
    )
