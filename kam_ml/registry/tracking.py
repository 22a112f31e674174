"""The only module that talks to MLflow: runs, artifacts, the registry and its aliases.

Versions are addressed by alias (``challenger``, ``champion``), never by "best run by
metric": promotion is an explicit decision made in ``kam_ml.registry.gate`` and logged here.

A store talks to *its* tracking URI and leaves MLflow's process-wide one alone wherever
MLflow allows: reading (aliases, bundles, searches) goes through an ``MlflowClient`` bound to
the URI. Writing a run cannot: MLflow's flavour ``log_model`` and ``register_model`` read the
global URI and ``MlflowClient`` has no ``log_model`` (mlflow/mlflow#7392), so ``run`` sets the
global URI for the duration of the run only and puts the previous value back.

Nothing from the artifact store is unpickled before it is proven to be what was registered:
``log_model`` returns the sha256 of every file of the logged model and of the run's bundle
metadata, the gate writes them on the registered version's tags (``APPROVAL_TAGS``; the
registry, not the artifact store, holds them), and ``load_bundle`` checks the downloaded
files against those tags before MLflow opens ``model.pkl``. A version without them (one
registered before kam-ml recorded digests) loads only with ``BundleTrust.allow_unverified``.

Where artifacts go (docs/mlflow.md): a tracking server (``http(s)://``) decides itself (its
``--artifacts-destination``); a local SQLite store keeps them beside its database file; a
database store (``postgresql+psycopg://...``) has no place of its own, and MLflow would put
each new experiment's artifacts in ``./mlruns`` of whichever process created it, where no
other machine can read them. So a database store is refused without an explicit artifact
root (``KAM_ARTIFACT_ROOT``), and every experiment kam-ml creates is put under it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from kam_ml.data.sources import hide_passwords
from kam_ml.errors import BundleError, ModelNotFoundError, TrackingStoreError
from kam_ml.file_locks import exclusive_lock
from kam_ml.registry.bundle import BundleTrust, ModelBundle, file_sha256

__all__ = [
    "BUNDLE_DIGEST_TAG",
    "CHALLENGER",
    "CHAMPION",
    "KIND_TAG",
    "METADATA_DIGEST_TAG",
    "MODEL_DIGESTS_TAG",
    "LoggedModel",
    "TrackedRun",
    "TrackingStore",
    "is_database_store",
    "quiet_mlflow",
    "require_artifact_root",
    "upgrade_schema",
]

CHALLENGER = "challenger"
CHAMPION = "champion"
KIND_TAG = "kam.kind"  # what a run is: "variant" (a notebook experiment), "study" (a tuning)
_METADATA_ARTIFACT = "bundle/metadata.json"
# Version tags that approve a version's files (see the module docstring):
MODEL_DIGESTS_TAG = "kam.model_sha256"  # JSON {file in the logged model: sha256}
METADATA_DIGEST_TAG = "kam.metadata_sha256"  # sha256 of the run's bundle/metadata.json
BUNDLE_DIGEST_TAG = "kam.bundle_sha256"  # sha256 of the exported bundle's metadata.json
# Database tracking stores other than SQLite (MLflow's SQLAlchemy store; "+driver" allowed)
_DATABASE_SCHEMES = frozenset({"postgresql", "mysql", "mssql"})
_SERVER_SCHEMES = frozenset({"http", "https"})

# Warnings MLflow raises while it saves and loads a model, none of which we can act on.
# Listed rather than silenced wholesale, so that anything new still reaches the user (and
# fails the test suite, which turns warnings into errors).
_MLFLOW_NOISE: tuple[tuple[str, type[Warning]], ...] = (
    # SQLAlchemy deprecations inside MLflow's SQL store
    (r".*``noload`` loader strategy is deprecated", DeprecationWarning),
    # pandas deprecations inside MLflow's input-example and schema code
    (r".*Operation with range is deprecated", DeprecationWarning),
)


@dataclass(frozen=True)
class LoggedModel:
    """A model version that a run logged and registered."""

    name: str
    version: str
    run_id: str
    approval: dict[str, str] = field(default_factory=dict)  # the digest tags to record


@dataclass(frozen=True)
class TrackedRun:
    """A logged run as plain values, so no MLflow object leaves this module."""

    run_id: str
    run_name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class TrackingStore:
    """An MLflow tracking server (``http://...``), local store (``sqlite:///...``) or database
    store (``postgresql+psycopg://...`` with an artifact root) with its registry."""

    def __init__(
        self,
        tracking_uri: str,
        trust: BundleTrust | None = None,
        artifact_root: str | None = None,
    ) -> None:
        """``trust``: what loading a version requires (and the key the gate signs exported
        bundles with); the default verifies every version and signs nothing.
        ``artifact_root`` (``KAM_ARTIFACT_ROOT``): where new experiments keep their artifacts
        (``<artifact_root>/<experiment>``); required for a database store (the module
        docstring says why: ``TrackingStoreError`` without it), ignored by a server.
        """
        require_artifact_root(tracking_uri, artifact_root)
        self.tracking_uri = tracking_uri
        self.trust = trust or BundleTrust()
        self.artifact_root = artifact_root
        with _first_use_lock(tracking_uri):
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
        """Start a run in ``experiment`` (created under the artifact root, or beside a local
        store, if missing);
        ``nested`` starts it inside the active run (a tuning trial under its study).

        The logging methods below write to this run, so they are called inside the block.
        """
        found = self.client.get_experiment_by_name(experiment)
        experiment_id = (
            found.experiment_id
            if found is not None
            else self.client.create_experiment(
                experiment, artifact_location=self._artifact_root(experiment)
            )
        )
        with (
            _global_tracking_uri(self.tracking_uri),
            mlflow.start_run(
                experiment_id=experiment_id,
                run_name=run_name,
                tags=dict(tags or {}),
                nested=nested,
            ) as active,
        ):
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
        pyfunc_predict_fn: str = "predict",
    ) -> LoggedModel:
        """Log a scikit-learn model with signature and example, register it as a new version.

        ``pyfunc_predict_fn`` is what the pyfunc flavour calls: the churn model is logged
        with ``"predict_proba"``, so ``mlflow.pyfunc.spark_udf(..., result_type=
        "array<double>")`` gives probabilities (column 1 = churn), not 0/1 labels.

        ``LoggedModel.approval`` holds the digests of what was just written, read back from
        the artifact store at once; the gate records them on the version's tags.
        """
        import mlflow.sklearn

        example = _json_safe_frame(input_example)
        signature = infer_signature(example, output_example)
        with _quiet_mlflow():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature,
                input_example=example,
                serialization_format="cloudpickle",
                pyfunc_predict_fn=pyfunc_predict_fn,
            )
        mlflow.log_dict(dict(bundle_metadata), _METADATA_ARTIFACT)
        version = mlflow.register_model(info.model_uri, name)
        self.client.set_model_version_tag(name, version.version, "run_id", run_id)
        with tempfile.TemporaryDirectory() as tmp:
            model_dir, metadata = self._download(name, str(version.version), run_id, Path(tmp))
            files = sorted(p for p in model_dir.rglob("*") if p.is_file())
            approval = {
                MODEL_DIGESTS_TAG: json.dumps(
                    {p.relative_to(model_dir).as_posix(): file_sha256(p) for p in files}
                ),
                METADATA_DIGEST_TAG: file_sha256(metadata),
            }
        return LoggedModel(name, str(version.version), run_id, approval)

    def set_version_tags(self, name: str, version: str, tags: Mapping[str, str]) -> None:
        """Tag a registered version, so the registry alone says what it is and why."""
        for key, value in tags.items():
            self.client.set_model_version_tag(name, version, key, value)

    # -- aliases -----------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(name, alias, version)

    def alias_version(self, name: str, alias: str) -> str | None:
        try:
            return str(self.client.get_model_version_by_alias(name, alias).version)
        except MlflowException:
            return None

    def version_numbers(self, name: str) -> list[str]:
        """Every registered version of ``name``, oldest first (empty when none)."""
        try:
            versions = self.client.search_model_versions(f"name='{name}'")
        except MlflowException:
            return []
        return sorted((str(v.version) for v in versions), key=int)

    def version_run_params(self, name: str, version: str) -> dict[str, str]:
        """The parameters the run that produced ``name`` version ``version`` logged (its data
        fingerprint ``data.*``, definition ``definition.*``, ``refit``...); {} if unknown."""
        try:
            run_id = self.client.get_model_version(name, version).run_id
            return dict(self.client.get_run(run_id).data.params) if run_id else {}
        except MlflowException:
            return {}

    def approved_bundle_sha256(self, name: str, version: str) -> str | None:
        """The sha256 of the bundle metadata the gate exported for this version, if any."""
        try:
            tags = self.client.get_model_version(name, version).tags
        except MlflowException:
            return None
        return tags.get(BUNDLE_DIGEST_TAG)

    # -- loading -----------------------------------------------------------------------
    def load_bundle(self, uri: str) -> ModelBundle:
        """Load ``models:/<name>@<alias>`` or ``models:/<name>/<version>`` as a ModelBundle,
        after checking its files against the digests on the version's tags.

        Raises ``BundleError`` when the artifacts are missing, unreadable or not the ones
        registered (nothing is unpickled then), ``ModelNotFoundError`` when there is no
        such version.
        """
        name, version = self._resolve(uri)
        import mlflow.sklearn

        where = f"models:/{name}/{version}"
        model_version = self.client.get_model_version(name, version)
        approved = _approval(model_version.tags, where)
        if approved is None and not self.trust.allow_unverified:
            raise BundleError(
                f"Refusing to unpickle {where}: its version carries no {MODEL_DIGESTS_TAG} "
                "tag, so nothing proves its artifacts are the ones registered (registered "
                "before kam-ml recorded digests, or not through the gate). Train again, or "
                "set KAM_ALLOW_UNVERIFIED_MODELS=1 to load it anyway."
            )
        with tempfile.TemporaryDirectory() as tmp:
            run_id = str(model_version.run_id)
            model_dir, metadata_path = self._download(name, version, run_id, Path(tmp))
            if approved is not None:
                _verify(model_dir, metadata_path, *approved, where=where)
            try:
                with _quiet_mlflow():
                    model = mlflow.sklearn.load_model(str(model_dir))
                metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
            except (MlflowException, OSError, ValueError) as error:  # only when unverified
                raise BundleError(f"{where} could not be loaded: {error}") from None
        # the registry, not the logged metadata, says which name and version this is
        return ModelBundle.from_metadata(
            model,
            metadata | {"model_name": name, "version": version},
            origin=f"{_METADATA_ARTIFACT} of {where}",
        )

    def _download(self, name: str, version: str, run_id: str, into: Path) -> tuple[Path, Path]:
        """The version's model folder and its run's bundle metadata, downloaded into ``into``;
        an artifact store that cannot deliver them is a ``BundleError`` naming the version."""
        try:
            # Resolved here: MLflow resolves a models:/ URI with the *global* registry URI.
            model_dir = mlflow.artifacts.download_artifacts(
                artifact_uri=self.client.get_model_version_download_uri(name, version),
                dst_path=str(into / "model"),
                tracking_uri=self.tracking_uri,
            )
            metadata = mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path=_METADATA_ARTIFACT,
                dst_path=str(into / "metadata"),
                tracking_uri=self.tracking_uri,
            )
        except (MlflowException, OSError) as error:
            raise BundleError(
                f"The artifacts of models:/{name}/{version} could not be read from the "
                f"artifact store: {error}"
            ) from None
        return Path(model_dir), Path(metadata)

    # -- searching ---------------------------------------------------------------------
    def search_variant_runs(self, experiment: str) -> list[TrackedRun]:
        """The runs tagged ``kam.kind = variant`` in ``experiment``, newest first.

        Empty when the experiment does not exist yet (no variant was ever tried).
        """
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            return []
        runs = self.client.search_runs(
            [found.experiment_id],
            f"tags.`{KIND_TAG}` = 'variant'",
            order_by=["attributes.start_time DESC"],
        )
        return [
            TrackedRun(
                run_id=run.info.run_id,
                run_name=run.info.run_name,
                params=dict(run.data.params),
                metrics=dict(run.data.metrics),
                tags=dict(run.data.tags),
            )
            for run in runs
        ]

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
        """Where a new experiment's artifacts go: under the artifact root when one is set,
        else beside a local SQLite database file; never the working directory."""
        if _scheme(self.tracking_uri) in _SERVER_SCHEMES:
            return None  # the server decides (its --artifacts-destination)
        if self.artifact_root is not None:
            if "://" in self.artifact_root:
                return f"{self.artifact_root.rstrip('/')}/{experiment}"
            return (Path(self.artifact_root).expanduser().resolve() / experiment).as_uri()
        database = _sqlite_path(self.tracking_uri)
        if database is None:
            return None  # a file store keeps artifacts in its own folder
        return (database.resolve().parent / "mlartifacts" / experiment).as_uri()


