"""Recording an action, the same way for the JSON API and the risk-list page's form.

The request schema (``ActionIn``) checks the shape; what needs tonight's snapshot is checked
here: the account must be in the night served (404), and a category must be one of its
catalogue's (422, in the same ``{field, rule, message, input}`` shape as schema errors).

Idempotency: the client's key comes in the ``Idempotency-Key`` header (the convention of
Stripe and the IETF draft ``draft-ietf-httpapi-idempotency-key-header``) or, for
integrations that can only fill a body, as ``idempotency_key`` in it; both at once must
agree (422). The store keeps one action per key: a retry of the same action is answered
with the action stored first (the route says 200 instead of 201), a different action under
a used key is a 409.
"""

from __future__ import annotations

import logging

from fastapi.exceptions import RequestValidationError

from kam_ml.actions import ActionStore, NewAction, RecordedAction
from kam_ml.errors import ActionKeyReusedError, ActionStoreError, InvalidActionError
from serving.deps import key_fingerprint
from serving.errors import ActionKeyConflict, ActionsUnavailable, UnknownAccount
from serving.schemas import ActionHistory, ActionIn, ActionOut
from serving.state import ServedSnapshot

__all__ = ["action_history", "record_action"]

logger = logging.getLogger("serving")


def record_action(
    store: ActionStore,
    snapshot: ServedSnapshot,
    account_id: str,
    body: ActionIn,
    key: str,
    idempotency_key: str | None = None,
) -> tuple[ActionOut, bool]:
    """Store ``body`` for ``account_id``; ``recorded_by`` is its manager or the key's
    fingerprint (never the key). Returns the action and whether it was stored earlier under
    the same idempotency key (``idempotency_key``: the header's, if any)."""
    _require_account(snapshot, account_id)
    known = snapshot.known_categories
    if body.category is not None and known is not None and body.category not in known:
        examples = ", ".join(sorted(known)[:5])
        raise _invalid(
            "category",
            "unknown_category",
            f"Category {body.category!r} is not in tonight's catalogue of {len(known)} "
            f"categories (e.g. {examples}).",
            body.category,
        )
    header, field = idempotency_key, body.idempotency_key
    if header is not None and field is not None and header != field:
        raise _invalid(
            "idempotency_key",
            "idempotency_key_mismatch",
            "The Idempotency-Key header and the body's idempotency_key differ: send one, "
            "or the same key in both.",
            field,
        )
    new = NewAction(
        account_id=account_id,
        action=body.action,
        recorded_by=body.manager or key_fingerprint(key),
        category=body.category,
        note=body.note,
        manager=body.manager,
        idempotency_key=header if header is not None else field,
    )
    try:
        recorded = store.record(new)
    except InvalidActionError as error:
        raise _invalid(error.field, "invalid_action", str(error), None) from None
    except ActionKeyReusedError as error:
        raise ActionKeyConflict(
            f"idempotency key already used for action {error.existing_id}, a different "
            "action: a retry repeats it exactly, a new action needs a new key"
        ) from None
    except ActionStoreError as error:
        logger.error("recording an action failed: %s", error)
        raise ActionsUnavailable("actions store unavailable") from None
    return _out(recorded), recorded.replayed


def action_history(store: ActionStore, snapshot: ServedSnapshot, account_id: str) -> ActionHistory:
    """Every action recorded for ``account_id``, newest first."""
    _require_account(snapshot, account_id)
    try:
        actions = store.history(account_id)
    except ActionStoreError as error:
        logger.error("reading actions failed: %s", error)
        raise ActionsUnavailable("actions store unavailable") from None
    return ActionHistory(account_id=account_id, actions=[_out(a) for a in actions])


def _require_account(snapshot: ServedSnapshot, account_id: str) -> None:
    if account_id not in snapshot.records.index:
        raise UnknownAccount(f"unknown account: {account_id}")


def _out(action: RecordedAction) -> ActionOut:
    return ActionOut.model_validate(action, from_attributes=True)


def _invalid(field: str, rule: str, message: str, value: str | None) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("body", field), "type": rule, "msg": message, "input": value}]
    )
