"""Request dependencies: settings, the serving state, the API key and a ready snapshot."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from serving.errors import NotAuthenticated, NotReady
from serving.settings import ServingSettings, get_settings
from serving.state import ServedSnapshot, ServingState

__all__ = ["ApiKeyDep", "ModelsDep", "SettingsDep", "SnapshotDep", "StateDep"]

SettingsDep = Annotated[ServingSettings, Depends(get_settings)]


def _state(request: Request) -> ServingState:
    return request.app.state.serving


StateDep = Annotated[ServingState, Depends(_state)]


def require_api_key(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="An API key from KAM_API_KEYS.")] = None,
) -> str:
    """401 unless X-API-Key (or, for the web pages, the kam_api_key cookie) is a known key."""
    key = x_api_key or request.cookies.get("kam_api_key")
    if not key:
        raise NotAuthenticated("missing API key")
    keys = request.app.state.serving.settings.api_key_set
    if not any(hmac.compare_digest(key.encode(), known.encode()) for known in keys):
        raise NotAuthenticated("invalid API key")
    return key


ApiKeyDep = Annotated[str, Depends(require_api_key)]


def ready_snapshot(state: StateDep) -> ServedSnapshot:
    snapshot = state.snapshot  # read the reference once: a reload may swap it any time
    if snapshot is None:
        raise NotReady("not ready: no nightly snapshot loaded")
    return snapshot


SnapshotDep = Annotated[ServedSnapshot, Depends(ready_snapshot)]


def ready_models(state: StateDep):  # type: ignore[no-untyped-def]
    models = state.models
    if models is None:
        raise NotReady("not ready: no models loaded")
    return models


ModelsDep = Annotated[object, Depends(ready_models)]
