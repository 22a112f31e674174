"""Exported model bundles: a joblib model plus ``metadata.json`` that describes and verifies it.

A bundle loads without the MLflow registry (the API and the nightly job can run from a
folder), so it must carry everything scoring needs and prove it is the file that was
exported: the sha256 of ``model.joblib`` is checked before unpickling, and pickles are
only loaded from a directory the caller names as trusted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib

from kam_ml.errors import BundleError
from kam_ml.problem.definition import ProblemDefinition

__all__ = ["BUNDLE_FORMAT", "ModelBundle", "load_bundle", "save_bundle"]

BUNDLE_FORMAT = 1
_MODEL_FILE = "model.joblib"
_METADATA_FILE = "metadata.json"
# what ``ModelBundle.metadata()`` writes and ``from_metadata`` needs ("extra" may be absent)
_REQUIRED = (
    "model_name",
    "version",
    "feature_names",
    "definition",
    "training_cutoffs",
    "validation_cutoffs",
    "metrics",
)


@dataclass(frozen=True)
class ModelBundle:
    """A fitted model and what it needs to be used correctly."""

    model: Any
    model_name: str
    version: str
    feature_names: list[str]
    definition: ProblemDefinition
    training_cutoffs: list[str]
    validation_cutoffs: list[str]
    metrics: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        return {
            "format": BUNDLE_FORMAT,
            "model_name": self.model_name,
            "version": self.version,
            "feature_names": self.feature_names,
            "definition": self.definition.to_dict(),
            "training_cutoffs": self.training_cutoffs,
            "validation_cutoffs": self.validation_cutoffs,
            "metrics": self.metrics,
            "extra": self.extra,
        }

    @classmethod
    def from_metadata(
        cls, model: Any, metadata: Mapping[str, Any], *, origin: str = "the bundle metadata"
    ) -> ModelBundle:
        """The bundle ``metadata()`` describes, around ``model``.

        The one parser of bundle metadata, for folder bundles (``load_bundle``) and MLflow
        versions (``TrackingStore.load_bundle``) alike, so a new field is one edit here and
        not two that can drift. ``origin`` names the metadata's source in errors. Checking
        the format and the model file stays with the loaders, which know where both came from.
        """
        missing = [key for key in _REQUIRED if key not in metadata]
        if missing:
            raise BundleError(
                f"{origin} lacks {', '.join(missing)}: a bundle's metadata needs "
                f"{', '.join(_REQUIRED)}. Export the model again."
            )
        return cls(
            model=model,
            model_name=str(metadata["model_name"]),
            version=str(metadata["version"]),
            feature_names=list(metadata["feature_names"]),
            definition=ProblemDefinition.from_dict(metadata["definition"]),
            training_cutoffs=list(metadata["training_cutoffs"]),
            validation_cutoffs=list(metadata["validation_cutoffs"]),
            metrics=dict(metadata["metrics"]),
            extra=dict(metadata.get("extra", {})),
        )


def save_bundle(bundle: ModelBundle, directory: Path) -> Path:
    """Write the bundle atomically enough for readers: model first, metadata (with hash) last."""
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / _MODEL_FILE
    joblib.dump(bundle.model, model_path)
    metadata = bundle.metadata() | {"sha256": _sha256(model_path)}
    tmp = directory / (_METADATA_FILE + ".tmp")
    tmp.write_text(json.dumps(metadata, indent=2, default=str), encoding="utf-8")
    tmp.replace(directory / _METADATA_FILE)
    return directory


def load_bundle(directory: Path, trusted_root: Path | None = None) -> ModelBundle:
    """Load and verify a bundle; refuse anything outside ``trusted_root`` or with a bad hash."""
    directory = Path(directory).resolve()
    if trusted_root is not None and not directory.is_relative_to(Path(trusted_root).resolve()):
        raise BundleError(
            f"Refusing to load a model bundle from {directory}: it is outside the trusted "
            f"folder {Path(trusted_root).resolve()}. Pickles run code when loaded."
        )
    metadata_path, model_path = directory / _METADATA_FILE, directory / _MODEL_FILE
    if not metadata_path.is_file() or not model_path.is_file():
        raise BundleError(
            f"{directory} is not a model bundle: it needs {_MODEL_FILE} and {_METADATA_FILE}."
        )
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise BundleError(f"{metadata_path} is not valid JSON: {error}.") from None
    if metadata.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{metadata_path} has bundle format {metadata.get('format')!r}; this kam-ml reads "
            f"format {BUNDLE_FORMAT}."
        )
    actual = _sha256(model_path)
    if actual != metadata.get("sha256"):
        raise BundleError(
            f"{model_path} does not match its metadata: sha256 {actual[:12]}… but "
            f"{_METADATA_FILE} records {str(metadata.get('sha256'))[:12]}…. The bundle was "
            "modified or partly written; export it again."
        )
    bundle = ModelBundle.from_metadata(joblib.load(model_path), metadata, origin=str(metadata_path))
    fitted_features = list(getattr(bundle.model, "feature_names_in_", bundle.feature_names))
    if fitted_features != bundle.feature_names:
        raise BundleError(
            f"{model_path} was fitted on features {fitted_features[:3]}… but the metadata "
            f"lists {bundle.feature_names[:3]}…."
        )
    return bundle


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
