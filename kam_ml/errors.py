"""The exception tree of kam-ml.

Every error a user can cause derives from ``KamMLError`` so the CLI and the API can turn it
into a message (exit 1, or an HTTP status) instead of a traceback. A ``ValueError`` or
``KeyError`` that escapes the library is therefore a bug, not bad input::

    KamMLError
    ├── DataContractError        structural problem in the input: missing table/column, bad type
    │   └── BadRowsError         row-level rule broken and the user chose to refuse bad rows
    ├── DownloadError            a public data set (CDNOW) could not be downloaded or unpacked
    ├── DefinitionError          a parameter is out of range (also a ValueError)
    ├── NotEnoughHistoryError    the data cannot support the requested cutoffs / training
    ├── BundleError              an exported model bundle is missing, tampered or incompatible
    ├── ModelNotFoundError       no registered model / alias / bundle at the given URI
    ├── TrackingStoreError       the MLflow store is configured so that artifacts would be lost
    ├── InactiveAccountError     a posted account has no recent order, so it is not scored
    ├── ScoringInputError        features or tables that one scoring pass cannot score
    ├── InvalidActionError       a manager's action breaks a rule (names the field)
    ├── ActionKeyReusedError     an action's idempotency key already names a different action
    ├── ActionStoreError         the actions store cannot be opened, read or written
    └── ScoresDatabaseError      the night's scores could not be published to PostgreSQL

``require_positive_int`` is the one check behind every "must be a positive int" message, so
a ``ProblemDefinition`` field, an ``OfferRules`` window and a demo book size all read alike:
"The 'horizon_days' of ProblemDefinition must be a positive int. Got -3 instead."
"""

from __future__ import annotations

from numbers import Integral

__all__ = [
    "ActionKeyReusedError",
    "ActionStoreError",
    "BadRowsError",
    "BundleError",
    "DataContractError",
    "DefinitionError",
    "DownloadError",
    "InactiveAccountError",
    "InvalidActionError",
    "KamMLError",
    "ModelNotFoundError",
    "NotEnoughHistoryError",
    "ScoresDatabaseError",
    "ScoringInputError",
    "TrackingStoreError",
    "require_non_negative_int",
    "require_positive_int",
]


class KamMLError(Exception):
    """Base of every error a user can cause; its message is meant for a person."""


class DataContractError(KamMLError):
    """The input does not follow the data contract in a way no row-level fix can repair."""


class BadRowsError(DataContractError):
    """Rows break contract rules and the user asked to refuse (not quarantine) them."""


class DownloadError(KamMLError):
    """A public data set could not be fetched: the network, pip or the index failed.

    Not a ``DataContractError``: the user's data is fine, and retrying (or a proxy) is the fix.
    """


class DefinitionError(KamMLError, ValueError):
    """A parameter is out of range: a ``ProblemDefinition`` or ``OfferRules`` field, the size
    of a demo book, a metric's k, a validation mode.

    Also a ``ValueError``, so callers that caught the built-in before keep working.
    """


def require_positive_int(owner: str, name: str, value: object) -> None:
    """Raise ``DefinitionError`` unless ``value`` is a positive int.

    NumPy ints count (they register as ``numbers.Integral``, so this module needs no NumPy);
    ``bool`` is refused although it is an ``int`` subclass: ``True`` as a horizon is a bug.
    ``owner`` is what the parameter belongs to, as the message names it (``ProblemDefinition``,
    ``OfferRules``, ``a ranking metric``).
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise DefinitionError(
            f"The '{name}' of {owner} must be a positive int. Got {value!r} instead."
        )


def require_non_negative_int(owner: str, name: str, value: object) -> None:
    """Raise ``DefinitionError`` unless ``value`` is an int >= 0 (same rules as above)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise DefinitionError(
            f"The '{name}' of {owner} must be a non-negative int. Got {value!r} instead."
        )


class NotEnoughHistoryError(KamMLError):
    """The history is too short for the requested as-of date, horizon or training cutoffs."""


class BundleError(KamMLError):
    """An exported model bundle failed verification on load."""


class ModelNotFoundError(KamMLError):
    """No model could be resolved from the given URI or path."""


class TrackingStoreError(KamMLError):
    """The MLflow store cannot be used as configured: a database tracking URI without an
    artifact root (``KAM_ARTIFACT_ROOT``), or a schema upgrade (``kam-ml db-upgrade``) that
    failed."""


class InactiveAccountError(KamMLError):
    """The account has no order in the active window before the as-of date.

    Its history may follow the contract to the letter, so this is not a
    ``DataContractError``: the account is simply outside the population that is scored.
    """


class ScoringInputError(KamMLError, ValueError):
    """The scoring path was given inputs it cannot score together (e.g. offers without the
    order history, or feature rows at several dates). A ``ValueError`` too, as it was."""


class InvalidActionError(KamMLError):
    """An action to record breaks a rule; ``field`` names the field, as the API reports it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ActionKeyReusedError(KamMLError):
    """An action came with an idempotency key that an earlier, different action was stored
    under; ``existing_id`` is that action's id (the API answers 409)."""

    def __init__(self, key: str, existing_id: int) -> None:
        super().__init__(
            f"The idempotency key {key!r} was used for action {existing_id}, which differs from "
            "this one: a retry must repeat the action exactly, a new action needs a new key."
        )
        self.key = key
        self.existing_id = existing_id


class ActionStoreError(KamMLError):
    """The actions store is unreachable, unsupported or unwritable: the server's problem,
    not the request's (the API answers 503)."""


class ScoresDatabaseError(KamMLError):
    """The night's scores could not be written to the database (``kam-ml nightly
    --publish``): unreachable, refused, or a schema newer than this kam-ml. The message
    names the server with its password hidden."""
