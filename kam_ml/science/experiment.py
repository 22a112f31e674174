"""The experiment API a notebook uses: load -> build -> train -> evaluate -> compare -> promote.

Every step is one call on the package's own objects, so a notebook never defines feature
or model logic::

    from kam_ml.science import experiment as ex
    tables = ex.load("data/").tables
    result = ex.train(tables)                          # the default challenger
    ex.evaluate(result)                                # model vs baselines
    comparison = ex.compare_with_champion(result, store)
    comparison.metrics, comparison.slices, comparison.band_changes
    run = ex.try_variant(tables, store, "fewer-leaves", params={"num_leaves": 7})
    ex.compare_variants(store)                         # every variant next to the champion
    outcome = ex.promote(result, tables, store, models_dir, report_dir)   # the gate decides

Variants are tracked in their own MLflow experiment (``kam-churn-variants``) with the run
name ``<variant>-<as-of>`` and tags ``kam.variant``, ``kam.kind`` and
``kam.champion_version``; they are never registered. Only ``promote`` registers a
version, through the same gate (and leakage alarm) as ``kam-ml train``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kam_ml.churn.card import ModelCard, churn_model_card
from kam_ml.churn.job import CHURN_MODEL_NAME, train_and_register_churn
from kam_ml.churn.leakage import check_leakage
from kam_ml.churn.model import ChurnModel
from kam_ml.churn.training import ChurnTrainingResult, train_churn
from kam_ml.csv_cells import write_csv
from kam_ml.data.tables import Tables
from kam_ml.data.validation import OnBadRows, ValidationResult, load_tables
from kam_ml.evaluation.classification import churn_metrics, slice_metrics
from kam_ml.features import build_features
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.labels import churn_labels
from kam_ml.problem.splits import TimeSplit, split_by_layout
from kam_ml.registry.gate import RegistrationOutcome, log_training_run, write_card
from kam_ml.registry.tracking import CHAMPION, KIND_TAG, TrackingStore
from kam_ml.scoring.score import RiskBands

__all__ = [
    "VARIANTS_EXPERIMENT",
    "ChampionComparison",
    "TrainingSet",
    "VariantRun",
    "build_training_set",
    "compare_variants",
    "compare_with_champion",
    "evaluate",
    "load",
    "promote",
    "train",
    "try_variant",
]

VARIANTS_EXPERIMENT = "kam-churn-variants"
_METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "brier", "log_loss")


@dataclass(frozen=True)
class TrainingSet:
    """Stacked feature rows, their churn labels and the backtest split, before any fit."""

    features: pd.DataFrame
    labels: np.ndarray
    split: TimeSplit
    definition: ProblemDefinition
    as_of: pd.Timestamp

    def summary(self) -> pd.DataFrame:
        """Rows and churn rate per cutoff, and which side of the split it is on."""
        frame = self.features[["cutoff"]].assign(churned=self.labels)
        out = frame.groupby("cutoff")["churned"].agg(rows="size", churn_rate="mean")
        side = {c: "train" for c in self.split.train_cutoffs}
        shared = "train + validation (account holdout)"  # same cutoff, other accounts
        side |= {c: shared if c in side else "validation" for c in self.split.validation_cutoffs}
        out["side"] = [side.get(pd.Timestamp(c), "gap") for c in out.index]
        return out


@dataclass(frozen=True)
class ChampionComparison:
    """Challenger and champion on the challenger's validation rows, side by side."""

    champion_version: str | None
    metrics: pd.DataFrame  # metric x (challenger, champion, recency, rfm)
    calibration: pd.DataFrame  # decile x (predicted by each, observed)
    slices: pd.DataFrame  # slice, value, rows, churn_rate, roc_auc_challenger/champion
    band_changes: pd.DataFrame  # accounts whose risk band differs at the newest cutoff

    @property
    def has_champion(self) -> bool:
        return self.champion_version is not None


@dataclass(frozen=True)
class VariantRun:
    """A variant trained, compared with the champion and tracked (never registered)."""

    name: str
    run_id: str
    result: ChurnTrainingResult
    comparison: ChampionComparison
    card: ModelCard


def load(source: str | Path, on_bad_rows: OnBadRows = "quarantine") -> ValidationResult:
    """Validated tables and the quarantine report (``.tables``, ``.report``)."""
    return load_tables(source, on_bad_rows=on_bad_rows)


