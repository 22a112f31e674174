"""Liveness, readiness and Prometheus metrics (no API key: probes and scrapers call them)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kam_ml.registry.champions import ScoringModels
from serving.deps import StateDep
from serving.metrics import PROMETHEUS_CONTENT_TYPE
from serving.schemas import Readiness

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready (problems listed)."}},
    summary="Readiness: models and a nightly snapshot are loaded",
)
async def ready(state: StateDep) -> JSONResponse:
    snapshot, models = state.snapshot, state.models
    problems = list(state.problems)
    if models is None and not any(p.startswith("models") for p in problems):
        problems.append("models: not loaded")
    body = Readiness(
        status="ready" if snapshot is not None and models is not None else "not ready",
        snapshot_as_of=dt.date.fromisoformat(snapshot.as_of) if snapshot else None,
        snapshot_accounts=len(snapshot.records) if snapshot else None,
        snapshot_directory=str(snapshot.directory) if snapshot else None,
        model_versions=models.versions() if models else {},
        models_trained_as_of=_trained_as_of(models),
        # a failed reload (a tampered new champion, say) is listed while the old models serve
        model_problems=[
            *models.problems,
            *models.warnings,
            *(p for p in problems if p.startswith("models:")),
        ]
        if models
        else [],
        problems=problems if snapshot is None or models is None else [],
    )
    return JSONResponse(body.model_dump(mode="json"), 200 if body.status == "ready" else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)


def _trained_as_of(models: ScoringModels | None) -> dict[str, str | None]:
    if models is None:
        return {}
    bundles = {"churn": models.churn, "offers": models.offers, "value": models.value}
    return {
        name: (str(b.extra.get("as_of")) if b is not None and b.extra.get("as_of") else None)
        for name, b in bundles.items()
    }
