"""Build validated Tables from plain rows, through the real validation path."""

from __future__ import annotations

import pandas as pd

from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables


def tables_from_rows(
    accounts: list[dict], orders: list[dict], interactions: list[dict] | None = None
) -> Tables:
    """The tables a retailer's export of these rows would load into."""
    raw = {"accounts": pd.DataFrame(accounts), "orders": pd.DataFrame(orders)}
    if interactions:
        raw["interactions"] = pd.DataFrame(interactions)
    return validate_tables(raw, on_bad_rows="refuse").tables
