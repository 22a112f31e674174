"""One action a manager took on an account, as recorded and as read back.

The rules live here once (the API's request schema repeats the limits for the OpenAPI
docs, from these constants): five kinds of action, a category only where it means
something and always for an offer, a note of at most 2,000 characters and no control
characters but tabs and line breaks (the Excel lists are XML). Timestamps are
timezone-aware UTC; whoever records is named (``recorded_by``), never an API key.

An action may carry the client's ``idempotency_key`` (1 to 255 characters, no control
characters): the store keeps one action per key, so a client that retries after a timeout
gets the action it stored the first time instead of a second one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from kam_ml.errors import InvalidActionError

__all__ = [
    "ACTION_LABELS",
    "CATEGORY_MAX_LENGTH",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "MANAGER_MAX_LENGTH",
    "NOTE_MAX_LENGTH",
    "ActionKind",
    "NewAction",
    "RecordedAction",
    "describe_action",
]

NOTE_MAX_LENGTH: Final = 2000
CATEGORY_MAX_LENGTH: Final = 200
MANAGER_MAX_LENGTH: Final = 200
IDEMPOTENCY_KEY_MAX_LENGTH: Final = 255  # Stripe's limit, ample for a UUID or a CRM's id
# control characters other than tab and newlines, and lone surrogates: XML (the Excel
# lists) and UTF-8 (the store) cannot hold them
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# a key travels in an HTTP header too: no line breaks or tabs either
_KEY_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class ActionKind(StrEnum):
    """What was done: the values the API and the page accept, as stored."""

    called = "called"
    met = "met"
    offered = "offered"
    won_back = "won_back"
    lost = "lost"


ACTION_LABELS: Final[dict[ActionKind, str]] = {
    ActionKind.called: "Called",
    ActionKind.met: "Met",
    ActionKind.offered: "Offered",
    ActionKind.won_back: "Won back",
    ActionKind.lost: "Lost",
}


@dataclass(frozen=True)
class NewAction:
    """An action to record; ``check`` raises ``InvalidActionError`` naming the field."""

    account_id: str
    action: ActionKind
    recorded_by: str
    category: str | None = None
    note: str | None = None
    manager: str | None = None
    idempotency_key: str | None = None

    def check(self) -> NewAction:
        """Self, when every field follows the rules (see the module docstring)."""
        if not self.account_id:
            raise InvalidActionError("account_id", "The account_id of an action is empty.")
        if self.idempotency_key == "":
            raise InvalidActionError(
                "idempotency_key", "The idempotency_key of an action is empty: omit it or name one."
            )
        if self.action is ActionKind.offered and not self.category:
            raise InvalidActionError(
                "category", "An 'offered' action needs the category offered. Got none."
            )
        for name, value, limit in (
            ("category", self.category, CATEGORY_MAX_LENGTH),
            ("note", self.note, NOTE_MAX_LENGTH),
            ("manager", self.manager, MANAGER_MAX_LENGTH),
            ("recorded_by", self.recorded_by, MANAGER_MAX_LENGTH),
            ("idempotency_key", self.idempotency_key, IDEMPOTENCY_KEY_MAX_LENGTH),
        ):
            if value is not None and len(value) > limit:
                raise InvalidActionError(
                    name,
                    f"The '{name}' of an action must be at most {limit} characters. "
                    f"Got {len(value)} instead.",
                )
            banned = _KEY_CONTROL if name == "idempotency_key" else _CONTROL
            found = banned.search(value) if value is not None else None
            if found is not None:
                raise InvalidActionError(
                    name,
                    f"The '{name}' of an action must not contain control characters. "
                    f"Got {found.group()!r} at position {found.start()}.",
                )
        return self

    def same_action(self, stored: RecordedAction) -> bool:
        """Whether ``stored`` is this action (every field but the id and the time): what a
        retry under the same idempotency key must repeat."""
        return (
            self.account_id,
            self.action,
            self.recorded_by,
            self.category,
            self.note,
            self.manager,
            self.idempotency_key,
        ) == (
            stored.account_id,
            stored.action,
            stored.recorded_by,
            stored.category,
            stored.note,
            stored.manager,
            stored.idempotency_key,
        )


@dataclass(frozen=True)
class RecordedAction:
    """An action as stored: ``id`` grows with every record, ``recorded_at`` is UTC.

    ``replayed`` is not stored: ``ActionStore.record`` sets it when the action's idempotency
    key was already stored, and answers with that earlier action (equality ignores it).
    """

    id: int
    account_id: str
    action: ActionKind
    category: str | None
    note: str | None
    manager: str | None
    recorded_by: str
    recorded_at: dt.datetime
    idempotency_key: str | None = None
    replayed: bool = field(default=False, compare=False)


def describe_action(action: RecordedAction) -> str:
    """ "Offered handbags: asked for the new season" — the action in a list cell."""
    text = ACTION_LABELS[action.action]
    if action.category:
        text += f" {action.category}"
    if action.note:
        text += f": {action.note}"
    return text
