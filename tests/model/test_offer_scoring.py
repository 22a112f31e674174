"""The one scoring path with all three models: offers, value and revenue at risk per account,
and the API's case: one account scored alone with the book's population statistics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.job import churn_spec
from kam_ml.churn.model import ChurnModel
from kam_ml.churn.training import train_churn
from kam_ml.data.validation import validate_tables
from kam_ml.errors import DefinitionError
from kam_ml.features import build_features
from kam_ml.offers.job import offers_spec
from kam_ml.offers.population import PopulationStats, population_stats
from kam_ml.offers.rules import OfferRules
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.champions import ScoringModels
from kam_ml.registry.gate import model_bundle
from kam_ml.scoring.explained import band_means
from kam_ml.scoring.score import score_accounts
from kam_ml.value.job import value_spec

OFFER_COLUMNS = ["offers", "offer_labels", "offer_scores", "offer_reasons"]


@pytest.fixture(scope="module")
def models(demo_tables, demo_as_of, offer_result, value_result) -> ScoringModels:
    churn = train_churn(
        demo_tables, demo_as_of, ProblemDefinition(), model=ChurnModel(n_estimators=60, n_jobs=1)
    )
    return ScoringModels(
        churn=model_bundle(churn, churn_spec(), version="c1"),
        offers=model_bundle(offer_result, offers_spec(offer_result.k), version="o1"),
        value=model_bundle(value_result, value_spec(), version="v1"),
    )


@pytest.fixture(scope="module")
def population(demo_tables, demo_as_of, models) -> PopulationStats:
    return population_stats(demo_tables, demo_as_of, models.offers.definition)


@pytest.fixture(scope="module")
def scores(demo_tables, demo_as_of, models) -> pd.DataFrame:
    return score_accounts(demo_tables, demo_as_of, models)


def test_every_active_account_gets_offers_value_and_revenue_at_risk(scores):
    assert len(scores) > 1500 and scores["account_id"].is_unique
    assert scores["offers"].map(len).eq(3).all()
    assert scores["offers"].map(lambda o: len(set(o)) == 3).all()
    assert scores["offer_scores"].map(lambda s: list(s) == sorted(s, reverse=True)).all()
    assert scores["offer_reasons"].map(lambda r: len(r) == 3 and all(r)).all()
    assert np.isfinite(scores["expected_value_12m"]).all()
    assert (scores["expected_value_12m"] >= 0).all()
    np.testing.assert_allclose(
        scores["revenue_at_risk"], scores["churn_probability"] * scores["expected_value_12m"]
    )
    assert scores[
        ["churn_model_version", "offers_model_version", "value_model_version"]
    ].drop_duplicates().values.tolist() == [["c1", "o1", "v1"]]


def _one_account(demo, account_id: str):
    """The tables the API builds from one account's posted history (through validation)."""
    raw = {
        "accounts": demo.accounts[demo.accounts["account_id"] == account_id],
        "orders": demo.orders[demo.orders["account_id"] == account_id],
        "interactions": demo.interactions[demo.interactions["account_id"] == account_id],
        "categories": demo.categories,
    }
    return validate_tables(raw, on_bad_rows="refuse").tables


def _assert_same_rows(left: pd.DataFrame, right: pd.DataFrame) -> None:
    lists = OFFER_COLUMNS + ["reasons", "reason_details"]
    pd.testing.assert_frame_equal(
        left.drop(columns=lists).reset_index(drop=True),
        right.drop(columns=lists).reset_index(drop=True),
        check_dtype=False,
        check_categorical=False,
    )
    for column in lists:
        assert [list(v) for v in left[column]] == [list(v) for v in right[column]], column


