"""A night's explained scores as the rows of the ``kam_scores`` table (an Arrow table).

The CRM reads plain columns and JSON, not Parquet lists: the reasons become one JSON array
of their structured details (``REASON_DETAIL_FIELDS``), the offers one array of objects
(category, label, score, reason; best first), the changes since the previous night one
array of ``CHANGE_FIELDS`` objects. The list cells are Python lists when the job builds the
frame and NumPy arrays when it is read back from ``explained.parquet``; both encode alike,
NumPy scalars as plain numbers and NaN as ``null`` (PostgreSQL's ``jsonb`` has no NaN).
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["SCORE_COLUMNS", "score_rows"]

# (column, PostgreSQL type) in table order; published_at is the database's, not the frame's
SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of", "date"),
    ("account_id", "text"),
    ("manager", "text"),
    ("region", "text"),
    ("segment", "text"),
    ("churn_probability", "double precision"),
    ("risk_band", "text"),
    ("revenue_at_risk", "double precision"),
    ("expected_value_12m", "double precision"),
    ("revenue_365d", "double precision"),
    ("reasons", "jsonb"),
    ("offers", "jsonb"),
    ("previous_probability", "double precision"),
    ("previous_risk_band", "text"),
    ("what_changed", "text"),
    ("changes", "jsonb"),
    ("churn_model_version", "text"),
    ("offers_model_version", "text"),
    ("value_model_version", "text"),
)
_TEXT = [name for name, kind in SCORE_COLUMNS if kind == "text" and name != "account_id"]
_NUMBERS = [name for name, kind in SCORE_COLUMNS if kind == "double precision"]
_OFFER_FIELDS = (
    ("category", "offers"),
    ("label", "offer_labels"),
    ("score", "offer_scores"),
    ("reason", "offer_reasons"),
)


def score_rows(explained: pd.DataFrame, as_of: str) -> pa.Table:
    """One row per account of ``explained`` (``kam_ml.scoring.explained``) for night
    ``as_of`` (YYYY-MM-DD), JSON columns as text (cast to ``jsonb`` by the database).

    A column the frame lacks (a night without offers or a previous night) is null; the
    frame's own ``as_of`` is not read: the night's date is the key, whatever the cells say.
    """
    with _collector_paused():
        return _rows(explained, as_of)


def _rows(explained: pd.DataFrame, as_of: str) -> pa.Table:
    n = len(explained)
    columns: dict[str, pa.Array] = {
        "as_of": pa.array(np.full(n, np.datetime64(as_of, "D")), type=pa.date32()),
        "account_id": pa.array(explained["account_id"].astype(str).to_numpy(), type=pa.string()),
    }
    for name in _TEXT:
        columns[name] = _text(explained, name, n)
    for name in _NUMBERS:
        values = explained[name] if name in explained else pd.Series(np.full(n, np.nan))
        numbers = values.to_numpy(dtype=float)
        columns[name] = pa.array(numbers, type=pa.float64(), mask=np.isnan(numbers))
    columns["reasons"] = _json(_cells(explained, "reason_details", n))
    columns["offers"] = _json(_offers(explained, n))
    columns["changes"] = _json(_cells(explained, "changes", n))
    order = [name for name, _ in SCORE_COLUMNS]
    return pa.table({name: columns[name] for name in order})


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused (as in the nightly job): the millions of
    dicts and lists the JSON is built from made it walk the heap again and again, 4x the
    time at 200k accounts when called alone (``kam-ml publish``)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _text(frame: pd.DataFrame, name: str, n: int) -> pa.Array:
    if name not in frame:
        return pa.nulls(n, type=pa.string())
    cells = [None if _missing(v) else str(v) for v in frame[name].astype(object)]
    return pa.array(cells, type=pa.string())


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _cells(frame: pd.DataFrame, name: str, n: int) -> list[Any]:
    """The column's cells as Python lists (empty for a missing cell or column)."""
    if name not in frame:
        return [[] for _ in range(n)]
    return [_as_list(v) for v in frame[name].to_list()]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float):  # NaN: pandas' missing cell
        return []
    return list(value)


def _offers(frame: pd.DataFrame, n: int) -> list[list[dict[str, Any]]]:
    """Each account's offers, best first, as objects zipped from the four offer columns."""
    parts = [_cells(frame, column, n) for _, column in _OFFER_FIELDS]
    names = [name for name, _ in _OFFER_FIELDS]
    rows: list[list[dict[str, Any]]] = []
    for cells in zip(*parts, strict=True):
        length = len(cells[0])
        padded = [c if len(c) == length else [*c, *[None] * length][:length] for c in cells]
        rows.append([dict(zip(names, entry, strict=True)) for entry in zip(*padded, strict=True)])
    return rows


def _json(cells: Iterable[Any]) -> pa.Array:
    return pa.array([_dumps(cell) for cell in cells], type=pa.string())


def _dumps(cell: Any) -> str:
    try:
        return json.dumps(cell, allow_nan=False, separators=(",", ":"), default=_plain)
    except ValueError:  # a NaN somewhere: rare, so cleaned only then
        return json.dumps(_clean(cell), allow_nan=False, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    """What ``json`` cannot encode itself: NumPy scalars and arrays, anything else as text."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _clean(value: Any) -> Any:
    """``value`` with every NaN (and infinity) as None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_clean(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
