"""Offers on a many-category book: trained and scored on candidates, still ahead of popularity.

A grocery-like book (``bench/catalogue_book.py``) of 150 categories, small enough to train
in seconds: the ranker sees at most 20 candidates per account, yet the metrics count
every purchase, so the generator's misses cost it as they would cost a manager.
"""

from __future__ import annotations

import pandas as pd
import pytest

from bench.catalogue_book import grocery_book
from kam_ml.data.tables import Tables
from kam_ml.features import build_features
from kam_ml.offers.job import offers_spec
from kam_ml.offers.pairs import build_offer_pairs
from kam_ml.offers.ranker import OfferRanker
from kam_ml.offers.recommend import recommend_offers
from kam_ml.offers.rules import OfferRules
from kam_ml.offers.training import KEYS, OfferTrainingResult, train_offers
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.gate import model_bundle

AS_OF = pd.Timestamp("2026-10-31")
N = 20


@pytest.fixture(scope="module")
def shop() -> Tables:
    return grocery_book(n_accounts=400, n_categories=150, n_lines=60_000, seed=11, years=2.0)


@pytest.fixture(scope="module")
def result(shop) -> OfferTrainingResult:
    model = OfferRanker(n_estimators=80)
    return train_offers(shop, AS_OF, ProblemDefinition(), model=model, candidates=N)


def test_pairs_grow_with_n_not_with_the_catalogue(result):
    per_query = result.validation_pairs.groupby(["cutoff", "account_id"]).size()
    assert per_query.max() <= N
    assert len(result.catalogue) == 150


def test_the_metrics_count_purchases_outside_the_candidates(result):
    ranker = result.metrics["ranker"]
    assert 0.3 < ranker["candidate_recall"] < 1.0
    asked = pd.MultiIndex.from_frame(result.validation_pairs[KEYS])
    missed = ~pd.MultiIndex.from_frame(result.truth[KEYS]).isin(asked)
    assert missed.any()  # the truth holds purchases no scorer could rank
    assert ranker["recall_at_3"] <= ranker["candidate_recall"]


@pytest.mark.parametrize("baseline", ["global_popularity", "segment_popularity"])
def test_offers_beat_popularity(result, baseline):
    assert result.metrics["ranker"]["ndcg_at_3"] > result.metrics[baseline]["ndcg_at_3"] + 0.02


def test_scoring_offers_the_candidates_of_the_generator_it_was_trained_with(shop, result):
    bundle = model_bundle(result, offers_spec(result.k), version="o1")
    assert bundle.extra["candidates"] == N
    definition = ProblemDefinition()
    features = build_features(shop, AS_OF, definition)
    # the candidates are the subject: keep the categories bought in the last 30 days too
    keep_all = OfferRules(exclude_bought_within_days=None)
    offers = recommend_offers(bundle, shop, features, rules=keep_all, k=3)
    assert len(offers) == len(features)
    assert offers["offers"].map(len).eq(3).all()
    pairs = build_offer_pairs(shop, AS_OF, definition, account_features=features, candidates=N)
    allowed = pairs.groupby("account_id")["category"].agg(set)
    for account, chosen in zip(features["account_id"], offers["offers"], strict=True):
        assert set(chosen) <= allowed[account]
