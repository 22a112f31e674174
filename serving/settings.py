"""Serving settings from the environment (``KAM_*``); built by ``get_settings`` only."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from kam_ml.actions import default_actions_url
from kam_ml.registry.champions import MODEL_NAMES, champion_uri
from kam_ml.settings import Settings

__all__ = ["NO_KEYS", "ServingSettings", "get_settings"]

NO_KEYS = "no API keys configured (KAM_API_KEYS): every protected route answers 401"


class ServingSettings(Settings):
    """What the API serves and who may call it.

    The model store (``tracking_uri`` from ``MLFLOW_TRACKING_URI``, ``models_dir``) and the
    ``KAM_`` environment prefix are the library's ``Settings``, inherited so that the API and
    ``kam-ml`` always look for champions in the same place; ``reports_dir`` comes along
    unused.

    api_keys: comma-separated keys accepted in the ``X-API-Key`` header (``KAM_API_KEYS``);
        with none configured every request to a protected route gets 401.
    nightly_dir: the ``kam-ml nightly --out`` folder; its latest night is served.
    churn_model: ``models:/<name>@<alias>`` or a bundle folder.
    reload_interval_seconds: how often to look for a new night or a new champion.
    max_batch: ids one ``POST /v1/scores`` may look up (at most 1,000, the schema's cap).
    max_history_rows: orders plus interactions one posted history may carry.
    max_body_bytes: the largest request body read; larger ones get 413 unread.
    max_concurrent_histories: posted histories waiting or being scored at once (they are
        scored together, in batches of what is waiting: ``serving.history_batches``);
        beyond, 503 with Retry-After, so that a flood of histories queues no further.
    history_process: score posted histories in a worker process of their own
        (``serving.history_worker``, ``KAM_HISTORY_PROCESS=true``), on another core than
        the one answering requests; by default a thread of the server's process scores them
        (measured faster for histories alone, slower beside lookups: docs/serving.md).
    failed_key_limit, failed_key_window_seconds: a client that sends this many wrong keys
        within the window is refused (429) until the oldest leaves it.
    actions_url (inherited, ``KAM_ACTIONS_URL``): the managers' actions store; unset, it is
        ``actions.db`` in ``nightly_dir`` (see ``actions_store_url``).
    """

    api_keys: str = ""
    nightly_dir: Path | None = None
    churn_model: str = champion_uri(MODEL_NAMES.churn)
    reload_interval_seconds: float = 10.0
    max_batch: int = Field(default=1000, ge=1, le=1000)
    max_history_rows: int = Field(default=50_000, ge=1)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_concurrent_histories: int = Field(default=64, ge=1)
    history_process: bool = False
    failed_key_limit: int = Field(default=30, ge=1)
    failed_key_window_seconds: float = Field(default=60.0, gt=0)

    @property
    def actions_store_url(self) -> str | None:
        """The actions store to open: ``actions_url``, else ``<nightly_dir>/actions.db``,
        else none (the actions routes then answer 503)."""
        if self.actions_url:
            return self.actions_url
        return default_actions_url(self.nightly_dir) if self.nightly_dir is not None else None

    @property
    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())


@lru_cache
def get_settings() -> ServingSettings:
    return ServingSettings()
