"""Per-account reasons: the features that push *this* account's risk up, in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kam_ml.features import describe_reason

__all__ = ["top_reasons"]


def top_reasons(contributions: pd.DataFrame, features: pd.DataFrame, n: int = 3) -> list[list[str]]:
    """The ``n`` largest positive contributions of each row, as reason phrases.

    Only features that raise risk are reasons; an account whose risk is below the average
    may have fewer than ``n`` (or none), which is the honest answer.
    """
    values = contributions.to_numpy()
    names = list(contributions.columns)
    order = np.argsort(-values, axis=1, kind="stable")[:, :n]
    feature_values = {name: features[name].to_numpy(dtype=object) for name in names}
    reasons: list[list[str]] = []
    for row, top in enumerate(order):
        reasons.append(
            [
                describe_reason(names[j], feature_values[names[j]][row])
                for j in top
                if values[row, j] > 0
            ]
        )
    return reasons
