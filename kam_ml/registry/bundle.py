"""Exported model bundles: a joblib model plus ``metadata.json`` that describes and verifies it.

A bundle loads without the MLflow registry (the API and the nightly job can run from a
folder), so it must carry everything scoring needs and prove it is what was approved,
*before* its pickle is opened (unpickling runs code). ``metadata.json`` records the sha256
of ``model.joblib``; that only catches accidents, since whoever can rewrite the model can
rewrite the hash beside it. What an attacker of the folder cannot forge is checked on top:

- ``metadata.json.sig``, an HMAC-SHA256 of ``metadata.json``'s bytes with a key from the
  environment (``KAM_BUNDLE_KEY``, see ``BundleTrust``), written on export when a key is
  configured;
- or the sha256 of ``metadata.json`` the registry recorded when the gate exported it
  (``approved_sha256``, the version tag ``kam.bundle_sha256``, read by the caller).

A check that can be made must pass; at least one must be made, unless the operator opted
in to unverified bundles (``BundleTrust.allow_unverified``). Bundles load only from inside
``BundleTrust.trusted_root``, which is configuration, never derived from the bundle's path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib

from kam_ml.errors import BundleError
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.settings import Settings

__all__ = [
    "BUNDLE_FORMAT",
    "BundleTrust",
    "ModelBundle",
    "bundle_identity",
    "file_sha256",
    "load_bundle",
    "save_bundle",
    "sign_bundle",
]

BUNDLE_FORMAT = 1
_MODEL_FILE = "model.joblib"
_METADATA_FILE = "metadata.json"
_SIGNATURE_FILE = "metadata.json.sig"


@dataclass(frozen=True)
class BundleTrust:
    """What a model must prove before it is unpickled, as the operator configured it.

    key: the HMAC-SHA256 key (``KAM_BUNDLE_KEY``) that signs ``metadata.json`` on export
        and verifies it on load; None writes unsigned bundles and verifies none.
    trusted_root: the only folder bundles load from (``KAM_TRUSTED_ROOT``, by default the
        models folder); None allows any folder (a library caller's own files).
    allow_unverified: load models nothing vouches for (``KAM_ALLOW_UNVERIFIED_MODELS``): a
        bundle with no valid signature and no registry approval, a registry version with no
        recorded digests (registered before kam-ml recorded them). A signature or digest
        that is present and wrong is refused regardless.
    """

    key: bytes | None = field(default=None, repr=False)
    trusted_root: Path | None = None
    allow_unverified: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> BundleTrust:
        key = settings.bundle_key.get_secret_value() if settings.bundle_key else ""
        return cls(
            key=key.encode("utf-8") or None,
            trusted_root=settings.trusted_root or settings.models_dir,
            allow_unverified=settings.allow_unverified_models,
        )


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


def save_bundle(bundle: ModelBundle, directory: Path, *, key: bytes | None = None) -> Path:
    """Write the bundle atomically enough for readers: model first, metadata (with hash) last,
    then its signature when ``key`` is given (an old signature never outlives its metadata)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / _SIGNATURE_FILE).unlink(missing_ok=True)
    model_path = directory / _MODEL_FILE
    joblib.dump(bundle.model, model_path)
    metadata = bundle.metadata() | {"sha256": file_sha256(model_path)}
    tmp = directory / (_METADATA_FILE + ".tmp")
    tmp.write_text(json.dumps(metadata, indent=2, default=str), encoding="utf-8")
    tmp.replace(directory / _METADATA_FILE)
    if key:
        sign_bundle(directory, key)
    return directory


def sign_bundle(directory: Path, key: bytes) -> Path:
    """Sign ``directory/metadata.json`` with ``key`` (``metadata.json.sig``); the metadata
    pins ``model.joblib`` by its sha256, so this approves the model too. For bundles you
    have reviewed (say, exported before signing existed); export signs on its own."""
    metadata = (Path(directory) / _METADATA_FILE).read_bytes()
    path = Path(directory) / _SIGNATURE_FILE
    path.write_text(_signature(key, metadata) + "\n", encoding="ascii")
    return path


def bundle_identity(directory: Path) -> tuple[str, str, str] | None:
    """``(model_name, version, sha256 of metadata.json)`` of a bundle folder, from its JSON
    alone (nothing unpickled), so a caller can ask the registry whether it approved it;
    None when the folder holds no readable metadata."""
    path = Path(directory) / _METADATA_FILE
    try:
        raw = path.read_bytes()
        metadata = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(metadata, dict):
        return None
    digest = hashlib.sha256(raw).hexdigest()
    return str(metadata.get("model_name")), str(metadata.get("version")), digest


