"""The churn-risk model and what only it uses: baselines, training, leakage, card, report.

``kam_ml.churn.ChurnModel`` is re-exported here because bundles exported before the package
layout pickled the class under that path; it is imported on first use so that importing a
module of this package does not load LightGBM.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ChurnModel"]


def __getattr__(name: str) -> Any:
    if name == "ChurnModel":
        return importlib.import_module("kam_ml.churn.model").ChurnModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
