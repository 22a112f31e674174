"""What every offer report compares against: rankings a manager or a textbook would use.

Each baseline scores offer pair rows (from ``kam_ml.offers.pairs``) with columns they
already carry, so a baseline sees exactly the history the ranker sees. Ties are broken by
the category's overall popularity (a tiny additive term), which makes every baseline as
strong as it can reasonably be.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = [
    "OFFER_BASELINES",
    "global_popularity",
    "item_to_item",
    "own_most_bought",
    "segment_popularity",
]

_TIE_BREAK = 1e-6


def global_popularity(pairs: pd.DataFrame) -> np.ndarray:
    """The categories most accounts bought lately: the same list for everyone."""
    return pairs["cat_popularity"].to_numpy(dtype=np.float64)


def segment_popularity(pairs: pd.DataFrame) -> np.ndarray:
    """The categories most accounts of the account's segment bought lately."""
    return _with_tie_break(pairs["cat_popularity_segment"], pairs)


def own_most_bought(pairs: pd.DataFrame) -> np.ndarray:
    """The account's own most-bought categories over the last year (order lines)."""
    return _with_tie_break(pairs["cat_lines_365d"], pairs)


def item_to_item(pairs: pd.DataFrame) -> np.ndarray:
    """Item-to-item co-occurrence: sum over the account's last-year lines of the cosine
    similarity between their category and the candidate (itself included, similarity 1)."""
    return _with_tie_break(pairs["similarity_score"], pairs)


def _with_tie_break(score: pd.Series, pairs: pd.DataFrame) -> np.ndarray:
    return score.to_numpy(dtype=np.float64) + _TIE_BREAK * pairs["cat_popularity"].to_numpy(
        dtype=np.float64
    )


OFFER_BASELINES: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "global_popularity": global_popularity,
    "segment_popularity": segment_popularity,
    "own_most_bought": own_most_bought,
    "item_to_item": item_to_item,
}
