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
    "Tables": "kam_ml.data.tables",
    "ProblemDefinition": "kam_ml.problem.definition",
    "load_tables": "kam_ml.data.validation",
    "validate_tables": "kam_ml.data.validation",
    "generate_demo_data": "kam_ml.demo.generate",
    "generate_btyd_book": "kam_ml.demo.btyd_book",
    "BookShape": "kam_ml.demo.btyd_book",
    "FEATURE_COLUMNS": "kam_ml.features.build",
    # what managers did (the outcomes a backtest of the list needs)
    "ActionKind": "kam_ml.actions.record",
    "open_action_store": "kam_ml.actions.store",
    # the estimators (kam_ml.churn.ChurnModel etc. stay valid for old pickles)
    "ChurnModel": "kam_ml.churn.model",
    "OfferRanker": "kam_ml.offers.ranker",
    "ValueModel": "kam_ml.value.model",
    # exploration
    "book_overview": "kam_ml.science.exploration",
    "cohort_retention": "kam_ml.science.exploration",
    "order_gaps": "kam_ml.science.exploration",
    "pre_churn_trajectories": "kam_ml.science.exploration",
    # experiment workflow
    "TrainingSet": "kam_ml.science.experiment",
    "ChampionComparison": "kam_ml.science.experiment",
    "VariantRun": "kam_ml.science.experiment",
    "load": "kam_ml.science.experiment",
    "build_training_set": "kam_ml.science.experiment",
    "train": "kam_ml.science.experiment",
    "evaluate": "kam_ml.science.experiment",
    "compare_with_champion": "kam_ml.science.experiment",
    "promote": "kam_ml.science.experiment",
    "try_variant": "kam_ml.science.experiment",
    "compare_variants": "kam_ml.science.experiment",
    "tune": "kam_ml.science.tuning",
    "TrackingStore": "kam_ml.registry.tracking",
    # training jobs: one registration path (kam_ml.registry.gate) for every model
    "train_and_register_churn": "kam_ml.churn.job",
    "train_and_register_offers": "kam_ml.offers.job",
    "train_and_register_value": "kam_ml.value.job",
    "RegistrationOutcome": "kam_ml.registry.gate",
    "Skipped": "kam_ml.registry.gate",
    # cards, grades, alarms, backtests
    "ModelCard": "kam_ml.churn.card",
    "Grade": "kam_ml.evaluation.grades",
    "GradeThresholds": "kam_ml.evaluation.grades",
    "grade": "kam_ml.evaluation.grades",
    "churn_model_card": "kam_ml.churn.card",
    "offers_grade": "kam_ml.offers.report",
    "value_grade": "kam_ml.value.report",
    "LeakageReport": "kam_ml.churn.leakage",
    "check_leakage": "kam_ml.churn.leakage",
    "lost_revenue_backtest": "kam_ml.science.backtest",
    "summarise_capture": "kam_ml.science.backtest",
    # CDNOW and BG/NBD
    "fetch_cdnow": "kam_ml.science.cdnow",
    "cached_cdnow": "kam_ml.science.cdnow",
    "load_cdnow": "kam_ml.science.cdnow",
    "load_cdnow_tables": "kam_ml.science.cdnow",
    "BetaGeoModel": "kam_ml.science.btyd",
    "rfm_summary": "kam_ml.science.btyd",
    "run_churn_benchmark": "kam_ml.science.cdnow_benchmark",
    "benchmark_markdown": "kam_ml.science.cdnow_benchmark",
    "fhl2005_check": "kam_ml.science.cdnow_benchmark",
    "forward_churn_scores": "kam_ml.science.cdnow_benchmark",
    "btyd_oracle_check": "kam_ml.science.cdnow_benchmark",
    "oracle_markdown": "kam_ml.science.cdnow_benchmark",
    "CDNOW_SAMPLE": "kam_ml.science.cdnow",
    "default_cache_dir": "kam_ml.science.cdnow",
    "DEFAULT_SETTINGS": "kam_ml.science.cdnow_benchmark",
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
