"""Ranking metrics: the triad (perfect = 1, no hits = 0, a textbook example) and invariances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score

from kam_ml.evaluation.ranking import (
    catalogue_coverage,
    hit_rate_at_k,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    top_k,
)

ITEMS = list("abcde")


def _predictions(scores: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"account_id": user, "category": item, "score": score}
        for user, values in scores.items()
        for item, score in zip(ITEMS, values, strict=True)
    ]
    return pd.DataFrame(rows)


def _truth(relevant: dict[str, list[str]]) -> pd.DataFrame:
    rows = [{"account_id": u, "category": i} for u, items in relevant.items() for i in items]
    return pd.DataFrame(rows)


ALL = (ndcg_at_k, recall_at_k, precision_at_k, map_at_k, hit_rate_at_k)


def test_a_perfect_ranking_scores_one():
    truth = _truth({"u1": ["a", "b", "c"], "u2": ["e", "d", "c"]})
    predictions = _predictions({"u1": [5, 4, 3, 2, 1], "u2": [1, 2, 3, 4, 5]})
    for metric in ALL:
        assert metric(truth, predictions, k=3) == pytest.approx(1.0), metric.__name__


def test_no_hits_score_zero():
    truth = _truth({"u1": ["d", "e"], "u2": ["a"]})
    predictions = _predictions({"u1": [5, 4, 3, 2, 1], "u2": [1, 2, 3, 4, 5]})
    for metric in ALL:
        assert metric(truth, predictions, k=3) == 0.0, metric.__name__


def test_textbook_example():
    """Relevant {a, c, e}; ranking a > b > c > d > e.

    At k = 5: P = 3/5, R = 1, AP = (1/1 + 2/3 + 3/5) / 3,
    NDCG = (1 + 1/log2(4) + 1/log2(6)) / (1 + 1/log2(3) + 1/log2(4)).
    At k = 3: P = R = 2/3, AP = (1 + 2/3) / 3, NDCG = (1 + 1/2) / (1 + 1/log2(3) + 1/2).
    """
    truth = _truth({"u": ["a", "c", "e"]})
    predictions = _predictions({"u": [5, 4, 3, 2, 1]})
    at5 = ranking_metrics(truth, predictions, 5)
    assert at5["precision_at_5"] == pytest.approx(0.6)
    assert at5["recall_at_5"] == pytest.approx(1.0)
    assert at5["map_at_5"] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    assert at5["ndcg_at_5"] == pytest.approx(
        (1 + 1 / np.log2(4) + 1 / np.log2(6)) / (1 + 1 / np.log2(3) + 1 / np.log2(4))
    )
    at3 = ranking_metrics(truth, predictions, 3)
    assert at3["precision_at_3"] == pytest.approx(2 / 3)
    assert at3["recall_at_3"] == pytest.approx(2 / 3)
    assert at3["map_at_3"] == pytest.approx((1 + 2 / 3) / 3)
    assert at3["ndcg_at_3"] == pytest.approx(1.5 / (1 + 1 / np.log2(3) + 0.5))
    assert at3["hit_rate_at_3"] == 1.0


def test_ndcg_agrees_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    scores = {f"u{i}": list(rng.normal(size=5)) for i in range(40)}
    relevant = {u: [i for i in ITEMS if rng.random() < 0.4] or ["a"] for u in scores}
    truth, predictions = _truth(relevant), _predictions(scores)
    y_true = np.array([[item in relevant[u] for item in ITEMS] for u in scores], dtype=float)
    y_score = np.array([scores[u] for u in scores])
    for k in (1, 3, 5):
        assert ndcg_at_k(truth, predictions, k) == pytest.approx(ndcg_score(y_true, y_score, k=k))


def test_users_without_relevant_items_are_ignored_and_missing_predictions_score_zero():
    truth = _truth({"u1": ["a"], "u3": ["b"]})  # u2 bought nothing; u3 has no predictions
    predictions = _predictions({"u1": [5, 4, 3, 2, 1], "u2": [5, 4, 3, 2, 1]})
    metrics = ranking_metrics(truth, predictions, 3)
    assert metrics["users_evaluated"] == 2
    assert metrics["hit_rate_at_3"] == pytest.approx(0.5)
    assert metrics["ndcg_at_3"] == pytest.approx(0.5)


def test_shuffled_rows_and_ties_give_identical_rankings(seed):
    predictions = _predictions({"u1": [1, 1, 1, 0, 0], "u2": [3, 2, 2, 2, 1]})
    truth = _truth({"u1": ["c"], "u2": ["d"]})
    shuffled = predictions.sample(frac=1.0, random_state=seed)
    pd.testing.assert_frame_equal(top_k(predictions, 3), top_k(shuffled, 3))
    assert ranking_metrics(truth, predictions, 3) == ranking_metrics(truth, shuffled, 3)
    best = top_k(predictions, 2)
    assert best.loc[best["account_id"] == "u1", "category"].tolist() == ["a", "b"]  # ties: name


def test_stacked_cutoffs_are_separate_users():
    predictions = pd.concat(
        [_predictions({"u": [5, 4, 3, 2, 1]}).assign(cutoff=c) for c in ("2026-01", "2026-02")]
    )
    truth = pd.DataFrame({"cutoff": ["2026-01", "2026-02"], "account_id": "u", "category": "a"})
    metrics = ranking_metrics(truth, predictions, 1, user_col=["cutoff", "account_id"])
    assert metrics["users_evaluated"] == 2
    assert metrics["precision_at_1"] == 1.0


def test_catalogue_coverage_counts_items_shown_in_any_top_k():
    predictions = _predictions({"u1": [5, 4, 3, 2, 1], "u2": [5, 4, 1, 2, 3]})
    assert catalogue_coverage(predictions, 2, ITEMS + ["f"]) == pytest.approx(2 / 6)
    assert catalogue_coverage(predictions, 3, ITEMS) == pytest.approx(4 / 5)


def test_k_must_be_a_positive_int():
    with pytest.raises(ValueError, match="The 'k' of a ranking metric must be a positive int"):
        ndcg_at_k(_truth({"u": ["a"]}), _predictions({"u": [1, 2, 3, 4, 5]}), 0)
