"""Prometheus metrics: request counts, latency histogram, loaded model and snapshot.

A pure ASGI middleware (Starlette's BaseHTTPMiddleware costs ~20% of throughput); each
app gets its own registry so several apps (tests) never share counters.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["PROMETHEUS_CONTENT_TYPE", "Metrics", "MetricsMiddleware"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kam_http_requests",
            "HTTP requests",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.failed_keys = Counter(
            "kam_failed_api_keys",
            "Requests with an unknown API key (each also logged with the client address)",
            registry=self.registry,
        )
        self.latency = Histogram(
            "kam_http_request_duration_seconds",
            "Request latency",
            ("route",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.model = Gauge(
            "kam_model_info",
            "Loaded model version (value 1)",
            ("model", "version"),
            registry=self.registry,
        )
        self.snapshot = Gauge(
            "kam_snapshot_info",
            "Served nightly snapshot (value: accounts)",
            ("as_of",),
            registry=self.registry,
        )
        self.history_batches = Histogram(
            "kam_history_batch_size",
            "Posted histories scored together in one pass (serving.history_batches)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.reloads = Counter(
            "kam_reloads", "Hot reloads of snapshot or models", ("what",), registry=self.registry
        )

    def set_models(self, versions: dict[str, str | None]) -> None:
        self.model.clear()
        for model, version in versions.items():
            if version is not None:
                self.model.labels(model, version).set(1)

    def set_snapshot(self, as_of: str, accounts: int) -> None:
        self.snapshot.clear()
        self.snapshot.labels(as_of).set(accounts)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            # path_format drops converters: "/v1/accounts/{account_id}", not "{...:path}"
            path = getattr(route, "path_format", getattr(route, "path", "unmatched"))
            self.metrics.requests.labels(scope["method"], path, str(status[0])).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)
