"""POST and GET /v1/accounts/{account_id}/actions: what managers did about an account.

Plain ``def`` handlers: the store does blocking I/O, so FastAPI runs them in its thread pool
and the event loop keeps serving scores meanwhile.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from serving.actions import action_history, record_action
from serving.deps import ActionsDep, ApiKeyDep, SnapshotDep
from serving.schemas import ActionHistory, ActionIn, ActionOut

router = APIRouter(prefix="/v1/accounts", tags=["actions"])

AccountPath = Annotated[
    str, Path(min_length=1, max_length=200, description="The account id (in tonight's night).")
]
_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "missing API key / invalid API key"},
    404: {"description": "unknown account: <id> (not in the night served)"},
    503: {"description": "not ready, or actions store unavailable"},
}


@router.post(
    "/{account_id:path}/actions",
    response_model=ActionOut,
    status_code=201,
    responses={
        **_RESPONSES,
        422: {"description": "A field breaks a rule: the action, a length, an unknown category."},
    },
    operation_id="record_action",
    summary="Record what was done about an account: called, met, offered, won back, lost",
)
def post_action(
    account_id: AccountPath,
    body: ActionIn,
    snapshot: SnapshotDep,
    store: ActionsDep,
    key: ApiKeyDep,
) -> ActionOut:
    return record_action(store, snapshot, account_id, body, key)


@router.get(
    "/{account_id:path}/actions",
    response_model=ActionHistory,
    responses=_RESPONSES,
    operation_id="list_actions",
    summary="Every action recorded for an account, newest first",
)
def get_actions(
    account_id: AccountPath, snapshot: SnapshotDep, store: ActionsDep, _: ApiKeyDep
) -> ActionHistory:
    return action_history(store, snapshot, account_id)
