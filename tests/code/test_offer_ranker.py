"""The offer ranker derives LightGBM's query groups itself and honours the sklearn contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from kam_ml.evaluation.ranking import ndcg_at_k
from kam_ml.offers.ranker import OfferRanker, query_groups, sort_queries

CUTOFFS = pd.to_datetime(["2026-01-31", "2026-03-02", "2026-04-01"])


def _planted(seed: int, accounts: int = 150, items: int = 6) -> tuple[pd.DataFrame, np.ndarray]:
    """Pairs whose purchase depends on ``signal`` (and not on ``noise``)."""
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [CUTOFFS, [f"A{i:03d}" for i in range(accounts)], [f"c{j}" for j in range(items)]],
        names=["cutoff", "account_id", "category"],
    )
    signal = rng.normal(size=len(index))
    X = pd.DataFrame({"signal": signal, "noise": rng.normal(size=len(index))}, index=index)
    y = (rng.random(len(index)) < 1 / (1 + np.exp(-(2.5 * signal - 1.5)))).astype(int)
    return X, y


def _small() -> OfferRanker:
    return OfferRanker(n_estimators=30, num_leaves=4, min_child_samples=10, n_jobs=1)


def test_query_groups_are_the_runs_of_cutoff_and_account():
    index = pd.MultiIndex.from_tuples(
        [("t1", "A", "x"), ("t1", "A", "y"), ("t1", "B", "x"), ("t2", "A", "x"), ("t2", "A", "z")],
        names=["cutoff", "account_id", "category"],
    )
    np.testing.assert_array_equal(query_groups(index), [2, 1, 2])


def test_query_groups_refuse_an_unsorted_index():
    index = pd.MultiIndex.from_tuples(
        [("t1", "A"), ("t1", "B"), ("t1", "A")], names=["cutoff", "account_id"]
    )
    with pytest.raises(ValueError, match="not sorted by \\(cutoff, account_id\\)"):
        query_groups(index)


def test_sort_queries_orders_rows_by_query_whatever_they_came_in(seed):
    X, _ = _planted(seed, accounts=5, items=3)
    shuffled = X.sample(frac=1.0, random_state=seed)
    pd.testing.assert_frame_equal(shuffled.iloc[sort_queries(shuffled)], X)


def test_sort_queries_names_a_missing_level_and_duplicates():
    frame = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["A", "B"], name="account_id"))
    with pytest.raises(ValueError, match=r"must have levels \['cutoff', 'account_id'\]"):
        sort_queries(frame)
    twice = pd.MultiIndex.from_tuples([("t", "A"), ("t", "A")], names=["cutoff", "account_id"])
    with pytest.raises(ValueError, match="must be unique; 1 rows repeat"):
        sort_queries(pd.DataFrame({"x": [1.0, 2.0]}, index=twice))


def test_shuffled_rows_train_the_same_ranker(seed):
    X, y = _planted(seed)
    order = np.random.default_rng(seed).permutation(len(X))
    a = _small().fit(X, y)
    b = _small().fit(X.iloc[order], y[order])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_ranker_recovers_a_planted_signal(seed):
    X, y = _planted(seed)
    ranker = _small().fit(X, y)
    test_X, test_y = _planted(seed + 1)
    keys = test_X.index.to_frame(index=False)
    truth = keys[test_y == 1]
    model = ndcg_at_k(truth, keys.assign(score=ranker.predict(test_X)), 3, ["cutoff", "account_id"])
    noise = ndcg_at_k(
        truth, keys.assign(score=test_X["noise"].to_numpy()), 3, ["cutoff", "account_id"]
    )
    assert model > noise + 0.2
    assert ranker.feature_importances_.index[0] == "signal"


def test_probabilities_are_calibrated_on_the_newest_cutoff(seed):
    X, y = _planted(seed)
    ranker = _small().fit(X, y)
    probability = ranker.predict(X)
    assert probability.min() >= 0 and probability.max() <= 1
    assert probability.mean() == pytest.approx(y.mean(), abs=0.03)
    np.testing.assert_array_equal(
        np.argsort(probability, kind="stable"),
        np.argsort(ranker.decision_function(X), kind="stable"),
    )


def test_contract_errors():
    X, y = _planted(0, accounts=10)
    with pytest.raises(NotFittedError):
        OfferRanker().predict(X)
    one_cutoff = X.loc[[CUTOFFS[0]]]
    with pytest.raises(ValueError, match="at least two cutoffs"):
        _small().fit(one_cutoff, y[: len(one_cutoff)])
    assert OfferRanker(num_leaves=7).get_params()["num_leaves"] == 7
