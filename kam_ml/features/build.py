"""Assemble the feature groups into one frame: one row per (active account, cutoff)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables, sorted_for_features
from kam_ml.features.orders import order_features
from kam_ml.features.profile import CATEGORICAL_FEATURES, profile_features
from kam_ml.features.registry import FEATURES
from kam_ml.features.returns import return_features
from kam_ml.features.service import service_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.spine import active_account_positions

__all__ = ["FEATURE_COLUMNS", "KEY_COLUMNS", "build_features"]

FEATURE_GROUPS = (order_features, return_features, service_features, profile_features)
KEY_COLUMNS = ("account_id", "cutoff")
FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURES)


def build_features(
    tables: Tables,
    cutoffs: Sequence[pd.Timestamp] | pd.Timestamp,
    definition: ProblemDefinition,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
) -> pd.DataFrame:
    """Feature rows for the accounts active at each cutoff, stacked oldest cutoff first.

    Columns: ``account_id``, ``cutoff`` and every registered feature; region and segment
    are pandas categoricals over the whole account book so that every cutoff (and the
    scoring run) shares one encoding.
    """
    if isinstance(cutoffs, pd.Timestamp | str):
        cutoffs = [pd.Timestamp(cutoffs)]
    tables = sorted_for_features(tables)
    frames = []
    for cutoff in sorted(pd.Timestamp(c).normalize() for c in cutoffs):
        frames.append(_features_at(tables, cutoff, definition))
        if on_cutoff_done is not None:
            on_cutoff_done(cutoff)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for name in CATEGORICAL_FEATURES:
        labels = sorted(tables.accounts[name].astype(str).unique())
        frame[name] = pd.Categorical(frame[name], categories=labels)
    return frame


def _features_at(
    tables: Tables, cutoff: pd.Timestamp, definition: ProblemDefinition
) -> pd.DataFrame:
    history = definition.history_at(tables, cutoff)
    active = active_account_positions(history, cutoff, definition)
    columns: dict[str, np.ndarray] = {}
    for group in FEATURE_GROUPS:
        columns.update(group(history, cutoff, definition))
    data = {
        "account_id": tables.accounts["account_id"].to_numpy(dtype=object)[active],
        "cutoff": np.full(len(active), cutoff.to_datetime64(), dtype="datetime64[ns]"),
    }
    data.update({name: columns[name][active] for name in FEATURE_COLUMNS})
    return pd.DataFrame(data)
