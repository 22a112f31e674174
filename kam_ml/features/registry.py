"""Every feature's name, meaning and the phrase a manager reads when it drives risk.

Feature functions register their outputs here so that descriptions (for docs and model
cards) and reason phrases (for score explanations) live next to the code that computes
them, and a feature cannot exist without both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["FEATURES", "FeatureSpec", "describe_reason", "feature_names", "register"]


@dataclass(frozen=True)
class FeatureSpec:
    """One model input.

    reason: a phrase with ``{value}`` for the account's value, read as "why is this account
    at risk" when the feature pushes risk *up*; for categorical features the value is the
    category label.
    fmt: format spec applied to the value before it is put in ``reason``.
    """

    name: str
    description: str
    reason: str
    fmt: str = ".0f"
    categorical: bool = False


FEATURES: dict[str, FeatureSpec] = {}


def register(*specs: FeatureSpec) -> None:
    for spec in specs:
        if spec.name in FEATURES and FEATURES[spec.name] != spec:
            raise ValueError(f"Feature {spec.name!r} is registered twice with different specs.")
        FEATURES[spec.name] = spec


def feature_names(specs: Iterable[FeatureSpec] | None = None) -> list[str]:
    return [spec.name for spec in (specs if specs is not None else FEATURES.values())]


def describe_reason(name: str, value: object) -> str:
    """The plain-language reason for one feature value of one account."""
    spec = FEATURES[name]
    if spec.categorical or isinstance(value, str):
        shown = str(value)
    elif value is None or (isinstance(value, float) and np.isnan(value)):
        shown = "no data"
        return _unknown_phrase(spec)
    else:
        shown = format(float(value), spec.fmt)
    return spec.reason.format(value=shown)


def _unknown_phrase(spec: FeatureSpec) -> str:
    return f"{spec.description} is unknown"


FeatureFunction = Callable[..., dict[str, np.ndarray]]
