"""POST /v1/scores (lookups by id) and POST /v1/scores/from-history (scored on the fly)."""

from __future__ import annotations

import json

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import Response

from serving.deps import ApiKeyDep, ModelsDep, SettingsDep, SnapshotDep
from serving.errors import InvalidHistory, RequestTooLarge
from serving.history_batches import HistoryBatcher
from serving.limits import ConcurrencyLimit
from serving.schemas import AccountScore, HistoryRequest, ScoresRequest, ScoresResponse

router = APIRouter(prefix="/v1/scores", tags=["scores"])


@router.post(
    "",
    response_model=ScoresResponse,
    operation_id="score_accounts",
    summary="Scores, reasons and offers of up to 1,000 accounts (from the latest nightly run)",
)
async def post_scores(
    body: ScoresRequest, snapshot: SnapshotDep, settings: SettingsDep, _: ApiKeyDep
) -> Response:
    if len(body.account_ids) > settings.max_batch:
        raise RequestTooLarge(
            f"account_ids: at most {settings.max_batch:,} ids per request (KAM_MAX_BATCH); "
            f"got {len(body.account_ids):,}"
        )
    records = snapshot.records
    found, unknown = [], []
    for account_id in body.account_ids:
        row = records.index.get(account_id)
        if row is None:
            unknown.append(account_id)
        else:
            found.append(records.record(row))
    payload = {"scores": found, "unknown_account_ids": unknown, "features_as_of": snapshot.as_of}
    return Response(json.dumps(payload), media_type="application/json")


@router.post(
    "/from-history",
    response_model=AccountScore,
    operation_id="score_history",
    responses={
        422: {"description": "The history breaks a data-contract rule or a limit (named)."},
        503: {"description": "Busy: too many histories being scored at once (Retry-After)."},
    },
    summary="Score one account from its posted orders and interactions",
    description="For accounts created since the last nightly run: the features are computed "
    "from the posted history at the snapshot's as-of date (or `as_of`) and scored with the "
    "same code as the nightly job, with the snapshot's population statistics.",
)
async def post_from_history(
    body: HistoryRequest,
    request: Request,
    snapshot: SnapshotDep,
    models: ModelsDep,
    settings: SettingsDep,
    _: ApiKeyDep,
) -> Response:
    rows = len(body.orders) + len(body.interactions)
    if rows > settings.max_history_rows:
        raise RequestTooLarge(
            f"orders + interactions: at most {settings.max_history_rows:,} rows per history "
            f"(KAM_MAX_HISTORY_ROWS); got {rows:,}"
        )
    as_of = pd.Timestamp(body.as_of or snapshot.as_of)
    if models.offers is not None and str(as_of.date()) != snapshot.as_of:
        raise InvalidHistory(
            f"as_of {as_of.date()} is not the nightly snapshot's date {snapshot.as_of}: offers "
            "are scored with that night's population statistics, so a history is scored at "
            "that date. Omit as_of, or send the snapshot's date."
        )
    limit: ConcurrencyLimit = request.app.state.history_slots
    batcher: HistoryBatcher = request.app.state.history_batcher
    with limit.slot("histories"):
        payload = await batcher.score(body, as_of, snapshot, models)
    return Response(payload, media_type="application/json")
