"""The exception tree of kam-ml.

Every error a user can cause derives from ``KamMLError`` so the CLI and the API can turn it
into a message (exit 1, or an HTTP status) instead of a traceback::

    KamMLError
    ├── DataContractError        structural problem in the input: missing table/column, bad type
    │   └── BadRowsError         row-level rule broken and the user chose to refuse bad rows
    ├── DefinitionError          a ProblemDefinition parameter is out of range
    ├── NotEnoughHistoryError    the data cannot support the requested cutoffs / training
    ├── BundleError              an exported model bundle is missing, tampered or incompatible
    ├── ModelNotFoundError       no registered model / alias / bundle at the given URI
    ├── InactiveAccountError     a posted account has no recent order, so it is not scored
    └── ScoringInputError        features or tables that one scoring pass cannot score
"""

from __future__ import annotations

__all__ = [
    "BadRowsError",
    "BundleError",
    "DataContractError",
    "DefinitionError",
    "InactiveAccountError",
    "KamMLError",
    "ModelNotFoundError",
    "NotEnoughHistoryError",
    "ScoringInputError",
]


class KamMLError(Exception):
    """Base of every error a user can cause; its message is meant for a person."""


class DataContractError(KamMLError):
    """The input does not follow the data contract in a way no row-level fix can repair."""


class BadRowsError(DataContractError):
    """Rows break contract rules and the user asked to refuse (not quarantine) them."""


class DefinitionError(KamMLError, ValueError):
    """A problem-definition parameter is invalid."""


class NotEnoughHistoryError(KamMLError):
    """The history is too short for the requested as-of date, horizon or training cutoffs."""


class BundleError(KamMLError):
    """An exported model bundle failed verification on load."""


class ModelNotFoundError(KamMLError):
    """No model could be resolved from the given URI or path."""


class InactiveAccountError(KamMLError):
    """The account has no order in the active window before the as-of date.

    Its history may follow the contract to the letter, so this is not a
    ``DataContractError``: the account is simply outside the population that is scored.
    """


class ScoringInputError(KamMLError, ValueError):
    """The scoring path was given inputs it cannot score together (e.g. offers without the
    order history, or feature rows at several dates). A ``ValueError`` too, as it was."""
