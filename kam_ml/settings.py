"""Runtime settings from the environment; built only by the CLI and the app factory."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Where models are tracked and exported, and where managers' actions are stored.

    ``MLFLOW_TRACKING_URI`` is MLflow's own variable, honoured so that a team server can
    be used without kam-ml specific configuration. ``actions_url`` (``KAM_ACTIONS_URL``)
    is the actions store; unset, it is ``actions.db`` in the nightly folder
    (``kam_ml.actions.default_actions_url``). ``publish_url`` (``KAM_PUBLISH_URL``) is the
    PostgreSQL database ``kam-ml nightly`` writes the night's scores to (``--publish``).

    ``artifact_root`` (``KAM_ARTIFACT_ROOT``, a folder or a URI such as ``s3://bucket/mlflow``)
    is where a database tracking store (``postgresql+psycopg://...``, ``mysql://...``) puts
    each experiment's artifacts, as ``<artifact_root>/<experiment>``; such a store is refused
    without it (docs/mlflow.md). A local SQLite store keeps its artifacts beside the database
    file unless it is set; an ``http(s)://`` tracking server decides for itself.

    Model integrity (README, "Model integrity"): ``bundle_key`` (``KAM_BUNDLE_KEY``) signs
    exported bundles and verifies them on load; ``trusted_root`` (``KAM_TRUSTED_ROOT``, by
    default ``models_dir``) is the only folder bundles load from; ``allow_unverified_models``
    (``KAM_ALLOW_UNVERIFIED_MODELS``) loads models nothing vouches for, as before.
    """

    model_config = SettingsConfigDict(env_prefix="KAM_", extra="ignore", populate_by_name=True)

    tracking_uri: str = Field(default="sqlite:///mlflow.db", validation_alias="MLFLOW_TRACKING_URI")
    artifact_root: str | None = None
    models_dir: Path = Path("models")
    reports_dir: Path = Path("reports")
    actions_url: str | None = None
    publish_url: str | None = None
    bundle_key: SecretStr | None = None
    trusted_root: Path | None = None
    allow_unverified_models: bool = False
