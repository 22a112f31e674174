"""The only module that talks to MLflow: runs, artifacts, the registry and its aliases.

Versions are addressed by alias (``challenger``, ``champion``), never by "best run by
metric": promotion is an explicit decision made in ``kam_ml.registry.gate`` and logged here.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from kam_ml.errors import ModelNotFoundError
from kam_ml.registry.bundle import ModelBundle

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "LoggedModel",
    "TrackingStore",
]

CHALLENGER = "challenger"
CHAMPION = "champion"
_METADATA_ARTIFACT = "bundle/metadata.json"


@dataclass(frozen=True)
class LoggedModel:
    """A model version that a run logged and registered."""

    name: str
    version: str
    run_id: str


class TrackingStore:
    """An MLflow tracking server or local store (``sqlite:///...``) with its registry."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        mlflow.set_tracking_uri(tracking_uri)
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    # -- runs --------------------------------------------------------------------------
    @contextmanager
    def run(
        self,
        experiment: str,
        run_name: str,
        tags: Mapping[str, str] | None = None,
        nested: bool = False,
    ) -> Iterator[str]:
        """Start a run in ``experiment`` (created next to a local store if missing);
        ``nested`` starts it inside the active run (a tuning trial under its study)."""
        mlflow.set_tracking_uri(self.tracking_uri)
        if self.client.get_experiment_by_name(experiment) is None:
            self.client.create_experiment(
                experiment, artifact_location=self._artifact_root(experiment)
            )
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=run_name, tags=dict(tags or {}), nested=nested) as active:
            yield active.info.run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        mlflow.log_params({key: _param(value) for key, value in params.items()})

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        finite = {k: float(v) for k, v in metrics.items() if v is not None and pd.notna(v)}
        mlflow.log_metrics(finite)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        mlflow.set_tags(dict(tags))

    def log_artifacts(self, directory: Path, artifact_path: str) -> None:
        mlflow.log_artifacts(str(directory), artifact_path=artifact_path)

    def log_model(
        self,
        model: Any,
        name: str,
        bundle_metadata: Mapping[str, Any],
        input_example: pd.DataFrame,
        output_example: Any,
        run_id: str,
    ) -> LoggedModel:
        """Log a scikit-learn model with signature and example, register it as a new version."""
        import mlflow.sklearn

        example = _json_safe_frame(input_example)
        signature = infer_signature(example, output_example)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow warns about pip inference and pickling
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature,
                input_example=example,
                serialization_format="cloudpickle",
            )
        mlflow.log_dict(dict(bundle_metadata), _METADATA_ARTIFACT)
        version = mlflow.register_model(info.model_uri, name)
        self.client.set_model_version_tag(name, version.version, "run_id", run_id)
        return LoggedModel(name=name, version=str(version.version), run_id=run_id)

    # -- aliases -----------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)

    def alias_version(self, name: str, alias: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException:
            return None

    # -- loading -----------------------------------------------------------------------
    def load_bundle(self, uri: str) -> ModelBundle:
        """Load ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` as a ModelBundle."""
        name, version = self._resolve(uri)
        import mlflow.sklearn

        model_version = self.client.get_model_version(name, version)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = mlflow.sklearn.load_model(f"models:/{name}/{version}")
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=model_version.run_id, artifact_path=_METADATA_ARTIFACT, dst_path=tmp
            )
            metadata = json.loads(Path(path).read_text(encoding="utf-8"))
        # the registry, not the logged metadata, says which name and version this is
        return ModelBundle.from_metadata(
            model,
            metadata | {"model_name": name, "version": version},
            origin=f"{_METADATA_ARTIFACT} of models:/{name}/{version}",
        )

    def _resolve(self, uri: str) -> tuple[str, str]:
        if not uri.startswith("models:/"):
            raise ModelNotFoundError(f"{uri!r} is not a models:/ URI.")
        path = uri.removeprefix("models:/")
        try:
            if "@" in path:
                name, alias = path.split("@", 1)
                return name, str(self.client.get_model_version_by_alias(name, alias).version)
            name, version = path.split("/", 1)
            return name, str(self.client.get_model_version(name, version).version)
        except (MlflowException, ValueError):
            raise ModelNotFoundError(
                f"No model at {uri} in the MLflow store {self.tracking_uri}. Train one first "
                "(kam-ml train --data DIR) or pass --model with a bundle folder."
            ) from None

    def _artifact_root(self, experiment: str) -> str | None:
        """Artifacts of a local SQLite store live beside the database file, not in the cwd."""
        if not self.tracking_uri.startswith("sqlite:///"):
            return None  # a tracking server decides where artifacts go
        database = Path(self.tracking_uri.removeprefix("sqlite:///"))
        return (database.resolve().parent / "mlartifacts" / experiment).as_uri()


def _param(value: Any) -> str:
    text = json.dumps(value, default=str) if isinstance(value, list | dict | tuple) else str(value)
    return text[:6000]


def _json_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as strings: MLflow's schema inference and JSON examples need plain types."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(str)
    return out
