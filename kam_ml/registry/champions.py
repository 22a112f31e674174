"""The champion models a scoring job or the API uses, and the call into ``kam_ml.scoring.score``.

Churn is required; offers and value models are optional (they are scored when a champion
exists). ``score_with`` calls the one scoring path with whatever it accepts, so the nightly
job and the API share it whether it takes the churn bundle alone or the full
``ScoringModels`` with offers and a population.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kam_ml.errors import KamMLError, ModelNotFoundError
from kam_ml.registry.bundle import ModelBundle, load_bundle
from kam_ml.scoring.score import ScoringModels, score_features

__all__ = ["ChampionSource", "load_champions", "score_with"]

CHURN, OFFERS, VALUE = "kam-churn", "kam-offers", "kam-value"


@dataclass(frozen=True)
class ChampionSource:
    """Where champions come from: an MLflow store (``models:/<name>@champion``) and/or a
    folder of exported bundles (``<models_dir>/<name>``), tried in that order."""

    tracking_uri: str | None = None
    models_dir: Path | None = None
    churn_uri: str = f"models:/{CHURN}@champion"

    def churn_version(self) -> str | None:
        """The registry's current champion version (cheap: one registry call), if any."""
        if not _registry(self.tracking_uri) or not self.churn_uri.startswith("models:/"):
            return None
        from kam_ml.registry.tracking import TrackingStore

        name, _, alias = self.churn_uri.removeprefix("models:/").partition("@")
        return TrackingStore(str(self.tracking_uri)).alias_version(name, alias or "champion")


def load_champions(source: ChampionSource) -> ScoringModels:
    """Load churn (required) and the offers and value champions when they exist."""
    churn = _load(source, CHURN, source.churn_uri)
    if churn is None:
        raise ModelNotFoundError(
            f"No churn model at {source.churn_uri} (MLflow store {source.tracking_uri}) nor a "
            f"bundle in {source.models_dir}. Train one first: kam-ml train --data DIR."
        )
    offers = _load(source, OFFERS, f"models:/{OFFERS}@champion")
    value = _load(source, VALUE, f"models:/{VALUE}@champion")
    return ScoringModels(churn=churn, offers=offers, value=value)


def score_with(
    features: pd.DataFrame,
    models: ScoringModels,
    population: Any | None = None,
    k_offers: int = 3,
    tables: Any | None = None,
) -> pd.DataFrame:
    """``kam_ml.scoring.score.score_features`` called with the arguments its signature takes
    (``tables``: the history the features were built from; offers are ranked from it)."""
    parameters = inspect.signature(score_features).parameters
    if "models" in parameters:
        kwargs: dict[str, Any] = {"models": models}
        if "k_offers" in parameters:
            kwargs["k_offers"] = k_offers
        if "population" in parameters and population is not None:
            kwargs["population"] = population
        if "tables" in parameters and tables is not None:
            kwargs["tables"] = tables
        return score_features(features, **kwargs)
    return score_features(features, models.churn)


def _registry(tracking_uri: str | None) -> bool:
    """Whether there is a store to ask (a missing SQLite file would be created, empty)."""
    if tracking_uri is None:
        return False
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///")).is_file()
    return True


def _load(source: ChampionSource, name: str, uri: str) -> ModelBundle | None:
    if _registry(source.tracking_uri) and uri.startswith("models:/"):
        from kam_ml.registry.tracking import TrackingStore

        try:
            return TrackingStore(str(source.tracking_uri)).load_bundle(uri)
        except ModelNotFoundError:
            pass
    elif not uri.startswith("models:/"):
        return load_bundle(Path(uri), trusted_root=Path(uri).resolve().parent)
    if source.models_dir is not None and (Path(source.models_dir) / name).is_dir():
        try:
            return load_bundle(Path(source.models_dir) / name, trusted_root=source.models_dir)
        except KamMLError:
            return None
    return None
