"""Resolve ``--model``: a ``models:/`` registry URI or an exported bundle folder."""

from __future__ import annotations

from pathlib import Path

from kam_ml.bundle import ModelBundle, load_bundle
from kam_ml.errors import DefinitionError, ModelNotFoundError
from kam_ml.settings import Settings

__all__ = ["load_churn_bundle"]


def load_churn_bundle(
    model: str, settings: Settings, horizon_days: int | None = None
) -> ModelBundle:
    """Load the churn model and check the caller's horizon matches what it was trained for."""
    if model.startswith("models:/"):
        from kam_ml.tracking import TrackingStore

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
