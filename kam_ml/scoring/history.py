"""Score one account from a posted history: contract checks, features at T, the one path.

Used by the API for accounts created since the last nightly run. The history goes through
``validate_tables`` (refusing bad rows, so the caller learns which rule broke), features
are built at the snapshot's as-of date and scored and explained by
``kam_ml.scoring.explained.score_and_explain``, like the nightly job does for every account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from kam_ml.data.validation import validate_tables
from kam_ml.errors import DataContractError
from kam_ml.features import build_features
from kam_ml.scoring.explained import score_and_explain
from kam_ml.scoring.score import ScoringModels

__all__ = ["InactiveAccountError", "score_history"]


class InactiveAccountError(DataContractError):
    """The posted account has no order in the active window before the as-of date."""


def score_history(
    raw: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    models: ScoringModels,
    population: Any | None = None,
) -> pd.DataFrame:
    """The explained score (one row) of the single account in ``raw``."""
    tables = validate_tables(raw, on_bad_rows="refuse").tables
    definition = models.churn.definition
    features = build_features(tables, pd.Timestamp(as_of).normalize(), definition)
    if features.empty:
        account = tables.accounts["account_id"].iloc[0]
        raise InactiveAccountError(
            f"Account {account} is not active at {pd.Timestamp(as_of).date()}: it has no order "
            f"in the {definition.active_window_days} days up to that date, so it is not scored."
        )
    return score_and_explain(features, models, tables.accounts, population, tables=tables).explained
