"""Every feature's name, meaning and the phrase a manager reads when it drives a score.

Each feature module declares its outputs as ``SPECS`` next to the function that computes
them, so that descriptions (for docs and model cards) and reason phrases (for score
explanations) live next to the code, and a feature cannot exist without both. Nothing is
registered at import: ``kam_ml.features.build`` assembles the groups in a declared order,
because that order is the column order models are fitted with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, SupportsFloat, cast

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from kam_ml.data.tables import Tables
    from kam_ml.problem.definition import ProblemDefinition

__all__ = ["FeatureGroup", "FeatureSpec", "feature_registry"]


@dataclass(frozen=True)
class FeatureSpec:
    """One model input.

    reason: a phrase with ``{value}`` for the account's value, read as "why this score"
    when the feature pushes the score *up* (churn risk for account features, the offer for
    pair features); for categorical features the value is the category label.
    fmt: format spec applied to the value before it is put in ``reason``.
    """

    name: str
    description: str
    reason: str
    fmt: str = ".0f"
    categorical: bool = False

    def reason_for(self, value: object) -> str:
        """The plain-language reason for one account's value; unknown values say so."""
        if self.categorical or isinstance(value, str):
            return self.reason.format(value=str(value))
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return f"{self.description} is unknown"
        return self.reason.format(value=format(float(cast(SupportsFloat, value)), self.fmt))


@dataclass(frozen=True)
class FeatureGroup:
    """One feature module: the specs it declares and the function that computes them.

    ``compute(history, cutoff, definition)`` returns one array per spec, over every account
    of ``history`` (the caller keeps the active ones).
    """

    specs: tuple[FeatureSpec, ...]
    compute: Callable[[Tables, pd.Timestamp, ProblemDefinition], dict[str, np.ndarray]]


def feature_registry(specs: Iterable[FeatureSpec]) -> dict[str, FeatureSpec]:
    """The specs by name, in the order given (the order of the model's columns).

    A name declared twice would silently drop one spec's description and reason, so it
    raises instead.
    """
    registry: dict[str, FeatureSpec] = {}
    for spec in specs:
        if spec.name in registry:
            raise ValueError(f"Feature {spec.name!r} is declared twice.")
        registry[spec.name] = spec
    return registry
