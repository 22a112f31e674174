"""The next-best-offer ranker: LightGBM LambdaRank over (account, category) pairs.

LambdaRank optimises NDCG within each query (one account at one cutoff) directly, which is
what a manager's short list of offers is judged by. Its scores only order categories
within a query, so a Platt map from score to the probability that the account buys the
category in the horizon is fitted on the newest cutoff, which the booster never saw; the
map is monotone, so it keeps every ranking while giving the expected-value rule (probability
x spend x margin) a probability to work with. The same newest cutoff decides how many
boosting rounds to keep (early stopping on its NDCG@3), as for the churn model.

LightGBM needs the size of every query, in row order. The ranker derives those sizes from
the (cutoff, account_id) index of ``X`` after sorting it itself, so no caller can pass rows
and groups that disagree, and shuffled rows train the same model.
"""

from __future__ import annotations

import os

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from kam_ml.boosting.estimator import BoostedEstimator, eval_rows, small_prediction_threads

__all__ = ["QUERY_LEVELS", "OfferRanker", "query_groups", "sort_queries"]

QUERY_LEVELS = ("cutoff", "account_id")


def sort_queries(X: pd.DataFrame) -> np.ndarray:
    """Row positions that sort ``X`` by its whole index (cutoff, account_id, then the rest).

    The index must name the ``QUERY_LEVELS`` and be unique, so the order is total and does
    not depend on the order the rows came in.
    """
    names = list(X.index.names)
    missing = [level for level in QUERY_LEVELS if level not in names]
    if missing:
        raise ValueError(
            f"The index of X must have levels {list(QUERY_LEVELS)} (one query per account "
            f"and cutoff); it has {names}. Use frame.set_index(['cutoff', 'account_id', "
            "'category'])."
        )
    if not X.index.is_unique:
        duplicated = X.index[X.index.duplicated()][:3]
        raise ValueError(
            f"The index of X must be unique; {int(X.index.duplicated().sum())} rows repeat "
            f"an earlier key (e.g. {list(duplicated)})."
        )
    levels = list(QUERY_LEVELS) + [n for n in names if n not in QUERY_LEVELS]
    keys = [X.index.get_level_values(level) for level in reversed(levels)]
    return np.lexsort([pd.factorize(key, sort=True)[0] for key in keys])


