"""kam-ml: churn risk, next-best-offer and account value for key account management.

The names below are the documented API for notebooks and scripts (``from kam_ml import
train, compare_with_champion``). They are imported on first use, not at ``import kam_ml``,
so the CLI and the API do not pay for MLflow or LightGBM until they need them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # data
    "Tables": "kam_ml.tables",
    "ProblemDefinition": "kam_ml.definitions",
    "load_tables": "kam_ml.validation",
    "validate_tables": "kam_ml.validation",
    "generate_demo_data": "kam_ml.demo_data",
    # experiment workflow
    "TrainingSet": "kam_ml.experiment",
    "ChampionComparison": "kam_ml.experiment",
    "VariantRun": "kam_ml.experiment",
    "load": "kam_ml.experiment",
    "build_training_set": "kam_ml.experiment",
    "train": "kam_ml.experiment",
    "evaluate": "kam_ml.experiment",
    "compare_with_champion": "kam_ml.experiment",
    "promote": "kam_ml.experiment",
    "try_variant": "kam_ml.experiment",
    "compare_variants": "kam_ml.experiment",
    "tune": "kam_ml.tuning",
    "TrackingStore": "kam_ml.tracking",
    # cards, grades, alarms, backtests
    "ModelCard": "kam_ml.cards",
    "GradeThresholds": "kam_ml.cards",
    "grade": "kam_ml.cards",
    "churn_model_card": "kam_ml.cards",
    "LeakageReport": "kam_ml.leakage",
    "check_leakage": "kam_ml.leakage",
    "lost_revenue_backtest": "kam_ml.money_backtest",
    "summarise_capture": "kam_ml.money_backtest",
    # CDNOW and BG/NBD
    "fetch_cdnow": "kam_ml.cdnow",
    "cached_cdnow": "kam_ml.cdnow",
    "load_cdnow": "kam_ml.cdnow",
    "load_cdnow_tables": "kam_ml.cdnow",
    "BetaGeoModel": "kam_ml.btyd",
    "rfm_summary": "kam_ml.btyd",
    "run_churn_benchmark": "kam_ml.cdnow_benchmark",
    "benchmark_markdown": "kam_ml.cdnow_benchmark",
    "fhl2005_check": "kam_ml.cdnow_benchmark",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kam_ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
