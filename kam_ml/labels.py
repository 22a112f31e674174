"""Churn labels: the only code that reads history after a cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.definitions import ProblemDefinition
from kam_ml.tables import Tables, account_codes

__all__ = ["churn_labels"]


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
