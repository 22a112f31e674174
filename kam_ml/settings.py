"""Runtime settings from the environment; built only by the CLI and the app factory."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Where models are tracked and exported.

    ``MLFLOW_TRACKING_URI`` is MLflow's own variable, honoured so that a team server can
    be used without kam-ml specific configuration.
    """

    model_config = SettingsConfigDict(env_prefix="KAM_", extra="ignore", populate_by_name=True)

    tracking_uri: str = Field(default="sqlite:///mlflow.db", validation_alias="MLFLOW_TRACKING_URI")
    models_dir: Path = Path("models")
    reports_dir: Path = Path("reports")