def build_training_set(
    tables: Tables,
    as_of: pd.Timestamp | str | None = None,
    definition: ProblemDefinition | None = None,
) -> TrainingSet:
    """The rows ``train`` would fit and validate on, for inspection before training."""
    definition = definition or ProblemDefinition()
    as_of = _as_of(tables, as_of)
    layout = definition.training_layout(as_of, tables.first_date())  # adapted, as training
    features = build_features(tables, layout.cutoffs, definition)
    labels = churn_labels(tables, features, definition)
    return TrainingSet(features, labels, split_by_layout(features, layout), definition, as_of)


def train(
    tables: Tables,
    as_of: pd.Timestamp | str | None = None,
    definition: ProblemDefinition | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
) -> ChurnTrainingResult:
    """Train the churn model (default: the package's, on every feature, as of the last day).

    ``params`` are ``ChurnModel`` hyperparameters; ``features`` a subset of
    ``kam_ml.features.FEATURE_COLUMNS``.
    """
    model = ChurnModel(features=None if features is None else list(features))
    model.set_params(**dict(params or {}))
    return train_churn(tables, _as_of(tables, as_of), definition or ProblemDefinition(), model)


def evaluate(result: ChurnTrainingResult) -> pd.DataFrame:
    """Validation metrics of the model and every baseline (rows: scorers)."""
    frame = pd.DataFrame(result.metrics).T
    frame.index.name = "scorer"
    return frame


def compare_with_champion(
    result: ChurnTrainingResult, store: TrackingStore, bands: RiskBands | None = None
) -> ChampionComparison:
    """Score the current champion on the challenger's validation rows and set them side by side.

    Without a champion (or one needing features this build no longer makes) the champion
    columns are NaN and no band changes are listed.
    """
    version = store.alias_version(CHURN_MODEL_NAME, CHAMPION)
    validation = result.validation
    labels = validation["churned"].to_numpy()
    challenger = validation["churn_probability"].to_numpy()
    champion = np.full(len(validation), np.nan)
    if version is not None:
        bundle = store.load_bundle(f"models:/{CHURN_MODEL_NAME}/{version}")
        if set(bundle.feature_names) <= set(result.validation_features.columns):
            X = result.validation_features[bundle.feature_names]
            champion = bundle.model.predict_proba(X)[:, 1]
    scored = not np.isnan(champion).all()
    empty = dict.fromkeys(_METRICS, np.nan)
    metrics = pd.DataFrame(
        {
            "challenger": result.metrics["model"],
            "champion": churn_metrics(labels, champion, is_probability=True) if scored else empty,
            **{name: values for name, values in result.metrics.items() if name != "model"},
        }
    ).reindex(list(_METRICS))
    slices = slice_metrics(labels, challenger, validation[["segment", "region", "manager"]])
    slices = slices.rename(columns={"roc_auc": "roc_auc_challenger"})
    if scored:
        theirs = slice_metrics(labels, champion, validation[["segment", "region", "manager"]])
        slices["roc_auc_champion"] = theirs["roc_auc"].to_numpy()
    else:
        slices["roc_auc_champion"] = np.nan
    slices = slices[
        ["slice", "value", "rows", "churn_rate", "roc_auc_challenger", "roc_auc_champion"]
    ]
    return ChampionComparison(
        champion_version=version,
        metrics=metrics,
        calibration=_calibration(labels, challenger, champion),
        slices=slices,
        band_changes=(
            _band_changes(validation, champion, bands or RiskBands()) if scored else _no_changes()
        ),
    )


def promote(
    result: ChurnTrainingResult,
    tables: Tables,
    store: TrackingStore,
    models_dir: Path,
    report_dir: Path,
    *,
    refit: bool = True,
) -> RegistrationOutcome[ChurnTrainingResult]:
    """Register ``result`` as the challenger and let the gate decide (as ``kam-ml train``).

    The gate scores the champion on the same validation rows; a leakage alarm blocks.
    The registered version is then refit on every labelled cutoff, unless ``refit`` is
    false (``kam-ml train --no-refit``); ``result`` itself stays the held-out fit.
    """
    return train_and_register_churn(
        tables,
        result.as_of,
        result.definition,
        store,
        models_dir,
        report_dir,
        result=result,
        refit=refit,
    )