def query_groups(index: pd.Index) -> np.ndarray:
    """Sizes of the consecutive runs of equal (cutoff, account_id) in ``index``: LightGBM's
    ``group``. ``index`` must already be sorted (see ``sort_queries``)."""
    frame = pd.DataFrame({level: index.get_level_values(level) for level in QUERY_LEVELS})
    codes = frame.groupby(list(QUERY_LEVELS), sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    if len(np.unique(codes)) != len(starts):
        raise ValueError("The index is not sorted by (cutoff, account_id): a query is split.")
    return np.diff(np.r_[starts, len(codes)])


class OfferRanker(BoostedEstimator):
    """LambdaRank over offer pairs, with a Platt map to purchase probabilities.

    ``n_estimators`` is the most boosting rounds; ``early_stopping_rounds`` (None: keep
    them all) stops earlier when NDCG at ``early_stopping_at`` on the calibration cutoff
    has not improved for that many rounds. ``n_jobs`` defaults to 1: LightGBM's OpenMP
    threads spin while they wait, and on a shared machine two of them fitted these sizes
    several times slower than one.
    """

    def __init__(
        self,
        *,
        n_estimators: int = 500,
        early_stopping_rounds: int | None = 50,
        early_stopping_at: int = 3,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        random_state: int = 0,
        n_jobs: int = 1,
    ) -> None:
        super().__init__(
            n_estimators=n_estimators,
            learning_rate=learning_rate,
            num_leaves=num_leaves,
            min_child_samples=min_child_samples,
            subsample=subsample,
            colsample_bytree=colsample_bytree,
            reg_lambda=reg_lambda,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        self.early_stopping_rounds = early_stopping_rounds
        self.early_stopping_at = early_stopping_at

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> OfferRanker:
        """Fit on pairs indexed by (cutoff, account_id[, category]); y = 1 if bought.

        The newest cutoff calibrates; the older ones train the booster.
        """
        y = np.asarray(y).astype(int)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
        order = sort_queries(X)
        X, y = X.iloc[order], y[order]
        cutoffs = X.index.get_level_values("cutoff")
        calibration = np.asarray(cutoffs == cutoffs.max())
        if calibration.all():
            raise ValueError(
                "OfferRanker.fit needs at least two cutoffs: the newest calibrates the "
                f"probabilities, the older ones train the ranker. Got only {cutoffs.max()}."
            )
        # a query without a purchase carries no ranking information (LambdaRank's
        # gradients vanish in it): the booster skips those, calibration keeps every row
        keys = pd.MultiIndex.from_arrays([X.index.get_level_values(q) for q in QUERY_LEVELS])
        bought = pd.Series(y, index=keys).groupby(level=[0, 1], sort=False).transform("max")
        learn = ~calibration & (bought.to_numpy() > 0)
        if not learn.any():
            raise ValueError("OfferRanker.fit needs at least one purchase in the older cutoffs.")
        train = X.loc[learn]
        self._remember_inputs(X)
        held = calibration & (bought.to_numpy() > 0)
        self.n_trees_ = self._tree_count(train, y[learn], X.loc[held], y[held])
        kwargs = {**self._booster_kwargs(len(train)), "n_estimators": self.n_trees_}
        self.booster_ = lgb.LGBMRanker(objective="lambdarank", **kwargs)
        self.booster_.fit(train, y[learn], group=query_groups(train.index))
        raw = np.asarray(self.booster_.predict(X.loc[calibration]))
        self.calibrator_ = LogisticRegression(C=1e6).fit(raw[:, None], y[calibration])
        return self

    def _tree_count(
        self, train: pd.DataFrame, y: np.ndarray, held: pd.DataFrame, y_held: np.ndarray
    ) -> int:
        """How many boosting rounds to keep: early-stopped on the calibration cutoff's NDCG.

        200 fixed rounds overfitted small books: on buy-till-you-die books of 1,000
        accounts the ranker fell behind the account's own most-bought categories on three
        seeds of six, and fewer rounds ranked better there and no worse on the larger
        books (README "Next-best offers"). The right count grows with the book, so it is
        found per fit, out of time (the booster never learns from the calibration cutoff),
        and the booster is fitted again with exactly that many rounds so that every tree
        it holds is one its predictions use. Only queries with a purchase judge it: NDCG
        is undefined in the others.
        """
        if self.early_stopping_rounds is None or not len(held):
            return self.n_estimators
        probe = lgb.LGBMRanker(objective="lambdarank", **self._booster_kwargs(len(train)))
        stop = lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False)
        probe.fit(
            train,
            y,
            group=query_groups(train.index),
            **eval_rows(held, y_held),
            eval_group=[query_groups(held.index)],
            eval_at=[self.early_stopping_at],
            callbacks=[stop],
        )
        return max(int(probe.best_iteration_ or self.n_estimators), 1)

    def __setstate__(self, state: dict[str, object]) -> None:
        """A pickle from before early stopping kept every one of its rounds: load it so."""
        state.setdefault("early_stopping_rounds", None)
        if "booster_" in state:
            state.setdefault("n_trees_", state.get("n_estimators", 200))
        super().__setstate__(state)

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Raw LambdaRank scores: they order categories within one account."""
        check_is_fitted(self, "booster_")
        X = self._prepare(X)
        threads = small_prediction_threads(len(X)) or {"num_threads": _prediction_threads()}
        return np.asarray(self.booster_.predict(X, **threads))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns: P(not bought in the horizon), P(bought)."""
        check_is_fitted(self, "calibrator_")
        bought = self.calibrator_.predict_proba(self.decision_function(X)[:, None])[:, 1]
        return np.column_stack([1.0 - bought, bought])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """P(the account buys the category in the horizon); ranks like the raw scores."""
        return self.predict_proba(X)[:, 1]


def _prediction_threads() -> int:
    """Threads for scoring: every CPU this process may run on.

    Unlike fitting (see ``OfferRanker``), prediction splits the rows between threads and
    scores each row alone, so the scores are identical for any thread count, and the
    nightly run's millions of pairs score about twice as fast on two cores.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
