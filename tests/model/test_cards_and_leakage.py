"""Model cards, grades and the leakage alarms, on a small trained demo model."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.baselines import best_no_order_rule, no_order_rule
from kam_ml.churn.card import churn_grade, churn_model_card
from kam_ml.churn.leakage import check_leakage
from kam_ml.churn.model import ChurnModel
from kam_ml.churn.training import ChurnTrainingResult, train_churn
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import generate_demo_data
from kam_ml.evaluation.grades import Grade, GradeThresholds, grade
from kam_ml.offers.report import offers_grade
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.value.report import value_grade

END = pd.Timestamp("2026-10-31")


@pytest.fixture(scope="module")
def small_tables() -> Tables:
    demo = generate_demo_data(n_accounts=700, seed=5, end_date=END)
    raw = {
        "accounts": demo.accounts,
        "orders": demo.orders,
        "interactions": demo.interactions,
        "categories": demo.categories,
    }
    return validate_tables(raw, on_bad_rows="refuse").tables


@pytest.fixture(scope="module")
def small_result(small_tables: Tables) -> ChurnTrainingResult:
    definition = ProblemDefinition(training_cutoffs=8)
    return train_churn(small_tables, END, definition, model=ChurnModel(n_estimators=60))


def test_grade_thresholds() -> None:
    assert grade(0.85, 0.79) == "A"
    assert grade(0.82, 0.79) == "B"
    assert grade(0.80, 0.79) == "C"
    assert grade(0.70, 0.79) == "C"
    assert grade(0.99, 0.5, blocked=True) == "blocked"
    assert grade(100.0, 120.0, higher_is_better=False, thresholds=GradeThresholds(10, 5)) == "A"
    assert grade(float("nan"), 0.7) == "C"


def test_no_order_rule_flags_and_best_n() -> None:
    features = pd.DataFrame({"days_since_last_order": [10.0, 50.0, 100.0, 200.0]})
    assert no_order_rule(features, 60).tolist() == [0, 0, 1, 1]
    days, flags = best_no_order_rule(features, np.array([0, 0, 0, 1]))
    assert days == 120 and flags.tolist() == [0, 0, 0, 1]  # the only perfect cut


def test_clean_model_has_no_alarm(small_result, small_tables) -> None:
    report = check_leakage(small_result, small_tables)
    assert not report.fired, report.alarms
    assert report.checked_cutoff == str(small_result.split.validation_cutoffs[-1].date())


def test_implausible_auc_fires(small_result, small_tables) -> None:
    metrics = {**small_result.metrics, "model": {**small_result.metrics["model"], "roc_auc": 0.99}}
    report = check_leakage(replace(small_result, metrics=metrics), small_tables)
    assert report.fired
    assert "0.990 is above the plausibility ceiling 0.97" in report.alarms[0]


def test_implausible_auc_that_a_naive_rule_reaches_too_is_no_alarm(small_result, small_tables):
    """A book of one-time buyers: the model 0.990, RFM 0.989 on the same rows. RFM reads
    three history features (checked by the point-in-time alarm), so the book is simply
    that predictable; before, the alarm fired and blocked every model on such a book."""
    metrics = {
        **small_result.metrics,
        "model": {**small_result.metrics["model"], "roc_auc": 0.990},
        "rfm": {**small_result.metrics["rfm"], "roc_auc": 0.989},
    }
    report = check_leakage(replace(small_result, metrics=metrics), small_tables)
    assert not report.fired, report.alarms
    metrics["rfm"] = {**metrics["rfm"], "roc_auc": 0.960}  # 0.03 behind: unexplained
    assert check_leakage(replace(small_result, metrics=metrics), small_tables).fired


def test_feature_reading_the_future_fires(small_result, small_tables) -> None:
    """Plant a leak: orders_90d at the last validation cutoff also counts the label window."""
    features = small_result.validation_features.copy()
    last = features["cutoff"] == small_result.split.validation_cutoffs[-1]
    churned = small_result.validation["churned"].to_numpy()
    features.loc[last, "orders_90d"] += 1 - churned[last.to_numpy()]
    report = check_leakage(replace(small_result, validation_features=features), small_tables)
    assert report.fired
    assert report.leaking_features == ("orders_90d",)
    assert "change at cutoff" in report.alarms[0] and "orders_90d (" in report.alarms[0]


def test_card_reads_and_round_trips(small_result, small_tables) -> None:
    card = churn_model_card(small_result, check_leakage(small_result, small_tables), version="3")
    assert card.grade in {"A", "B", "C"}
    text = card.to_markdown()
    for heading in ("Data window", "Definition", "Metrics", "Slices", "Leakage", "Known limits"):
        assert f"## {heading}" in text
    assert f"**Grade {card.grade}**" in text and "no order in" in text
    assert churn_grade(small_result) == Grade(card.grade, card.content["grade_basis"])
    loaded = json.loads(card.to_json())
    assert loaded["grade"] == card.grade and loaded["version"] == "3"
    assert set(loaded["metrics"]) >= {"model", "recency", "rfm"}


def test_alarm_blocks_the_grade(small_result, small_tables) -> None:
    metrics = {**small_result.metrics, "model": {**small_result.metrics["model"], "roc_auc": 0.99}}
    leaky = replace(small_result, metrics=metrics)
    card = churn_model_card(leaky, check_leakage(leaky, small_tables))
    assert card.grade == "blocked"
    assert "ALARM" in card.to_markdown()


def test_offers_and_value_grades() -> None:
    offers = {
        "ranker": {"ndcg_at_3": 0.47},
        "ranker_expected_value": {"ndcg_at_3": 0.30},  # a ranker variant, not a baseline
        "global_popularity": {"ndcg_at_3": 0.38},
        "own_most_bought": {"ndcg_at_3": 0.44},
    }
    letter, basis = offers_grade(offers)
    assert letter == "B" and basis == "ndcg_at_3 0.470 vs 0.440 for own_most_bought"
    value = {"model": {"mae": 80.0}, "naive_last_12m": {"mae": 100.0}}
    assert value_grade(value)[0] == "A"  # 20% lower error
    assert value_grade({"model": {"mae": 99.0}, "naive_last_12m": {"mae": 100.0}})[0] == "C"
