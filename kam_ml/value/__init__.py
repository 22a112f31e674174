"""The 12-month account-value model: model, training, report, job.

``kam_ml.value.ValueModel`` is re-exported here because bundles exported before the package
layout pickled the class under that path; it is imported on first use so that importing a
module of this package does not load LightGBM.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ValueModel"]


def __getattr__(name: str) -> Any:
    if name == "ValueModel":
        return importlib.import_module("kam_ml.value.model").ValueModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