def is_database_store(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` is a database other than SQLite (``postgresql+psycopg://``,
    ``mysql://``, ``mssql://``): a store with no folder of its own for artifacts."""
    return _scheme(tracking_uri) in _DATABASE_SCHEMES


def require_artifact_root(tracking_uri: str, artifact_root: str | None) -> None:
    """Raise ``TrackingStoreError`` unless a database store comes with an absolute artifact
    root (a relative one would depend on the working directory, the problem it solves)."""
    if not is_database_store(tracking_uri):
        return
    shown = hide_passwords(tracking_uri)
    if artifact_root is None or not artifact_root.strip():
        raise TrackingStoreError(
            f"The MLflow tracking URI {shown} is a database, which has no place of its own "
            "for artifacts: MLflow would write each new experiment's models into the mlruns "
            "folder of whichever process created it, where no other machine (the API, the "
            "nightly job) can read them. Either set KAM_ARTIFACT_ROOT to a folder or URI "
            "that every process reaches (each experiment's artifacts then go in a folder of "
            "its name under it), or run 'mlflow server --backend-store-uri "
            f"{shown} --artifacts-destination DIR' and set MLFLOW_TRACKING_URI to the "
            "server's http:// URI. See docs/mlflow.md."
        )
    if "://" not in artifact_root and not Path(artifact_root).expanduser().is_absolute():
        raise TrackingStoreError(
            f"KAM_ARTIFACT_ROOT must be an absolute folder or a URI (s3://..., file:///...). "
            f"Got {artifact_root!r}, which would depend on each process's working directory."
        )


def upgrade_schema(database_uri: str) -> str:
    """Run ``mlflow db upgrade`` on a database store (creating the schema in an empty one)
    and return the schema revision it is at afterwards.

    MLflow's own command, run in a child process as MLflow's CLI runs it, with the URI
    passed in the environment rather than the command line (where ``ps`` would show its
    password). Raises ``TrackingStoreError`` with MLflow's reason when it fails.
    """
    shown = hide_passwords(database_uri)
    if not (is_database_store(database_uri) or _sqlite_path(database_uri) is not None):
        raise TrackingStoreError(
            f"{shown} is not a database URI (postgresql+psycopg://..., mysql://..., "
            "sqlite:///...). A tracking server (http://...) upgrades its own database: run "
            "kam-ml db-upgrade (or mlflow db upgrade) with the server's --backend-store-uri."
        )
    program = (
        "import os, mlflow.db; "
        "mlflow.db.upgrade.main([os.environ['_KAM_UPGRADE_URI']], prog_name='mlflow db upgrade')"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        env=os.environ | {"_KAM_UPGRADE_URI": database_uri},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise TrackingStoreError(
            f"mlflow db upgrade {shown} failed: {hide_passwords(_raised(done.stderr))}"
        )
    return _schema_revision(database_uri)


def _raised(stderr: str) -> str:
    """The exception a child Python printed, without its traceback (or its last line)."""
    lines = stderr.rstrip().splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    start = frames[-1] + 1 if frames else max(len(lines) - 1, 0)
    while start < len(lines) and lines[start].startswith(" "):
        start += 1  # the frame's source line and its ^^^ markers
    message = " ".join(line.strip() for line in lines[start:] if line.strip())
    return message or "no reason given"


def _schema_revision(database_uri: str) -> str:
    """The alembic revision MLflow's schema in ``database_uri`` is at."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(database_uri)
    try:
        with engine.connect() as connection:
            revision = connection.execute(
                sqlalchemy.text("SELECT version_num FROM alembic_version")
            ).scalar()
    finally:
        engine.dispose()
    return str(revision)


def _scheme(uri: str) -> str:
    """``postgresql`` of ``postgresql+psycopg://...``; "" for a path."""
    head, found, _ = uri.partition("://")
    return head.split("+", 1)[0].lower() if found else ""


def _approval(tags: Mapping[str, str], where: str) -> tuple[dict[str, str], str] | None:
    """The approved model-file digests and metadata digest on a version's tags, or None."""
    if MODEL_DIGESTS_TAG not in tags:
        return None
    try:
        files = json.loads(tags[MODEL_DIGESTS_TAG])
    except json.JSONDecodeError:
        files = None
    if not isinstance(files, dict) or not files or METADATA_DIGEST_TAG not in tags:
        raise BundleError(f"The {MODEL_DIGESTS_TAG} tags of {where} are malformed.")
    return {str(k): str(v) for k, v in files.items()}, tags[METADATA_DIGEST_TAG]


def _verify(
    model_dir: Path, metadata: Path, files: Mapping[str, str], metadata_sha256: str, where: str
) -> None:
    """Raise unless every approved file is there with its approved sha256."""
    checks = {model_dir / rel: digest for rel, digest in files.items()} | {
        metadata: metadata_sha256
    }
    for path, expected in checks.items():
        if not path.is_file():
            raise BundleError(
                f"{where} is incomplete in the artifact store: {path.name} is missing. "
                "Refusing to load it."
            )
        actual = file_sha256(path)
        if actual != expected:
            raise BundleError(
                f"{where} is not the model that was registered: its {path.name} has sha256 "
                f"{actual[:12]}… but the registry recorded {expected[:12]}…. Refusing to "
                "unpickle it."
            )


@contextmanager
def _first_use_lock(tracking_uri: str) -> Iterator[None]:
    """Hold an exclusive file lock beside a local SQLite store while MLflow opens it.

    MLflow creates and migrates a fresh SQLite store's tables when a client first opens it,
    without a lock of its own: two processes opening a new store at once (the nightly job and
    the API, or two commands a scheduler starts together) race, and the loser stops with
    "table ... already exists". Other stores (a server, PostgreSQL) migrate on their side.
    """
    database = _sqlite_path(tracking_uri)
    if database is None or not database.parent.is_dir():
        yield  # nothing to lock beside; MLflow names what is wrong with the URI
        return
    with exclusive_lock(database.with_name(database.name + ".lock")):
        yield


def _sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI, or None for any other store."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix) or tracking_uri == prefix + ":memory:":
        return None
    return Path(tracking_uri[len(prefix) :].split("?", 1)[0])


@contextmanager
def _global_tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's process-wide tracking URI set to ``uri`` for the block, then put back.

    ``set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI`` to the environment, which
    ``Settings`` reads: a URI left behind would silently redirect later commands in the same
    process (a notebook, a test session, the API reloading its models). Unset stays unset:
    ``set_tracking_uri(None)`` is how MLflow's own ``_use_tracking_uri`` restores it.
    """
    is_set = mlflow.is_tracking_uri_set()  # type: ignore[no-untyped-call]  # MLflow's stub
    previous = mlflow.get_tracking_uri() if is_set else None
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]  # None unsets it


@contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """Silence the listed warnings MLflow raises while saving or loading a model."""
    with warnings.catch_warnings():
        for message, category in _MLFLOW_NOISE:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


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


def quiet_mlflow() -> None:
    """Silence MLflow's own chatter for a command-line run: its INFO and WARNING lines
    ("Creating initial MLflow database tables", the pickle-format advice on every model
    logged, "Successfully registered model") and its artifact progress bars. The CLI prints
    what a user needs (versions, the gate's verdict, paths); MLflow errors still raise.
    Called by the CLI only: a library import changes nobody's logging."""
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
    from mlflow.utils.logging_utils import disable_logging

    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.set(False)  # type: ignore[no-untyped-call]
    disable_logging()  # type: ignore[no-untyped-call]
