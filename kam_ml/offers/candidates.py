"""Offer candidates: the few categories worth ranking for an account, not the whole catalogue.

Ranking every account x category pair costs time and memory in proportion to the
catalogue: fine for tens of categories, hours for a grocery book of hundreds. A candidate
generator keeps, per account and cutoff, at most ``n`` categories chosen from four sources
a category manager would name, all read from the history known at T and from the book's
``PopulationStats`` at T (so training, validation and scoring pick the same way):

1. **own history**: every category the account ever bought, ahead of anything else (a
   re-purchase is the most common next purchase); if there are more than ``n`` of them,
   the ``n`` most recently bought (exp-decayed line counts) win;
2. **co-purchase neighbours**: categories with a high co-occurrence lift with what the
   account bought in the last year (its share-weighted positive log-lift);
3. **next-purchase neighbours**: categories with a high transition lift after what its
   last order held;
4. **popularity** in the account's segment x region (the cold-start fallback).

Sources 2-4 are merged by reciprocal-rank fusion (score ``sum 1 / (60 + rank)``, the
usual constant), which needs no weights tuned to one book and lets a category that is
near the top of any one list in. Ties go to the catalogue order, so the set is
deterministic. When ``n`` >= the catalogue size (or ``n`` is None) every category is a
candidate: a catalogue of tens of categories gets exactly the all-pairs ranking it always
had. Purchases outside the set are misses that the training metrics still count
(``candidate_recall`` is the share of next-horizon purchases that were candidates).
"""

from __future__ import annotations

import numpy as np

from kam_ml.offers.population import PopulationStats

__all__ = ["DEFAULT_CANDIDATES", "candidate_mask", "check_candidates"]

DEFAULT_CANDIDATES = 60
_FUSION_K = 60.0  # reciprocal-rank fusion's constant: damps the weight of the very top ranks
_OWN_PRIORITY = 10.0  # above any fused score (at most 3 / 61): own history always first


def check_candidates(n: int | None) -> None:
    """Refuse a candidate count that is not a positive int (None means every category)."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(
            "The 'candidates' of the offer pairs must be a positive int or None (every "
            f"category). Got {n!r} instead."
        )


def candidate_mask(
    *,
    decayed_lines: np.ndarray,
    basket_shares: np.ndarray,
    last_order: np.ndarray,
    popularity: np.ndarray,
    stats: PopulationStats,
    n: int | None,
) -> np.ndarray:
    """(accounts, categories) booleans: True for each account's at most ``n`` candidates.

    ``decayed_lines``: exp-decayed line counts per category (> 0 iff ever bought);
    ``basket_shares``: each category's share of the account's last-year lines;
    ``last_order``: which categories its latest order held; ``popularity``: the segment x
    region base rates of its group. All are (accounts, categories) in ``stats`` order.
    """
    check_candidates(n)
    n_accounts, n_cat = decayed_lines.shape
    if n is None or n >= n_cat:
        return np.ones((n_accounts, n_cat), dtype=bool)
    co_purchase = np.log(stats.cooccurrence_lift)
    np.fill_diagonal(co_purchase, 0.0)
    next_purchase = np.log(stats.transition_lift)
    np.fill_diagonal(next_purchase, 0.0)
    sources = (
        basket_shares @ np.maximum(co_purchase, 0.0),
        last_order.astype(np.float64) @ np.maximum(next_purchase, 0.0),
        popularity,
    )
    fused = np.zeros((n_accounts, n_cat))
    for score in sources:
        # a category a source has nothing to say for (score 0) gets no vote from it
        fused += np.where(score > 0, 1.0 / (_FUSION_K + _ranks(score)), 0.0)
    bought = decayed_lines > 0
    recency = decayed_lines / (1.0 + decayed_lines)  # in [0, 1): more recent, higher
    priority = np.where(bought, _OWN_PRIORITY + recency, fused)
    chosen = np.argsort(-priority, axis=1, kind="stable")[:, :n]
    mask = np.zeros((n_accounts, n_cat), dtype=bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    return mask


def _ranks(score: np.ndarray) -> np.ndarray:
    """1-based rank of each category within its row (highest first, ties by position)."""
    order = np.argsort(-score, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, score.shape[1] + 1)[None, :], axis=1)
    return ranks.astype(np.float64)
