"""Train the churn model on stacked cutoffs, evaluate it against the baselines, refit it.

``train_churn`` fits on the training side of the split and measures on the held-out
cutoffs (the gate's evidence); ``refit_churn`` then fits the same estimator on every
labelled cutoff, the newest calibrating, for the version that scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sklearn.base import clone

from kam_ml.churn.baselines import BASELINES
from kam_ml.churn.model import ChurnModel
from kam_ml.data.tables import Tables, data_fingerprint
from kam_ml.errors import NotEnoughHistoryError
from kam_ml.evaluation.classification import churn_metrics, slice_metrics
from kam_ml.features import KEY_COLUMNS, build_features
from kam_ml.features.build import FEATURE_GROUPS
from kam_ml.features.registry import FeatureGroup
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels
from kam_ml.problem.splits import TimeSplit, split_by_layout
from kam_ml.registry.gate import Refit

__all__ = ["ChurnTrainingResult", "evaluate_churn_model", "refit_churn", "train_churn"]

SLICE_COLUMNS = ("segment", "region", "manager")


@dataclass(frozen=True)
class ChurnTrainingResult:
    """Everything a training run produced; tracking and bundles read from here."""

    model: ChurnModel
    definition: ProblemDefinition
    as_of: pd.Timestamp
    split: TimeSplit
    validation: pd.DataFrame  # account_id, cutoff, churned, churn_probability, baselines, slices
    validation_features: pd.DataFrame  # the feature rows behind ``validation``, for the gate
    metrics: dict[str, dict[str, float]]  # {"model": {...}, "recency": {...}, "rfm": {...}}
    slices: pd.DataFrame
    fingerprint: dict[str, str | int]
    hyperparameters: dict[str, object] = field(default_factory=dict)
    # every labelled row (train, embargoed and validation cutoffs) and its label: what
    # ``refit_churn`` fits on; None once a refit consumed them
    labelled_features: pd.DataFrame | None = None
    labelled_labels: np.ndarray | None = None

    @property
    def feature_names(self) -> list[str]:
        return list(self.model.feature_names_in_)


def train_churn(
    tables: Tables,
    as_of: pd.Timestamp,
    definition: ProblemDefinition,
    model: ChurnModel | None = None,
    on_cutoff_done: Callable[[pd.Timestamp], None] | None = None,
    groups: Sequence[FeatureGroup] = FEATURE_GROUPS,
) -> ChurnTrainingResult:
    """Build features at every training cutoff, fit on the older ones, validate on the newest.

    ``groups`` are the feature groups to build (production's unless the feature ablation
    adds candidates); the model is fitted on all their columns.
    """
    as_of = pd.Timestamp(as_of).normalize()
    layout = definition.training_layout(as_of, tables.first_date())
    features = build_features(
        tables, layout.cutoffs, definition, on_cutoff_done=on_cutoff_done, groups=groups
    )
    labels = churn_labels(tables, features, definition)
    split = split_by_layout(features, layout)
    _require_both_outcomes(as_of, "at the training cutoffs", features, labels, split.train)

    train_rows = features.loc[split.train]
    newest_train_cutoff = split.train_cutoffs[-1]
    calibration_mask = (train_rows["cutoff"] == newest_train_cutoff).to_numpy()
    newest = (features["cutoff"] == newest_train_cutoff).to_numpy()
    where = f"at the calibrating cutoff {newest_train_cutoff.date()}"
    _require_both_outcomes(as_of, where, features, labels, split.train & newest)
    _require_rows(as_of, "at the training cutoffs before it", split.train & ~newest)
    _require_both_outcomes(as_of, "at the validation cutoffs", features, labels, split.validation)
    model = model if model is not None else ChurnModel()
    model.fit(
        train_rows[_feature_columns(features)],
        labels[split.train],
        calibration_mask=calibration_mask,
    )

    validation_rows = features.loc[split.validation].reset_index(drop=True)
    validation, metrics, slices = evaluate_churn_model(
        model, validation_rows, labels[split.validation], tables
    )
    return ChurnTrainingResult(
        model=model,
        definition=definition,
        as_of=as_of,
        split=split,
        validation=validation,
        validation_features=validation_rows,
        metrics=metrics,
        slices=slices,
        fingerprint=data_fingerprint(tables, as_of),
        hyperparameters=model.get_params(),
        labelled_features=features,
        labelled_labels=labels,
    )


def refit_churn(result: ChurnTrainingResult) -> Refit[ChurnTrainingResult]:
    """The same estimator fitted again on every labelled cutoff, the newest calibrating.

    The held-out evidence (validation rows, metrics, split) stays the one the gate judged;
    only the model changes, so the version that scores has seen the newest labelled year.
    """
    features, labels = result.labelled_features, result.labelled_labels
    if features is None or labels is None:
        raise ValueError(
            "refit_churn needs the result's labelled rows; this result has none (it was "
            "refit already, or built without train_churn). Train it again with train_churn."
        )
    newest = (features["cutoff"] == features["cutoff"].max()).to_numpy()
    model = clone(result.model)
    model.fit(features[_feature_columns(features)], labels, calibration_mask=newest)
    cutoffs = tuple(sorted(pd.Timestamp(c) for c in features["cutoff"].unique()))
    refit = replace(result, model=model, labelled_features=None, labelled_labels=None)
    return Refit(refit, cutoffs)


def _require_rows(as_of: pd.Timestamp, where: str, rows: np.ndarray) -> None:
    if not rows.any():
        raise NotEnoughHistoryError(
            f"Cannot train the churn model at {as_of.date()}: no account is active {where}. "
            "Check the orders table, or train at a later as-of date."
        )


def _require_both_outcomes(
    as_of: pd.Timestamp, where: str, features: pd.DataFrame, labels: np.ndarray, rows: np.ndarray
) -> None:
    """Training, calibrating and judging a churn model each need accounts that churned and
    accounts that stayed: with one outcome there is nothing to learn, calibrate or rank, and
    the gate would promote a model its metrics (ROC-AUC undefined) cannot judge."""
    _require_rows(as_of, where, rows)
    churned = int(labels[rows].sum())
    total = int(rows.sum())
    if 0 < churned < total:
        return
    accounts = features.loc[rows, "account_id"].nunique()
    outcome = "churned" if churned else "stayed"
    raise NotEnoughHistoryError(
        f"Cannot train the churn model at {as_of.date()}: {where} every one of the "
        f"{total:,} active-account rows ({accounts:,} account{'' if accounts == 1 else 's'}) "
        f"{outcome}, and a churn model "
        "needs accounts that churned and accounts that stayed. Check the orders table (an "
        "export that stops early makes every account look churned), or train at another "
        "as-of date."
    )


def _feature_columns(features: pd.DataFrame) -> list[str]:
    return [c for c in features.columns if c not in KEY_COLUMNS]


def evaluate_churn_model(
    model: ChurnModel, features: pd.DataFrame, labels: np.ndarray, tables: Tables
) -> tuple[pd.DataFrame, dict[str, dict[str, float]], pd.DataFrame]:
    """Score validation rows with the model and every baseline; metrics overall and by slice."""
    probability = model.predict_proba(features[list(model.feature_names_in_)])[:, 1]
    accounts = tables.accounts.set_index("account_id")
    validation = pd.DataFrame(
        {
            "account_id": features["account_id"].to_numpy(),
            "cutoff": features["cutoff"].to_numpy(),
            "churned": labels.astype(int),
            "churn_probability": probability,
            "revenue_365d": features["revenue_365d"].to_numpy(),
        }
    )
    metrics = {"model": churn_metrics(labels, probability, is_probability=True)}
    for name, baseline in BASELINES.items():
        validation[f"baseline_{name}"] = baseline(features)
        metrics[name] = churn_metrics(labels, validation[f"baseline_{name}"], is_probability=False)
    for column in SLICE_COLUMNS:
        validation[column] = accounts[column].reindex(validation["account_id"]).to_numpy()
    slices = slice_metrics(labels, probability, validation[list(SLICE_COLUMNS)])
    return validation, metrics, slices
