"""Optional hyperparameter search with Optuna; each trial is a nested MLflow variant run.

Optuna is an optional dependency (``pip install 'kam-ml[tune]'``) imported only here and
only when ``tune`` is called. Trials maximise validation ROC-AUC, so the best trial's
score is optimistic: compare it with the champion through ``experiment.promote`` on fresh
data (the next retrain), not on the rows it was tuned on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.tracking import TrackingStore
from kam_ml.science.experiment import VARIANTS_EXPERIMENT, try_variant

__all__ = ["DEFAULT_SPACE", "tune"]

SearchSpace = Mapping[str, Callable[[Any], Any]]

DEFAULT_SPACE: SearchSpace = {
    "num_leaves": lambda trial: trial.suggest_int("num_leaves", 4, 63, log=True),
    "learning_rate": lambda trial: trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
    "n_estimators": lambda trial: trial.suggest_int("n_estimators", 50, 500, log=True),
    "min_child_samples": lambda trial: trial.suggest_int("min_child_samples", 10, 200, log=True),
}


def tune(
    tables: Tables,
    store: TrackingStore,
    n_trials: int,
    *,
    as_of: pd.Timestamp | str | None = None,
    definition: ProblemDefinition | None = None,
    space: SearchSpace = DEFAULT_SPACE,
    seed: int = 0,
    name: str = "tune",
) -> pd.DataFrame:
    """Run ``n_trials`` variants under one parent run; return one row per trial.

    Columns: trial, the sampled parameters, roc_auc, champion_roc_auc, run_id.
    """
    try:
        import optuna
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "kam_ml.science.tuning.tune needs Optuna: pip install 'kam-ml[tune]' (or optuna)."
        ) from error

    rows: list[dict[str, Any]] = []

    def objective(trial: Any) -> float:
        params = {key: suggest(trial) for key, suggest in space.items()}
        run = try_variant(
            tables,
            store,
            f"{name}-trial-{trial.number}",
            as_of=as_of,
            definition=definition,
            params=params,
            nested=True,
        )
        auc = float(run.result.metrics["model"]["roc_auc"])
        rows.append(
            {"trial": trial.number, **params, "roc_auc": auc,
             "champion_roc_auc": float(run.comparison.metrics.loc["roc_auc", "champion"]),
             "run_id": run.run_id}
        )  # fmt: skip
        return auc

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    tags = {"kam.kind": "study", "kam.variant": name}
    with store.run(VARIANTS_EXPERIMENT, run_name=f"{name}-study", tags=tags):
        study.optimize(objective, n_trials=n_trials)
        store.log_params({f"best.{k}": v for k, v in study.best_params.items()})
        store.log_metrics({"best_roc_auc": study.best_value, "trials": float(n_trials)})
    return pd.DataFrame(rows)
