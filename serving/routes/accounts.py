"""GET /v1/accounts/{account_id}: one account's precomputed score, reasons, offers and what
changed; GET /v1/accounts/{account_id}/history: its score over the last nights.

An account id may hold ``/`` (a ``path`` parameter; sent percent-encoded or not). The
history route is declared first, so ".../history" is the history of the id before it.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from serving.deps import ApiKeyDep, SnapshotDep
from serving.errors import UnknownAccount
from serving.schemas import AccountScore, ScoreHistory
from serving.state import ServedSnapshot

router = APIRouter(prefix="/v1/accounts", tags=["scores"])
AccountIdPath = Annotated[str, Path(min_length=1, max_length=200, description="The account id.")]


def _row(snapshot: ServedSnapshot, account_id: str) -> int:
    """The account's row in the night served; 404 ``unknown account`` when it is not there."""
    row = snapshot.records.index.get(account_id)
    if row is None:
        raise UnknownAccount(f"unknown account: {account_id}")
    return row


@router.get(
    "/{account_id:path}/history",
    operation_id="get_account_history",
    response_model=ScoreHistory,
    responses={404: {"description": "unknown account: <id>"}},
    summary="One account's churn probability and band on each of the last nights",
)
async def get_history(
    account_id: AccountIdPath,
    snapshot: SnapshotDep,
    _: ApiKeyDep,
) -> Response:
    nights = snapshot.records.score_history(_row(snapshot, account_id))
    body = {"account_id": account_id, "nights": nights}
    return Response(json.dumps(body), media_type="application/json")


@router.get(
    "/{account_id:path}",
    operation_id="get_account",
    response_model=AccountScore,
    responses={404: {"description": "unknown account: <id>"}},
    summary="Score, reasons and offers of one account (from the latest nightly run)",
)
async def get_account(
    account_id: AccountIdPath,
    snapshot: SnapshotDep,
    _: ApiKeyDep,
) -> Response:
    records = snapshot.records
    return Response(
        json.dumps(records.record(_row(snapshot, account_id))), media_type="application/json"
    )
