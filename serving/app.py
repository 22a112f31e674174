"""The app factory: routers, error mapping, metrics, and model/snapshot loading in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kam_ml.actions import open_action_store
from serving.access_log import redact_keys_in_access_log
from serving.deps import require_api_key
from serving.docs import install_offline_docs
from serving.errors import install_error_handlers
from serving.guard import FailedKeyThrottle, RequestGuard
from serving.history_batches import HistoryBatcher
from serving.limits import ConcurrencyLimit
from serving.metrics import Metrics, MetricsMiddleware
from serving.openapi import install_contract_openapi
from serving.routes import accounts, actions, feeds, health, portfolio, risk_lists, scores
from serving.settings import NO_KEYS, ServingSettings, get_settings
from serving.state import ServingState

__all__ = ["create_app"]

logger = logging.getLogger("serving")

DESCRIPTION = """Churn risk, reasons and next-best offers for key accounts.

Scores by id are precomputed by the nightly job (`kam-ml nightly`) and served from memory;
`/v1/scores/from-history` scores a posted history with the same code;
`/v1/accounts/{id}/actions` records what a manager did about an account and lists the
history. Authenticate with an
API key in the `X-API-Key` header (keys: `KAM_API_KEYS`; the `ApiKey` security scheme).
Every answer that is not 2xx is an `ErrorResponse` (`detail`, and `errors` per field on
a 422). The latest nightly snapshot and a new `champion` model are picked up without a
restart.
"""


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    """A new app; nothing is loaded until it starts (the lifespan)."""
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state.serving
        # A posted history's pass allocates ~10^5 short-lived pandas objects; at Python's
        # default (700) the collector runs hundreds of times a pass, and its full walks land
        # in the slowest answers. 10,000 and a rarer full collection took the histories'
        # p99 from 118-129 ms to ~100 ms at 20 clients (docs/serving.md); memory is unchanged
        # (objects are freed as before, only examined for cycles less often).
        gc.set_threshold(10_000, 10, 100)
        if not settings.api_key_set:
            logger.warning(NO_KEYS)
        await asyncio.to_thread(_refresh, state, metrics)
        task = asyncio.create_task(_keep_fresh(state, metrics))
        batcher: HistoryBatcher = app.state.history_batcher
        # started beside serving, not before it: lookups need no worker, histories wait
        warm_up = asyncio.create_task(asyncio.to_thread(batcher.start))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):
                await warm_up
            batcher.close()

    app = FastAPI(
        title="kam-ml scoring API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_offline_docs, without a CDN
        redoc_url=None,
    )
    app.state.serving = ServingState(settings)
    url = settings.actions_store_url  # opening touches no disk: the file comes on first use
    app.state.actions = (
        open_action_store(url, tracking_uri=settings.tracking_uri) if url is not None else None
    )
    app.state.metrics = metrics
    app.state.key_throttle = FailedKeyThrottle(
        settings.failed_key_limit, settings.failed_key_window_seconds
    )
    app.state.history_slots = ConcurrencyLimit(settings.max_concurrent_histories)
    app.state.history_batcher = HistoryBatcher(
        max_batch=settings.max_concurrent_histories,
        on_batch=metrics.history_batches.observe,
        worker_process=settings.history_process,
    )
    install_error_handlers(app)
    # actions before accounts: ``/v1/accounts/{account_id:path}`` would swallow ".../actions"
    for module in (scores, actions, accounts, feeds, health, risk_lists, portfolio):
        app.include_router(module.router)
    install_contract_openapi(app)
    install_offline_docs(app)
    # added last = outermost: the metrics see every answer, the guard's refusals included
    app.add_middleware(
        RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        check_key=lambda request: require_api_key(request, request.headers.get("x-api-key")),
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    redact_keys_in_access_log()
    return app


def _refresh(state: ServingState, metrics: Metrics) -> None:
    changed = state.refresh()
    if changed:
        # A snapshot is millions of long-lived objects: move them out of the collector's
        # reach, or every full collection walks them and stalls requests for ~100 ms.
        gc.collect()
        gc.freeze()
    for what in changed:
        metrics.reloads.labels(what).inc()
    if "models" in changed and state.models is not None:
        metrics.set_models(state.models.versions())
    if "snapshot" in changed and state.snapshot is not None:
        metrics.set_snapshot(state.snapshot.as_of, len(state.snapshot.records))


async def _keep_fresh(state: ServingState, metrics: Metrics) -> None:
    while True:
        await asyncio.sleep(state.settings.reload_interval_seconds)
        try:
            await asyncio.to_thread(_refresh, state, metrics)
        except Exception:  # never let the reloader die
            logger.exception("reload failed")
