"""Liveness, readiness and Prometheus metrics (no API key: probes and scrapers call them)."""

from __future__ import annotations

import datetime as dt
import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kam_ml.registry.champions import ScoringModels
from serving.deps import StateDep
from serving.metrics import PROMETHEUS_CONTENT_TYPE
from serving.schemas import Readiness
from serving.settings import NO_KEYS

router = APIRouter(tags=["operations"])
# an absolute path, or a URI with one (sqlite:///..., file:///...), up to a quote or space
_PATH = re.compile(r"(?:[a-z][\w+.-]*://|(?<![\w:]))/[^\s'\"]+")


@router.get("/health", operation_id="get_health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Readiness,
    operation_id="get_readiness",
    responses={503: {"model": Readiness, "description": "Not ready (problems listed)."}},
    summary="Readiness: models and a nightly snapshot are loaded",
)
async def ready(state: StateDep) -> JSONResponse:
    snapshot, models = state.snapshot, state.models
    problems = [_public(p) for p in state.problems]
    if models is None and not any(p.startswith("models") for p in problems):
        problems.append("models: not loaded")
    keyless = not state.settings.api_key_set
    serving = snapshot is not None and models is not None
    body = Readiness(
        status="ready" if serving and not keyless else "not ready",
        snapshot_as_of=dt.date.fromisoformat(snapshot.as_of) if snapshot else None,
        snapshot_accounts=len(snapshot.records) if snapshot else None,
        snapshot_directory=snapshot.directory.name if snapshot else None,
        snapshot_published_as_of=_day(state.published_as_of),
        snapshot_problems=[_public(p) for p in state.snapshot_problems],
        model_versions=models.versions() if models else {},
        models_trained_as_of=_trained_as_of(models),
        # a failed reload (a tampered new champion, say) is listed while the old models serve
        model_problems=[
            *(_public(p) for p in (*models.problems, *models.warnings)),
            *(p for p in problems if p.startswith("models:")),
        ]
        if models
        else [],
        problems=([] if serving else problems) + ([NO_KEYS] if keyless else []),
    )
    return JSONResponse(body.model_dump(mode="json"), 200 if body.status == "ready" else 503)


@router.get(
    "/metrics",
    operation_id="get_metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)


def _public(problem: str) -> str:
    """A problem as the open probe may show it: what failed and why, with every absolute path
    or store URI cut to its last part (the server log has them in full)."""
    if problem.startswith("no published night"):
        return "no published night in the nightly directory (KAM_NIGHTLY_DIR)"
    return _PATH.sub(lambda m: f"…/{m.group(0).rstrip('/').rsplit('/', 1)[-1]}", problem)


def _day(text: str | None) -> dt.date | None:
    """``latest.json``'s date, or None when it is missing or not a date."""
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _trained_as_of(models: ScoringModels | None) -> dict[str, str | None]:
    if models is None:
        return {}
    bundles = {"churn": models.churn, "offers": models.offers, "value": models.value}
    return {
        name: (str(b.extra.get("as_of")) if b is not None and b.extra.get("as_of") else None)
        for name, b in bundles.items()
    }
