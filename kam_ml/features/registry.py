"""Every feature's name, meaning and the phrase a manager reads when it drives a score.

Each feature module declares its outputs as ``SPECS`` next to the function that computes
them, so that descriptions (for docs and model cards) and reason phrases (for score
explanations) live next to the code, and a feature cannot exist without both. Nothing is
registered at import: ``kam_ml.features.build`` assembles the groups in a declared order,
because that order is the column order models are fitted with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, SupportsFloat, cast

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from kam_ml.data.tables import Tables
    from kam_ml.problem.definition import ProblemDefinition

__all__ = [
    "Direction",
    "FeatureGroup",
    "FeatureSpec",
    "MissingPhraseError",
    "Phrase",
    "ReasonPhrases",
    "feature_registry",
]

Direction = Literal["high", "low"]
# A phrase is a template ("{value}" is the account's value in the spec's ``fmt``) or a
# function of (value, the account's feature row) for wording that depends on the number
# ("No order in the last 90 days" vs "Only 2 orders ...") or on another feature
# ("... usually every 40").
Phrase = str | Callable[[float, Mapping[str, object]], str]


class MissingPhraseError(ValueError):
    """A feature was asked for a reason phrase it does not declare."""


@dataclass(frozen=True)
class ReasonPhrases:
    """What a manager reads about a feature, for each side of its low-risk peers' average.

    ``high``: the account's value is above the low-risk accounts' average; ``low``: below.
    Both are required, even where the monotone model makes one side never risky: the CRM
    renders drivers both ways, and a phrase that is never needed costs one line.
    ``missing``: the phrase for a missing value of a ``missing_is_riskiest`` feature
    (``overdue_ratio`` of an account with one order).
    """

    high: Phrase
    low: Phrase
    missing: str | None = None


@dataclass(frozen=True)
class FeatureSpec:
    """One model input.

    reason: a phrase with ``{value}`` for the account's value, read as "why this offer"
    for pair features (one direction); for categorical features the value is the label.
    phrases: the churn reasons, one phrase per direction (``ReasonPhrases``); every account
    feature that is not ``context`` must declare them, and ``tests/code/test_reason_phrases.py``
    fails for one that does not (``phrase`` raises ``MissingPhraseError``).
    context: a fact about the account that describes it rather than explains its risk
    (tenure, first order, region, segment); the model uses it, a reason never names it.
    fmt: format spec applied to the value before it is put in ``reason`` or a template.
    churn_direction: the way churn risk must move as the value rises, where the business
    knows it: +1 "more of this is never less risk" (days without an order, complaints), -1
    "more of this is never more risk" (recent orders and revenue), 0 unknown or either way
    (derived ratios and gaps, which an order can move up or down). The churn model turns it
    into LightGBM's monotone constraints, so a manager never sees an account's risk rise
    *because* a constrained feature moved the good way; categoricals are always 0.
    either_way: a derived value (an average, a gap statistic, a concentration) that one new
    order can move up or down depending on its size and timing. No constraint can stop such
    a feature from raising risk after an order, so the monotone churn model leaves it out.
    missing_is_riskiest: for a constrained feature that an order can turn from missing into
    a value (``overdue_ratio`` of an account with one order has no usual gap yet): the
    monotone churn model ranks missing at the risky end of the axis, because LightGBM's
    constraints order values only and would let missing land anywhere.
    """

    name: str
    description: str
    reason: str
    fmt: str = ".0f"
    categorical: bool = False
    churn_direction: Literal[-1, 0, 1] = 0
    either_way: bool = False
    missing_is_riskiest: bool = False
    phrases: ReasonPhrases | None = None
    context: bool = False

    def __post_init__(self) -> None:
        if self.categorical and self.churn_direction != 0:
            raise ValueError(
                f"The 'churn_direction' of categorical feature {self.name!r} must be 0 "
                f"(LightGBM cannot constrain a categorical). Got {self.churn_direction} instead."
            )
        if self.either_way and self.churn_direction != 0:
            raise ValueError(
                f"The 'churn_direction' of either-way feature {self.name!r} must be 0. "
                f"Got {self.churn_direction} instead."
            )
        if self.missing_is_riskiest and self.churn_direction == 0:
            raise ValueError(
                f"Feature {self.name!r} with 'missing_is_riskiest' needs a churn_direction "
                f"of -1 or 1. Got 0 instead."
            )

    def phrase(
        self, direction: Direction, value: float, row: Mapping[str, object] | None = None
    ) -> str:
        """The churn reason for ``value`` on the ``direction`` side of the low-risk peers;
        ``row`` is the account's feature row, for phrases that quote another feature."""
        if self.phrases is None or self.context:
            raise MissingPhraseError(
                f"Feature {self.name!r} has no reason phrases: declare "
                f"phrases=ReasonPhrases(high=..., low=...) on its FeatureSpec, or "
                f"context=True if it describes the account rather than its risk."
            )
        if value is None or np.isnan(value):
            if self.phrases.missing is None:
                raise MissingPhraseError(
                    f"Feature {self.name!r} has no phrase for a missing value "
                    f"(ReasonPhrases.missing)."
                )
            return self.phrases.missing
        phrase = self.phrases.high if direction == "high" else self.phrases.low
        if isinstance(phrase, str):
            return phrase.format(value=format(float(value), self.fmt))
        return phrase(float(value), row if row is not None else {})

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
