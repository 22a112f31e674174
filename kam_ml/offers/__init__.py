"""The next-best-offer model: candidates, pair features, rules, reasons, training, report.

``kam_ml.offers.OfferRanker`` is re-exported here because bundles exported before the package
layout pickled the class under that path; it is imported on first use so that importing a
module of this package does not load LightGBM.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["OfferRanker"]


def __getattr__(name: str) -> Any:
    if name == "OfferRanker":
        return importlib.import_module("kam_ml.offers.ranker").OfferRanker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
