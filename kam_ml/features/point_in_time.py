"""The point-in-time alarm: features at T must not change when the history after T is removed.

The rows a model was evaluated on at its newest validation cutoff T are rebuilt from
``definition.history_at(tables, T)`` (every row after T dropped, late facts hidden) and
compared value by value. Any difference means a feature reads rows dated after its cutoff,
so its validation metrics promise more than scoring can deliver. The check is the same for
every model family; each rebuilds its own rows (account features for churn and value,
account x category pairs for offers) and hands both frames to ``changed_features``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.features.build import build_features
from kam_ml.problem.definition import ProblemDefinition

__all__ = [
    "POPULATION",
    "account_feature_changes",
    "changed_features",
    "point_in_time_alarm",
]

POPULATION = "<population>"  # evaluated rows that the truncated history does not produce
_SHOWN = 3


def changed_features(
    evaluated: pd.DataFrame,
    rebuilt: pd.DataFrame,
    *,
    keys: Sequence[str],
    features: Sequence[str],
    unit: str = "accounts",
) -> dict[str, str]:
    """Features whose values differ between ``evaluated`` and ``rebuilt`` rows of one cutoff.

    Rows are matched on ``keys``. Returns ``{feature: "N accounts, e.g. A-1, A-2"}``
    (``unit`` names what a row is), with ``POPULATION`` for evaluated rows the rebuild lacks;
    empty when every feature is clean.
    """
    left = evaluated.set_index(list(keys))
    right = rebuilt.set_index(list(keys))
    problems: dict[str, str] = {}
    missing = left.index.difference(right.index)
    if len(missing):
        problems[POPULATION] = _examples(missing, unit)
    common = left.index.intersection(right.index)
    for name in features:
        before, after = left.loc[common, name], right.loc[common, name]
        differs = ~_same(before, after)
        if differs.any():
            problems[name] = _examples(common[differs], unit)
    return problems


def account_feature_changes(
    evaluated: pd.DataFrame,
    tables: Tables,
    cutoff: pd.Timestamp,
    definition: ProblemDefinition,
    features: Sequence[str],
) -> dict[str, str]:
    """``changed_features`` for ``build_features`` rows (the churn and value models' inputs).

    ``evaluated`` may hold several cutoffs; only the rows at ``cutoff`` are checked.
    """
    at_cutoff = evaluated.loc[evaluated["cutoff"] == cutoff]
    rebuilt = build_features(definition.history_at(tables, cutoff), cutoff, definition)
    return changed_features(at_cutoff, rebuilt, keys=["account_id"], features=features)


def point_in_time_alarm(changes: Mapping[str, str], cutoff: pd.Timestamp) -> str | None:
    """The alarm text for ``changed_features``' result; None when nothing changed."""
    if not changes:
        return None
    shown = ", ".join(f"{name} ({rows})" for name, rows in list(changes.items())[:5])
    return (
        f"{len(changes)} feature(s) change at cutoff {pd.Timestamp(cutoff).date()} when rows "
        f"after it are removed, so they read the future: {shown}"
    )


def _same(left: pd.Series, right: pd.Series) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(left.dtype):  # categoricals and strings
        return np.asarray(left.astype(str).to_numpy() == right.astype(str).to_numpy())
    a, b = left.to_numpy(dtype=np.float64), right.to_numpy(dtype=np.float64)
    return np.asarray(np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), dtype=bool)


def _examples(index: pd.Index, unit: str) -> str:
    shown = ", ".join(_label(v) for v in index[:_SHOWN])
    return f"{len(index)} {unit}, e.g. {shown}"


def _label(key: object) -> str:
    return "/".join(str(part) for part in key) if isinstance(key, tuple) else str(key)
