"""Churn labels: the only code that reads history after a cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables, account_codes
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["churn_labels", "offer_labels", "revenue_labels"]


def churn_labels(tables: Tables, spine: pd.DataFrame, definition: ProblemDefinition) -> np.ndarray:
    """1 where the spine row's account places no order in (cutoff, cutoff + horizon].

    ``spine`` has ``account_id`` and ``cutoff`` columns (a feature frame will do). The label
    of a cutoff whose window runs past the data's last date would be biased towards churn,
    so callers only ask for cutoffs from ``ProblemDefinition.training_cutoff_dates``.
    """
    labels = np.zeros(len(spine), dtype=np.int8)
    positions = pd.Index(tables.accounts["account_id"]).get_indexer(spine["account_id"])
    cutoffs = spine["cutoff"].to_numpy()
    for cutoff in np.unique(cutoffs):
        rows = np.flatnonzero(cutoffs == cutoff)
        future = definition.label_window_orders(tables, pd.Timestamp(cutoff))
        ordered = np.zeros(tables.n_accounts, dtype=bool)
        ordered[account_codes(future)] = True
        labels[rows] = ~ordered[positions[rows]]
    return labels


def offer_labels(tables: Tables, pairs: pd.DataFrame, definition: ProblemDefinition) -> np.ndarray:
    """1 where the pair's account orders the pair's category in (cutoff, cutoff + horizon].

    ``pairs`` has ``account_id``, ``cutoff`` and ``category`` columns (an offer pair frame);
    the data contract's next-best-offer target: re-purchase of a known category counts.
    """
    labels = np.zeros(len(pairs), dtype=np.int8)
    positions = pd.Index(tables.accounts["account_id"]).get_indexer(pairs["account_id"])
    cutoffs = pairs["cutoff"].to_numpy()
    for cutoff in np.unique(cutoffs):
        rows = np.flatnonzero(cutoffs == cutoff)
        future = definition.label_window_orders(tables, pd.Timestamp(cutoff))
        bought = pd.MultiIndex.from_arrays(
            [account_codes(future).astype(np.int64), future["category"].to_numpy(dtype=object)]
        ).unique()
        asked = pd.MultiIndex.from_arrays(
            [positions[rows].astype(np.int64), pairs["category"].to_numpy(dtype=object)[rows]]
        )
        labels[rows] = asked.isin(bought)
    return labels


def revenue_labels(
    tables: Tables, spine: pd.DataFrame, definition: ProblemDefinition, days: int
) -> np.ndarray:
    """Order revenue of the spine row's account in (cutoff, cutoff + days].

    Gross of later returns, like the ``revenue_*`` features it is compared with. Callers only
    ask for cutoffs whose window ends by the data's last date (a truncated window would
    understate it).
    """
    revenue = np.zeros(len(spine), dtype=np.float64)
    positions = pd.Index(tables.accounts["account_id"]).get_indexer(spine["account_id"])
    cutoffs = spine["cutoff"].to_numpy()
    for cutoff in np.unique(cutoffs):
        rows = np.flatnonzero(cutoffs == cutoff)
        future = definition.window_orders(tables, pd.Timestamp(cutoff), days)
        per_account = np.bincount(
            account_codes(future),
            weights=future["amount"].to_numpy(dtype=np.float64),
            minlength=tables.n_accounts,
        )
        revenue[rows] = per_account[positions[rows]]
    return revenue
