"""One scoring path, shared by ``kam-ml score``, the nightly job and the API."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kam_ml.bundle import ModelBundle
from kam_ml.explain import top_reasons
from kam_ml.features import build_features
from kam_ml.tables import Tables

__all__ = ["RiskBands", "ScoringModels", "score_accounts", "score_features"]


@dataclass(frozen=True)
class ScoringModels:
    """The champion bundles a scoring run uses; offers and value are optional until trained."""

    churn: ModelBundle
    offers: ModelBundle | None = None
    value: ModelBundle | None = None

    def versions(self) -> dict[str, str | None]:
        return {
            "churn": self.churn.version,
            "offers": self.offers.version if self.offers else None,
            "value": self.value.version if self.value else None,
        }


@dataclass(frozen=True)
class RiskBands:
    """Calibrated-probability thresholds: ``high`` >= 0.5 (likelier to churn than not),
    ``medium`` >= 0.25 (about twice the typical base rate), ``low`` below."""

    high: float = 0.5
    medium: float = 0.25

    def band(self, probability: np.ndarray) -> np.ndarray:
        return np.select(
            [probability >= self.high, probability >= self.medium], ["high", "medium"], "low"
        ).astype(object)


def score_accounts(
    tables: Tables,
    as_of: pd.Timestamp,
    churn: ModelBundle,
    bands: RiskBands = RiskBands(),
    n_reasons: int = 3,
) -> pd.DataFrame:
    """Score every account active at ``as_of`` with the bundle's own problem definition."""
    features = build_features(tables, pd.Timestamp(as_of), churn.definition)
    return score_features(features, churn, bands, n_reasons)


def score_features(
    features: pd.DataFrame,
    churn: ModelBundle,
    bands: RiskBands = RiskBands(),
    n_reasons: int = 3,
) -> pd.DataFrame:
    """Scores for prepared feature rows: the same rows training built for that cutoff."""
    X = features[churn.feature_names]
    probability = churn.model.predict_proba(X)[:, 1]
    reasons = top_reasons(churn.model.contributions(X), X, n_reasons) if len(X) else []
    return pd.DataFrame(
        {
            "account_id": features["account_id"].to_numpy(dtype=object),
            "as_of": features["cutoff"].to_numpy(),
            "churn_probability": probability,
            "risk_band": bands.band(probability),
            "reasons": pd.Series(reasons, dtype=object),
            "churn_model_version": churn.version,
        }
    )
