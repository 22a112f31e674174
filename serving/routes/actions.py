"""POST and GET /v1/accounts/{account_id}/actions: what managers did about an account.

Plain ``def`` handlers: the store does blocking I/O, so FastAPI runs them in its thread pool
and the event loop keeps serving scores meanwhile.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response

from kam_ml.actions import IDEMPOTENCY_KEY_MAX_LENGTH
from serving.actions import action_history, record_action
from serving.deps import ActionsDep, ApiKeyDep, SnapshotDep
from serving.schemas import ActionHistory, ActionIn, ActionOut

router = APIRouter(prefix="/v1/accounts", tags=["actions"])

AccountPath = Annotated[
    str, Path(min_length=1, max_length=200, description="The account id (in tonight's night).")
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="The client's key for this action (a UUID, or the CRM's activity id): "
        "retrying with the same key and the same action stores nothing and answers 200 with "
        "the action stored first. The body's idempotency_key may carry it instead.",
    ),
]
_RESPONSES: dict[int | str, dict[str, Any]] = {
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
        200: {
            "model": ActionOut,
            "description": "Replayed: an action with this idempotency key was stored before "
            "and is the same action; nothing new is stored, the earlier action is answered.",
            "headers": {
                "Idempotent-Replayed": {
                    "description": "true: this answer is the earlier action.",
                    "schema": {"type": "string", "enum": ["true"]},
                }
            },
        },
        201: {"description": "Stored: the action as recorded."},
        409: {
            "description": "The idempotency key was used for a different action (its id in "
            "the detail); nothing is stored."
        },
        422: {
            "description": "A field breaks a rule: the action, a length, an unknown category, "
            "an Idempotency-Key header and a body idempotency_key that differ."
        },
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
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> ActionOut:
    recorded, replayed = record_action(store, snapshot, account_id, body, key, idempotency_key)
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return recorded


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