def test_one_account_scored_alone_equals_its_row_in_the_book(
    demo, demo_tables, demo_as_of, models, scores, population, tmp_path
):
    sparse = scores["account_id"].isin(
        demo.orders.groupby("account_id")["order_id"].nunique().loc[lambda n: n == 1].index
    )
    chosen = [
        scores.sort_values("churn_probability")["account_id"].iloc[-1],  # highest risk
        scores["account_id"].iloc[len(scores) // 2],
        scores.loc[sparse, "account_id"].iloc[0],  # a one-order account
    ]
    stored = PopulationStats.from_parquet(population.to_parquet(tmp_path / "population.parquet"))
    # the book's peers and order-history start, as the API passes from the night
    features = build_features(demo_tables, demo_as_of, models.churn.definition)
    peers = band_means(features, scores["risk_band"].to_numpy())
    start = demo_tables.order_history_start()
    for account_id in chosen:
        tables = replace(_one_account(demo, account_id), history_start=start)
        alone = score_accounts(tables, demo_as_of, models, population=stored, peers=peers)
        _assert_same_rows(alone, scores[scores["account_id"] == account_id])


def test_by_default_no_account_is_offered_a_category_it_bought_in_the_last_30_days(
    demo_tables, demo_as_of, models, population, scores
):
    orders = demo_tables.orders
    age = ProblemDefinition().age_days(orders["order_date"], demo_as_of)
    recent = orders.loc[(age > 0) & (age < 30), ["account_id", "category"]].astype(str)
    bought = set(recent.itertuples(index=False, name=None))
    assert len(bought) > 100  # the property is not vacuous
    assert not _offered(scores) & bought
    # without the rule the ranker offers many of them: the rule is what keeps them out
    keep_all = OfferRules(exclude_bought_within_days=None)
    unruled = score_accounts(
        demo_tables, demo_as_of, models, population=population, offer_rules=keep_all
    )
    assert len(_offered(unruled) & bought) > 0.05 * len(unruled)


def _offered(scores: pd.DataFrame) -> set[tuple[str, str]]:
    return {
        (str(a), str(c))
        for a, offers in zip(scores["account_id"], scores["offers"], strict=True)
        for c in offers
    }


def test_offer_labels_name_the_offered_codes(demo_tables, scores):
    labels = demo_tables.categories.set_index("category")["label"].to_dict()
    for offers, names in zip(scores["offers"], scores["offer_labels"], strict=True):
        assert list(names) == [labels[c] for c in offers]
    assert any("Ready to wear" in names for names in scores["offer_labels"])


def test_scoring_without_offers_or_value_leaves_those_columns_empty(
    demo_tables, demo_as_of, models
):
    churn_only = score_accounts(demo_tables, demo_as_of, ScoringModels(churn=models.churn))
    assert churn_only["offers"].isna().all() and churn_only["offer_reasons"].isna().all()
    assert churn_only["expected_value_12m"].isna().all()
    assert churn_only["revenue_at_risk"].isna().all()
    assert churn_only["offers_model_version"].isna().all()


def test_k_rules_and_cold_start_reach_the_output(demo, demo_tables, demo_as_of, models, population):
    rules = OfferRules(
        rank_by="expected_value", exclude_bought_within_days=30, cold_start_max_orders=1
    )
    scored = score_accounts(
        demo_tables, demo_as_of, models, k_offers=5, population=population, offer_rules=rules
    )
    assert scored["offers"].map(len).le(5).all() and scored["offers"].map(len).eq(5).mean() > 0.9
    one_order = demo.orders.groupby("account_id")["order_id"].nunique().loc[lambda n: n == 1].index
    cold = scored[scored["account_id"].isin(one_order)]
    assert len(cold) > 5 and cold["offers"].map(len).eq(5).all()


def test_models_trained_on_different_history_rules_are_refused(demo_tables, demo_as_of, models):
    other = replace(models.offers, definition=replace(models.offers.definition, return_lag_days=7))
    with pytest.raises(DefinitionError, match="return_lag_days=7"):
        score_accounts(demo_tables, demo_as_of, replace(models, offers=other))


def test_population_statistics_of_another_day_are_refused(demo_tables, demo_as_of, models):
    stale = population_stats(demo_tables, demo_as_of - pd.Timedelta(days=1), ProblemDefinition())
    with pytest.raises(ValueError, match="population statistics are as of"):
        score_accounts(demo_tables, demo_as_of, models, population=stale)
