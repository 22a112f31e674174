"""Resolve ``--model``: a ``models:/`` registry URI or an exported bundle folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kam_ml.errors import DefinitionError, ModelNotFoundError
from kam_ml.registry.bundle import ModelBundle, load_bundle
from kam_ml.settings import Settings

if TYPE_CHECKING:
    from kam_ml.scoring.score import ScoringModels

OFFERS_MODEL, VALUE_MODEL = "kam-offers", "kam-value"

__all__ = ["load_churn_bundle", "load_scoring_models"]


def load_churn_bundle(
    model: str, settings: Settings, horizon_days: int | None = None
) -> ModelBundle:
    """Load the churn model and check the caller's horizon matches what it was trained for."""
    if model.startswith("models:/"):
        from kam_ml.registry.tracking import TrackingStore

        bundle = TrackingStore(settings.tracking_uri).load_bundle(model)
    else:
        path = Path(model)
        if not path.exists():
            raise ModelNotFoundError(f"No model bundle at {path}.")
        bundle = load_bundle(path, trusted_root=path.resolve().parent)
    if horizon_days is not None and horizon_days != bundle.definition.horizon_days:
        raise DefinitionError(
            f"{bundle.model_name} v{bundle.version} predicts churn over "
            f"{bundle.definition.horizon_days} days; --horizon-days {horizon_days} needs a model "
            f"trained for it (kam-ml train --horizon-days {horizon_days})."
        )
    return bundle


def load_scoring_models(
    model: str, settings: Settings, horizon_days: int | None = None
) -> ScoringModels:
    """The churn model from ``model`` plus the offers and value champions when they exist.

    With a ``models:/`` URI the others are the registry's ``@champion`` versions; with a
    bundle folder they are the exported bundles beside it (``kam-offers``, ``kam-value``).
    """
    from kam_ml.scoring.score import ScoringModels

    churn = load_churn_bundle(model, settings, horizon_days)
    if model.startswith("models:/"):
        from kam_ml.registry.tracking import TrackingStore

        store = TrackingStore(settings.tracking_uri)
        found = {
            name: store.load_bundle(f"models:/{name}@champion")
            if store.alias_version(name, "champion") is not None
            else None
            for name in (OFFERS_MODEL, VALUE_MODEL)
        }
    else:
        folder = Path(model).resolve().parent
        found = {
            name: load_bundle(folder / name, trusted_root=folder)
            if (folder / name).is_dir()
            else None
            for name in (OFFERS_MODEL, VALUE_MODEL)
        }
    return ScoringModels(churn=churn, offers=found[OFFERS_MODEL], value=found[VALUE_MODEL])
