"""Assemble the feature groups into one frame: one row per (active account, cutoff)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables, sorted_for_features
from kam_ml.features import orders, profile, returns, service
from kam_ml.features.profile import CATEGORICAL_FEATURES
from kam_ml.features.registry import FeatureGroup, FeatureSpec, feature_registry
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.spine import active_account_positions

__all__ = [
    "FEATURES",
    "FEATURE_COLUMNS",
    "FEATURE_GROUPS",
    "KEY_COLUMNS",
    "build_features",
    "describe_reason",
]

# The order of the groups (and of the specs within each) is the column order every model
# is fitted with and every bundle records, so it is declared here, not left to import
# order; tests/code/test_features.py pins the result, so that a reorder is a reviewed change.
FEATURE_GROUPS: tuple[FeatureGroup, ...] = (
    FeatureGroup(orders.SPECS, orders.order_features),
    FeatureGroup(profile.SPECS, profile.profile_features),
    FeatureGroup(returns.SPECS, returns.return_features),
    FeatureGroup(service.SPECS, service.service_features),
)
FEATURES: dict[str, FeatureSpec] = feature_registry(
    spec for group in FEATURE_GROUPS for spec in group.specs
)
KEY_COLUMNS = ("account_id", "cutoff")
FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURES)


def describe_reason(name: str, value: object, row: Mapping[str, object] | None = None) -> str:
    """The plain-language reason for one account's value of the feature ``name``, as a
    reason reads it: the phrase of the feature's risky side (more days without an order,
    fewer orders); the single ``reason`` template for context and categorical features.
    ``kam_ml.scoring.explained.top_reasons`` picks the side from the account's peers."""
    spec = FEATURES[name]
    if spec.phrases is None or spec.context or isinstance(value, str):
        return spec.reason_for(value)
    number = float(value) if value is not None else float("nan")  # type: ignore[arg-type]
    if np.isnan(number) and spec.phrases.missing is None:
        return spec.reason_for(number)  # "... is unknown"
    return spec.phrase("low" if spec.churn_direction < 0 else "high", number, row)


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
        columns.update(group.compute(history, cutoff, definition))
    data = {
        "account_id": tables.accounts["account_id"].to_numpy(dtype=object)[active],
        "cutoff": np.full(len(active), cutoff.to_datetime64(), dtype="datetime64[ns]"),
    }
    data.update({name: columns[name][active] for name in FEATURE_COLUMNS})
    return pd.DataFrame(data)
