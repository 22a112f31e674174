"""Top-k ranking metrics as pure functions over long frames.

``truth`` holds the relevant items, one row per (user..., item); ``predictions`` holds
scored candidates, one row per (user..., item, score). A *user* is whatever the key
columns name: ``account_id`` for one scoring date, ``("cutoff", "account_id")`` for
stacked backtest cutoffs. Conventions (those of microsoft/recommenders and most papers):

* metrics average over the users with at least one relevant item (a user who buys nothing
  in the window can be served neither better nor worse); such a user without predictions
  scores 0;
* a user's top k are its k highest scores, ties broken by item name, so a result never
  depends on row order;
* relevance is binary; NDCG's ideal puts min(relevant, k) relevant items first; MAP@k
  divides by min(relevant, k); precision@k divides by k even when fewer were predicted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from kam_ml.errors import require_positive_int

__all__ = [
    "catalogue_coverage",
    "hit_rate_at_k",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "ranking_metrics",
    "recall_at_k",
    "top_k",
]

UserColumns = str | Sequence[str]


def top_k(
    predictions: pd.DataFrame,
    k: int,
    user_col: UserColumns = "account_id",
    item_col: str = "category",
    score_col: str = "score",
) -> pd.DataFrame:
    """Each user's k best rows, best first, with a 1-based ``rank`` column."""
    _check_k(k)
    users = _users(user_col)
    ordered = predictions.sort_values(
        [*users, score_col, item_col],
        ascending=[True] * len(users) + [False, True],
        kind="mergesort",
        na_position="last",
    )
    best = ordered.groupby(users, sort=False).head(k)
    rank = best.groupby(users, sort=False).cumcount().to_numpy() + 1
    return best.assign(rank=rank).reset_index(drop=True)


def precision_at_k(
    truth: pd.DataFrame,
    predictions: pd.DataFrame,
    k: int,
    user_col: UserColumns = "account_id",
    item_col: str = "category",
    score_col: str = "score",
) -> float:
    """Share of each user's top k that is relevant, averaged over users."""
    return _mean(_per_user(truth, predictions, k, user_col, item_col, score_col), "precision")


def recall_at_k(
    truth: pd.DataFrame,
    predictions: pd.DataFrame,
    k: int,
    user_col: UserColumns = "account_id",
    item_col: str = "category",
    score_col: str = "score",
) -> float:
    """Share of each user's relevant items that made its top k, averaged over users."""
    return _mean(_per_user(truth, predictions, k, user_col, item_col, score_col), "recall")


def ndcg_at_k(
    truth: pd.DataFrame,
    predictions: pd.DataFrame,
    k: int,
    user_col: UserColumns = "account_id",
    item_col: str = "category",
    score_col: str = "score",
) -> float:
    """Discounted cumulative gain of the top k over that of the ideal top k."""
    return _mean(_per_user(truth, predictions, k, user_col, item_col, score_col), "ndcg")


def map_at_k(
    truth: pd.DataFrame,
    predictions: pd.DataFrame,
    k: int,
    user_col: UserColumns = "account_id",
    item_col: str = "category",
    score_col: str = "score",
) -> float:
    """Mean average precision: precision at each relevant rank, over min(relevant, k)."""
    return _mean(_per_user(truth, predictions, k, user_col, item_col, score_col), "map")


def hit_rate_at_k(
    truth: pd.DataFrame,
    predictions: pd.DataFrame,
    k: int,
    user_col: UserColumns = "account_id",
    item_col: str = "category",
    score_col: str = "score",
) -> float:
    """Share of users with at least one relevant item in their top k."""
    return _mean(_per_user(truth, predictions, k, user_col, item_col, score_col), "hit_rate")


def catalogue_coverage(
    predictions: pd.DataFrame,
    k: int,
    catalogue: Iterable[str],
    user_col: UserColumns = "account_id",
    item_col: str = "category",
    score_col: str = "score",
) -> float:
    """Share of the catalogue that appears in at least one user's top k."""
    items = pd.Index(list(catalogue)).unique()
    if len(items) == 0:
        return float("nan")
    shown = top_k(predictions, k, user_col, item_col, score_col)[item_col].unique()
    return float(items.isin(shown).mean())


def ranking_metrics(
    truth: pd.DataFrame,
    predictions: pd.DataFrame,
    k: int,
    catalogue: Iterable[str] | None = None,
    user_col: UserColumns = "account_id",
    item_col: str = "category",
    score_col: str = "score",
) -> dict[str, float]:
    """All of the above at k, keyed ``ndcg_at_3``, ``recall_at_3`` ...; one pass over the data.

    ``catalogue`` defaults to every item seen in ``truth`` or ``predictions``.
    """
    per_user = _per_user(truth, predictions, k, user_col, item_col, score_col)
    if catalogue is None:
        catalogue = pd.concat([truth[item_col], predictions[item_col]]).unique()
    metrics = {
        f"{name}_at_{k}": _mean(per_user, name)
        for name in ("ndcg", "recall", "precision", "map", "hit_rate")
    }
    metrics[f"coverage_at_{k}"] = catalogue_coverage(
        predictions, k, catalogue, user_col, item_col, score_col
    )
    metrics["users_evaluated"] = float(len(per_user))
    return metrics


def _per_user(
    truth: pd.DataFrame,
    predictions: pd.DataFrame,
    k: int,
    user_col: UserColumns,
    item_col: str,
    score_col: str,
) -> pd.DataFrame:
    """One row per user with a relevant item: precision, recall, ndcg, map, hit_rate."""
    users = _users(user_col)
    relevant = truth[[*users, item_col]].drop_duplicates()
    n_relevant = relevant.groupby(users).size().rename("n_relevant")
    if len(n_relevant) == 0:
        return pd.DataFrame(columns=["precision", "recall", "ndcg", "map", "hit_rate"])
    best = top_k(predictions[[*users, item_col, score_col]], k, users, item_col, score_col)
    hits = best.merge(relevant, on=[*users, item_col], how="inner")
    hits = hits.sort_values([*users, "rank"], kind="mergesort")
    hits["hits_so_far"] = hits.groupby(users).cumcount() + 1
    hits["gain"] = 1.0 / np.log2(hits["rank"] + 1.0)
    hits["precision_here"] = hits["hits_so_far"] / hits["rank"]
    per_hit = hits.groupby(users).agg(
        n_hits=("rank", "size"), dcg=("gain", "sum"), precision_sum=("precision_here", "sum")
    )
    frame = n_relevant.to_frame().join(per_hit, how="left").fillna(0.0)
    ideal_hits = np.minimum(frame["n_relevant"].to_numpy(), k).astype(int)
    ideal_gain = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    return pd.DataFrame(
        {
            "precision": frame["n_hits"] / k,
            "recall": frame["n_hits"] / frame["n_relevant"],
            "ndcg": frame["dcg"] / ideal_gain[ideal_hits],
            "map": frame["precision_sum"] / ideal_hits,
            "hit_rate": (frame["n_hits"] > 0).astype(float),
        },
        index=frame.index,
    )


def _mean(per_user: pd.DataFrame, column: str) -> float:
    return float(per_user[column].mean()) if len(per_user) else float("nan")


def _users(user_col: UserColumns) -> list[str]:
    return [user_col] if isinstance(user_col, str) else list(user_col)


def _check_k(k: int) -> None:
    require_positive_int("a ranking metric", "k", k)
