"""Serving settings from the environment (``KAM_*``); built by ``get_settings`` only."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from kam_ml.registry.champions import MODEL_NAMES, champion_uri

__all__ = ["ServingSettings", "get_settings"]


class ServingSettings(BaseSettings):
    """What the API serves and who may call it.

    api_keys: comma-separated keys accepted in the ``X-API-Key`` header (``KAM_API_KEYS``);
        with none configured every request to a protected route gets 401.
    nightly_dir: the ``kam-ml nightly --out`` folder; its latest night is served.
    churn_model: ``models:/<name>@<alias>`` or a bundle folder.
    reload_interval_seconds: how often to look for a new night or a new champion.
    """

    model_config = SettingsConfigDict(env_prefix="KAM_", extra="ignore", populate_by_name=True)

    api_keys: str = ""
    nightly_dir: Path | None = None
    churn_model: str = champion_uri(MODEL_NAMES.churn)
    tracking_uri: str = Field(default="sqlite:///mlflow.db", validation_alias="MLFLOW_TRACKING_URI")
    models_dir: Path = Path("models")
    reload_interval_seconds: float = 10.0
    max_batch: int = 1000
    max_history_rows: int = 50_000

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())


@lru_cache
def get_settings() -> ServingSettings:
    return ServingSettings()