def try_variant(
    tables: Tables,
    store: TrackingStore,
    name: str,
    *,
    as_of: pd.Timestamp | str | None = None,
    definition: ProblemDefinition | None = None,
    params: Mapping[str, Any] | None = None,
    features: Sequence[str] | None = None,
    experiment: str = VARIANTS_EXPERIMENT,
    nested: bool = False,
) -> VariantRun:
    """Train a hyperparameter or feature variant and track it next to the champion.

    Logs what a registered run logs (``log_training_run``: definition, parameters, data,
    cutoffs, features, every scorer's metrics), the variant's own parameters, the champion's
    metrics on the same rows (``champion_roc_auc``, ``delta_roc_auc``), its card and the
    comparison tables.
    """
    result = train(tables, as_of, definition, params=params, features=features)
    comparison = compare_with_champion(result, store)
    card = churn_model_card(result, check_leakage(result, tables), version=f"variant:{name}")
    tags = {
        "kam.variant": name,
        KIND_TAG: "variant",
        "kam.champion_version": comparison.champion_version or "none",
        "card.grade": card.grade,
    }
    run_name = f"{name}-{result.as_of.date()}"
    with store.run(experiment, run_name=run_name, tags=tags, nested=nested) as run_id:
        champion = comparison.metrics["champion"]
        log_training_run(
            store,
            result,
            extra_params={
                "variant.params": dict(params or {}),
                "variant.n_features": len(result.feature_names),
            },
            extra_metrics={f"champion_{metric}": champion[metric] for metric in _METRICS}
            | {"delta_roc_auc": result.metrics["model"]["roc_auc"] - champion["roc_auc"]},
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = write_card(card, Path(tmp))
            write_csv(comparison.metrics, folder / "metrics_vs_champion.csv")
            write_csv(comparison.slices, folder / "slices_vs_champion.csv", index=False)
            write_csv(comparison.band_changes, folder / "band_changes.csv", index=False)
            store.log_artifacts(folder, "variant")
    return VariantRun(name, run_id, result, comparison, card)


def compare_variants(store: TrackingStore, experiment: str = VARIANTS_EXPERIMENT) -> pd.DataFrame:
    """Every tracked variant, newest first, with its metrics next to the champion's."""
    columns = [
        "run_name", "variant", "as_of", "grade", "roc_auc", "champion_roc_auc", "delta_roc_auc",
        "pr_auc", "recency_roc_auc", "champion_version", "run_id",
    ]  # fmt: skip
    rows = [
        {
            "run_name": run.run_name,
            "variant": run.tags.get("kam.variant"),
            "as_of": run.params.get("data.as_of"),
            "grade": run.tags.get("card.grade"),
            "roc_auc": run.metrics.get("model_roc_auc"),
            "champion_roc_auc": run.metrics.get("champion_roc_auc"),
            "delta_roc_auc": run.metrics.get("delta_roc_auc"),
            "pr_auc": run.metrics.get("model_pr_auc"),
            "recency_roc_auc": run.metrics.get("recency_roc_auc"),
            "champion_version": run.tags.get("kam.champion_version"),
            "run_id": run.run_id,
        }
        for run in store.search_variant_runs(experiment)
    ]
    return pd.DataFrame(rows, columns=columns)


def _as_of(tables: Tables, as_of: pd.Timestamp | str | None) -> pd.Timestamp:
    return tables.last_date() if as_of is None else pd.Timestamp(as_of).normalize()


def _calibration(labels: np.ndarray, challenger: np.ndarray, champion: np.ndarray) -> pd.DataFrame:
    """Mean predicted vs observed churn per decile of the challenger's probability."""
    decile = pd.qcut(pd.Series(challenger).rank(method="first"), 10, labels=False) + 1
    frame = pd.DataFrame(
        {"decile": decile, "challenger": challenger, "champion": champion, "observed": labels}
    )
    return frame.groupby("decile")[["challenger", "champion", "observed"]].mean()


def _band_changes(validation: pd.DataFrame, champion: np.ndarray, bands: RiskBands) -> pd.DataFrame:
    newest = (validation["cutoff"] == validation["cutoff"].max()).to_numpy()
    rows = validation.loc[newest]
    frame = pd.DataFrame(
        {
            "account_id": rows["account_id"].to_numpy(),
            "manager": rows["manager"].to_numpy(),
            "region": rows["region"].to_numpy(),
            "champion_probability": champion[newest],
            "challenger_probability": rows["churn_probability"].to_numpy(),
            "champion_band": bands.band(champion[newest]),
            "challenger_band": bands.band(rows["churn_probability"].to_numpy()),
        }
    )
    changed = frame["champion_band"] != frame["challenger_band"]
    return (
        frame.loc[changed]
        .sort_values("challenger_probability", ascending=False)
        .reset_index(drop=True)
    )


def _no_changes() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "account_id", "manager", "region", "champion_probability",
            "challenger_probability", "champion_band", "challenger_band",
        ]
    )  # fmt: skip
