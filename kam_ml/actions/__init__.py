"""What account managers did about an account: the action record and where it is stored.

``kam_ml.actions.record`` defines the record (``ActionKind``, ``NewAction``,
``RecordedAction``) and its rules; ``kam_ml.actions.store`` stores it behind the
``ActionStore`` interface (``SQLiteActionStore`` by default, ``PostgresActionStore`` in
``kam_ml.actions.postgres``), ``kam_ml.actions.migrations`` versions their schema, and
``open_action_store(url)`` picks the implementation from the URL. The API writes and
reads actions; the nightly job reads the last action of each account for its risk lists.
"""

from kam_ml.actions.record import (
    ACTION_LABELS,
    CATEGORY_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MANAGER_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    ActionKind,
    NewAction,
    RecordedAction,
    describe_action,
)
from kam_ml.actions.store import (
    ACTIONS_FILE,
    ActionStore,
    SQLiteActionStore,
    default_actions_url,
    open_action_store,
)

__all__ = [
    "ACTIONS_FILE",
    "ACTION_LABELS",
    "CATEGORY_MAX_LENGTH",
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "MANAGER_MAX_LENGTH",
    "NOTE_MAX_LENGTH",
    "ActionKind",
    "ActionStore",
    "NewAction",
    "RecordedAction",
    "SQLiteActionStore",
    "default_actions_url",
    "describe_action",
    "open_action_store",
]
