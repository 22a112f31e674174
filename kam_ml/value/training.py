"""Train the account value model on a 12-month backtest and compare it with "last 12 months".

A 365-day target needs its own cutoff layout: the newest cutoff whose window has ended is
a year before the as-of date, and training cutoffs must end their windows before the first
validation cutoff (the embargo of ``kam_ml.problem.splits``), so the stack reaches two years back.
Rows are the accounts active at a cutoff that *stayed* (ordered within the churn horizon):
the model estimates value if the account stays; churn is priced separately.
``refit_value`` fits the same model on the stayers of every labelled cutoff, once the gate
has judged the held-out fit, for the version that scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.base import clone

from kam_ml.data.tables import Tables, data_fingerprint
from kam_ml.evaluation.regression import value_metrics
from kam_ml.features import FEATURE_COLUMNS, build_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels, revenue_labels
from kam_ml.problem.splits import TimeSplit, split_by_layout
from kam_ml.registry.gate import Refit
from kam_ml.value.model import ValueModel

__all__ = [
    "VALUE_WINDOW_DAYS",
    "ValueTrainingResult",
    "naive_value",
    "refit_value",
    "train_value",
    "value_layout",
]

VALUE_WINDOW_DAYS = 365
VALUE_CUTOFFS = 24  # a year of window + a year of embargo leaves ~a year of training cutoffs


@dataclass(frozen=True)
class ValueTrainingResult:
    """Everything a value training run produced; tracking and bundles read from here."""

    model: ValueModel
    definition: ProblemDefinition  # the churn definition: "stays" and the features
    layout: ProblemDefinition  # the 365-day window's cutoff layout
    as_of: pd.Timestamp
    split: TimeSplit
    validation: pd.DataFrame  # account_id, cutoff, revenue_next_12m, expected_value, naive
    validation_features: pd.DataFrame  # the feature rows behind ``validation``, for the gate
    metrics: dict[str, dict[str, float]]  # {"model": {...}, "naive_last_12m": {...}}
    fingerprint: dict[str, str | int]
    hyperparameters: dict[str, object] = field(default_factory=dict)
    # the stayers at every labelled cutoff (train, embargoed, validation) and their revenue:
    # what ``refit_value`` fits on; None once a refit consumed them
    labelled_features: pd.DataFrame | None = None
    labelled_revenue: np.ndarray | None = None

    @property
    def feature_names(self) -> list[str]:
        return list(self.model.feature_names_in_)


def value_layout(definition: ProblemDefinition) -> ProblemDefinition:
    """The churn definition with a 365-day window and enough cutoffs for its embargo."""
    return replace(
        definition,
        horizon_days=VALUE_WINDOW_DAYS,
        training_cutoffs=max(VALUE_CUTOFFS, definition.training_cutoffs),
    )


def naive_value(features: pd.DataFrame) -> np.ndarray:
    """The baseline: next year's revenue = last year's revenue."""
    return features["revenue_365d"].to_numpy(dtype=np.float64)


def train_value(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    model: ValueModel | None = None,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
) -> ValueTrainingResult:
    """Features at every value cutoff; fit on the older stayers, validate on the newest."""
    as_of = pd.Timestamp(as_of).normalize()
    layout = value_layout(definition)
    cutoff_layout = layout.training_layout(as_of, tables.first_date())
    features = build_features(
        tables, cutoff_layout.cutoffs, definition, on_cutoff_done=on_cutoff_done
    )
    stayed = churn_labels(tables, features, definition) == 0
    revenue = revenue_labels(tables, features, definition, VALUE_WINDOW_DAYS)
    split = split_by_layout(features, cutoff_layout)

    train = split.train & stayed
    model = model if model is not None else ValueModel()
    model.fit(features.loc[train, list(FEATURE_COLUMNS)], revenue[train])

    rows = split.validation & stayed
    validation_features = features.loc[rows].reset_index(drop=True)
    validation = validation_features[["account_id", "cutoff"]].assign(
        revenue_next_12m=revenue[rows],
        expected_value=model.predict(validation_features),
        naive_last_12m=naive_value(validation_features),
    )
    metrics = {
        "model": value_metrics(validation["revenue_next_12m"], validation["expected_value"]),
        "naive_last_12m": value_metrics(
            validation["revenue_next_12m"], validation["naive_last_12m"]
        ),
    }
    return ValueTrainingResult(
        model=model,
        definition=definition,
        layout=layout,
        as_of=as_of,
        split=split,
        validation=validation,
        validation_features=validation_features,
        metrics=metrics,
        fingerprint=data_fingerprint(tables, as_of),
        hyperparameters=model.get_params(),
        labelled_features=features.loc[stayed].reset_index(drop=True),
        labelled_revenue=revenue[stayed],
    )


def refit_value(result: ValueTrainingResult) -> Refit[ValueTrainingResult]:
    """The same model fitted again on the stayers of every labelled cutoff; the held-out
    evidence stays the one the gate judged."""
    features, revenue = result.labelled_features, result.labelled_revenue
    if features is None or revenue is None:
        raise ValueError(
            "refit_value needs the result's labelled rows; this result has none (it was "
            "refit already, or built without train_value). Train it again with train_value."
        )
    model = clone(result.model)
    model.fit(features[list(FEATURE_COLUMNS)], revenue)
    cutoffs = tuple(sorted(pd.Timestamp(c) for c in features["cutoff"].unique()))
    refit = replace(result, model=model, labelled_features=None, labelled_revenue=None)
    return Refit(refit, cutoffs)