def load_bundle(
    directory: Path,
    *,
    trust: BundleTrust | None = None,
    approved_sha256: str | None = None,
) -> ModelBundle:
    """Load a bundle after proving it is what was approved; nothing is unpickled before.

    Refused: a folder outside ``trust.trusted_root``; a model file that does not match its
    metadata; a signature that does not verify with ``trust.key``; metadata whose sha256 is
    not ``approved_sha256`` (what the registry recorded, when the caller could ask it); and a
    bundle that neither the key nor the registry vouches for, unless ``trust.allow_unverified``.
    """
    trust = trust or BundleTrust()
    directory = Path(directory).resolve()
    root = None if trust.trusted_root is None else Path(trust.trusted_root).resolve()
    if root is not None and not directory.is_relative_to(root):
        raise BundleError(
            f"Refusing to load a model bundle from {directory}: it is outside the trusted "
            f"folder {root} (KAM_TRUSTED_ROOT, by default KAM_MODELS_DIR). Pickles run "
            "code when loaded."
        )
    metadata_path, model_path = directory / _METADATA_FILE, directory / _MODEL_FILE
    if not metadata_path.is_file() or not model_path.is_file():
        raise BundleError(
            f"{directory} is not a model bundle: it needs {_MODEL_FILE} and {_METADATA_FILE}."
        )
    raw = metadata_path.read_bytes()
    try:
        metadata = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BundleError(f"{metadata_path} is not valid JSON: {error}.") from None
    if metadata.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"{metadata_path} has bundle format {metadata.get('format')!r}; this kam-ml reads "
            f"format {BUNDLE_FORMAT}."
        )
    actual = file_sha256(model_path)
    if actual != metadata.get("sha256"):
        raise BundleError(
            f"{model_path} does not match its metadata: sha256 {actual[:12]}… but "
            f"{_METADATA_FILE} records {str(metadata.get('sha256'))[:12]}…. The bundle was "
            "modified or partly written; export it again."
        )
    _check_approval(directory, raw, trust, approved_sha256)
    bundle = ModelBundle.from_metadata(joblib.load(model_path), metadata, origin=str(metadata_path))
    fitted_features = list(getattr(bundle.model, "feature_names_in_", bundle.feature_names))
    if fitted_features != bundle.feature_names:
        raise BundleError(
            f"{model_path} was fitted on features {fitted_features[:3]}… but the metadata "
            f"lists {bundle.feature_names[:3]}…."
        )
    return bundle


def _check_approval(
    directory: Path, metadata: bytes, trust: BundleTrust, approved_sha256: str | None
) -> None:
    """Raise unless the key or the registry vouches for ``metadata`` (or the operator opted
    in to unverified bundles); a check that can be made and fails always raises."""
    vouched = []
    signature_path = directory / _SIGNATURE_FILE
    if trust.key and signature_path.is_file():
        found = signature_path.read_text(encoding="ascii", errors="replace").strip()
        if not hmac.compare_digest(found, _signature(trust.key, metadata)):
            raise BundleError(
                f"{directory} is not the bundle that was exported: {_SIGNATURE_FILE} does not "
                f"verify {_METADATA_FILE} with KAM_BUNDLE_KEY (modified, or signed with "
                "another key). Refusing to unpickle it."
            )
        vouched.append("signature")
    if approved_sha256 is not None:
        actual = hashlib.sha256(metadata).hexdigest()
        if not hmac.compare_digest(actual, approved_sha256):
            raise BundleError(
                f"{directory} is not the bundle that was approved: its {_METADATA_FILE} has "
                f"sha256 {actual[:12]}… but the registry recorded {approved_sha256[:12]}… when "
                "the gate exported it. Refusing to unpickle it; export it again."
            )
        vouched.append("registry")
    if not vouched and not trust.allow_unverified:
        how = "it is unsigned" if not signature_path.is_file() else "no KAM_BUNDLE_KEY is set"
        raise BundleError(
            f"Refusing to unpickle {directory}: nothing vouches for it ({how}, and no MLflow "
            "registry version records its digest). Set KAM_BUNDLE_KEY to the key it was "
            "exported with, point MLFLOW_TRACKING_URI at the store that registered it, or "
            "set KAM_ALLOW_UNVERIFIED_MODELS=1 to load it anyway."
        )


def _signature(key: bytes, metadata: bytes) -> str:
    return "hmac-sha256:" + hmac.new(key, metadata, hashlib.sha256).hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
