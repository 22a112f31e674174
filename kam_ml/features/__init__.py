"""Point-in-time features: pure functions of (history known at T, T) -> one row per account.

``build_features`` is the single path used by training (many cutoffs) and scoring (one).
``FEATURES`` is the registry of their specs, in model column order; ``FeatureSpec`` and
``feature_registry`` are the same registry type for features built elsewhere (offer pairs).
"""

from kam_ml.features.build import (
    FEATURE_COLUMNS,
    FEATURES,
    KEY_COLUMNS,
    build_features,
    describe_reason,
)
from kam_ml.features.registry import FeatureSpec, feature_registry

__all__ = [
    "FEATURES",
    "FEATURE_COLUMNS",
    "KEY_COLUMNS",
    "FeatureSpec",
    "build_features",
    "describe_reason",
    "feature_registry",
]
