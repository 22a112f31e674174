"""POST /v1/scores (lookups by id) and POST /v1/scores/from-history (scored on the fly)."""

from __future__ import annotations

import json

import pandas as pd
from fastapi import APIRouter
from fastapi.responses import Response

from kam_ml.errors import DataContractError, InactiveAccountError
from kam_ml.scoring.history import score_history
from serving.deps import ApiKeyDep, ModelsDep, SettingsDep, SnapshotDep
from serving.errors import InvalidHistory
from serving.records import RecordTable
from serving.schemas import AccountScore, HistoryRequest, ScoresRequest, ScoresResponse

router = APIRouter(prefix="/v1/scores", tags=["scores"])


@router.post(
    "",
    response_model=ScoresResponse,
    summary="Scores, reasons and offers of up to 1,000 accounts (from the latest nightly run)",
)
async def post_scores(body: ScoresRequest, snapshot: SnapshotDep, _: ApiKeyDep) -> Response:
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
    responses={422: {"description": "The history breaks a data-contract rule (named)."}},
    summary="Score one account from its posted orders and interactions",
    description="For accounts created since the last nightly run: the features are computed "
    "from the posted history at the snapshot's as-of date (or `as_of`) and scored with the "
    "same code as the nightly job, with the snapshot's population statistics.",
)
def post_from_history(
    body: HistoryRequest,
    snapshot: SnapshotDep,
    models: ModelsDep,
    settings: SettingsDep,
    _: ApiKeyDep,
) -> Response:
    as_of = pd.Timestamp(body.as_of or snapshot.as_of)
    raw = {
        "accounts": pd.DataFrame([body.account.model_dump()]),
        "orders": pd.DataFrame([o.model_dump() for o in body.orders]),
        "interactions": pd.DataFrame(
            [i.model_dump() for i in body.interactions],
            columns=["event_date", "event_type", "value"],
        ),
    }
    for name in ("orders", "interactions"):
        raw[name]["account_id"] = body.account.account_id
    if snapshot.categories is not None:
        raw["categories"] = snapshot.categories
    try:
        explained = score_history(
            raw,
            as_of,
            models,
            snapshot.population,
            snapshot.band_means,
            snapshot.manifest.get("order_history_start"),
        )
    except (DataContractError, InactiveAccountError) as error:
        raise InvalidHistory(str(error)) from None
    records = RecordTable.from_explained(
        explained, snapshot.band_means, str(as_of.date()), "history"
    )
    return Response(json.dumps(records.record(0)), media_type="application/json")
