"""Pickle shim: bundles exported before the package move name this class; now ``ChurnModel``."""

from kam_ml.churn.model import ChurnModel as FeatureSubsetChurnModel

__all__ = ["FeatureSubsetChurnModel"]
