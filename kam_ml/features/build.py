"""Assemble the feature groups into one frame: one row per (active account, cutoff)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables, sorted_for_features
from kam_ml.features import (
    bgnbd,
    calendar,
    decayed,
    expected,
    lifetime,
    orders,
    profile,
    returns,
    service,
    service_trends,
)
from kam_ml.features.profile import CATEGORICAL_FEATURES
from kam_ml.features.registry import FeatureGroup, FeatureSpec, feature_registry
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.spine import active_account_positions

__all__ = [
    "ALL_FEATURES",
    "CANDIDATE_GROUPS",
    "FEATURES",
    "FEATURE_COLUMNS",
    "FEATURE_GROUPS",
    "KEY_COLUMNS",
    "build_features",
    "describe_reason",
]

# Every group the feature ablation tried on top of the original four (bench/
# bench_feature_ablation.py; the README's table), by name; a group joins FEATURE_GROUPS
# only when it helped on every book. BG/NBD's specs are in ALL_FEATURES below, but its fit
# is science-layer code (kam_ml.science.bgnbd_group), so it is not a group here.
CANDIDATE_GROUPS: Mapping[str, FeatureGroup] = {
    "lifetime": FeatureGroup(lifetime.SPECS, lifetime.lifetime_features),
    "expected": FeatureGroup(expected.SPECS, expected.expected_order_features),
    "decayed": FeatureGroup(decayed.SPECS, decayed.decayed_features),
    "resolution_90d": FeatureGroup(
        service_trends.RESOLUTION_SPECS, service_trends.resolution_features
    ),
    "nps_trend": FeatureGroup(service_trends.NPS_TREND_SPECS, service_trends.nps_trend_features),
    "month": FeatureGroup(calendar.SPECS, calendar.calendar_features),
}
# The order of the groups (and of the specs within each) is the column order every model
# is fitted with and every bundle records, so it is declared here, not left to import
# order; tests/code/test_features.py pins the result, so that a reorder is a reviewed change.
# A group the ablation keeps goes last, so the original columns keep their positions.
FEATURE_GROUPS: tuple[FeatureGroup, ...] = (
    FeatureGroup(orders.SPECS, orders.order_features),
    FeatureGroup(profile.SPECS, profile.profile_features),
    FeatureGroup(returns.SPECS, returns.return_features),
    FeatureGroup(service.SPECS, service.service_features),
)
FEATURES: dict[str, FeatureSpec] = feature_registry(
    spec for group in FEATURE_GROUPS for spec in group.specs
)
# Every spec a model may meet: production, candidates and BG/NBD's, for the churn model's
# directions and the reason phrases of a candidate-trained model.
ALL_FEATURES: dict[str, FeatureSpec] = feature_registry(
    [
        *FEATURES.values(),
        *(
            spec
            for group in CANDIDATE_GROUPS.values()
            for spec in group.specs
            if spec.name not in FEATURES
        ),
        *bgnbd.SPECS,
    ]
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
    groups: Sequence[FeatureGroup] = FEATURE_GROUPS,
) -> pd.DataFrame:
    """Feature rows for the accounts active at each cutoff, stacked oldest cutoff first.

    Columns: ``account_id``, ``cutoff`` and the features of ``groups`` (the production
    ``FEATURE_GROUPS`` unless an experiment adds candidates); region and segment
    are pandas categoricals over the whole account book so that every cutoff (and the
    scoring run) shares one encoding.
    """
    if isinstance(cutoffs, pd.Timestamp | str):
        cutoffs = [pd.Timestamp(cutoffs)]
    tables = sorted_for_features(tables)
    frames = []
    for cutoff in sorted(pd.Timestamp(c).normalize() for c in cutoffs):
        frames.append(_features_at(tables, cutoff, definition, groups))
        if on_cutoff_done is not None:
            on_cutoff_done(cutoff)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for name in (n for n in CATEGORICAL_FEATURES if n in frame):
        labels = sorted(tables.accounts[name].astype(str).unique())
        frame[name] = pd.Categorical(frame[name], categories=labels)
    return frame


def _features_at(
    tables: Tables,
    cutoff: pd.Timestamp,
    definition: ProblemDefinition,
    groups: Sequence[FeatureGroup],
) -> pd.DataFrame:
    history = definition.history_at(tables, cutoff)
    active = active_account_positions(history, cutoff, definition)
    columns: dict[str, np.ndarray] = {}
    for group in groups:
        columns.update(group.compute(history, cutoff, definition))
    data = {
        "account_id": tables.accounts["account_id"].to_numpy(dtype=object)[active],
        "cutoff": np.full(len(active), cutoff.to_datetime64(), dtype="datetime64[ns]"),
    }
    names = [spec.name for group in groups for spec in group.specs]
    data.update({name: columns[name][active] for name in names})
    return pd.DataFrame(data)
