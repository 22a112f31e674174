"""Request dependencies: settings, the serving state, the API key, a ready snapshot and the
actions store.

All are ``async def``: FastAPI runs plain ``def`` dependencies in a worker thread, and
three thread hops per request cost more than the lookup they guard.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from kam_ml.actions import ActionStore
from kam_ml.registry.champions import ScoringModels
from serving.errors import NotAuthenticated, NotReady, TooManyAttempts
from serving.guard import FailedKeyThrottle
from serving.settings import ServingSettings
from serving.state import ServedSnapshot, ServingState

__all__ = [
    "ActionsDep",
    "ApiKeyDep",
    "ModelsDep",
    "OptionalActionsDep",
    "SettingsDep",
    "SnapshotDep",
    "StateDep",
    "key_fingerprint",
]

logger = logging.getLogger("serving")


async def app_settings(request: Request) -> ServingSettings:
    """The settings the app was created with (``create_app(settings)``; by default
    ``get_settings()`` from the environment)."""
    settings: ServingSettings = request.app.state.serving.settings
    return settings


SettingsDep = Annotated[ServingSettings, Depends(app_settings)]


async def _state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


StateDep = Annotated[ServingState, Depends(_state)]


# The OpenAPI ``apiKey`` scheme (Swagger's Authorize button, a generated client's
# AuthenticatedClient); auto_error=False so the check, its messages and its constant-time
# comparison stay ours (``require_api_key``).
API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="An API key from KAM_API_KEYS.",
    auto_error=False,
)


async def api_key(
    request: Request, x_api_key: Annotated[str | None, Depends(API_KEY_HEADER)]
) -> str:
    """401 unless X-API-Key (or, for the web pages, the kam_api_key cookie) is a known key."""
    return require_api_key(request, x_api_key)


def require_api_key(request: Request, x_api_key: str | None) -> str:
    """The header's key, else the cookie's; raises ``NotAuthenticated`` (401) unless known."""
    key = x_api_key or request.cookies.get("kam_api_key")
    if not key:
        raise NotAuthenticated("missing API key")
    if not is_known_api_key(request, key):
        raise NotAuthenticated("invalid API key")
    return key


def is_known_api_key(request: Request, key: str) -> bool:
    """Whether ``key`` is one of the configured keys: the one place keys are compared, in
    constant time (``hmac.compare_digest``) so a response's timing leaks no key prefix.

    A client that sent too many wrong keys lately is refused before its key is looked at
    (``TooManyAttempts``, 429 with Retry-After; ``serving.guard.FailedKeyThrottle``).
    """
    throttle: FailedKeyThrottle = request.app.state.key_throttle
    client = request.client.host if request.client is not None else "unknown"
    wait = throttle.retry_after(client)
    if wait is not None:
        raise TooManyAttempts("too many invalid API keys from this client", retry_after=wait)
    keys: frozenset[str] = request.app.state.serving.settings.api_key_set
    known = any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)
    if not known:
        throttle.record_failure(client)
        request.app.state.metrics.failed_keys.inc()
        logger.warning("invalid API key from %s", client)
    return known


ApiKeyDep = Annotated[str, Depends(api_key)]


def key_fingerprint(key: str) -> str:
    """ "API key 1a2b3c4d": who recorded an action when no manager is named; a prefix of
    the key's SHA-256, so the stored name identifies the key without revealing it."""
    return f"API key {hashlib.sha256(key.encode()).hexdigest()[:8]}"


async def ready_snapshot(state: StateDep) -> ServedSnapshot:
    snapshot = state.snapshot  # read the reference once: a reload may swap it any time
    if snapshot is None:
        raise NotReady("not ready: no nightly snapshot loaded")
    return snapshot


SnapshotDep = Annotated[ServedSnapshot, Depends(ready_snapshot)]


async def ready_models(state: StateDep) -> ScoringModels:
    models = state.models  # read the reference once, as for the snapshot
    if models is None:
        raise NotReady("not ready: no models loaded")
    return models


ModelsDep = Annotated[ScoringModels, Depends(ready_models)]


async def actions_store(request: Request) -> ActionStore:
    store: ActionStore | None = request.app.state.actions
    if store is None:
        raise NotReady("not ready: no actions store (set KAM_ACTIONS_URL or KAM_NIGHTLY_DIR)")
    return store


ActionsDep = Annotated[ActionStore, Depends(actions_store)]


async def optional_actions_store(request: Request) -> ActionStore | None:
    store: ActionStore | None = request.app.state.actions
    return store


OptionalActionsDep = Annotated[ActionStore | None, Depends(optional_actions_store)]
