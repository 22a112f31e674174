"""Point-in-time features: pure functions of (history known at T, T) -> one row per account.

``build_features`` is the single path used by training (many cutoffs) and scoring (one).
"""

from kam_ml.features.build import FEATURE_COLUMNS, KEY_COLUMNS, build_features
from kam_ml.features.registry import FEATURES, FeatureSpec, describe_reason

__all__ = [
    "FEATURES",
    "FEATURE_COLUMNS",
    "KEY_COLUMNS",
    "FeatureSpec",
    "build_features",
    "describe_reason",
]
