"""CSV cells a spreadsheet cannot turn into formulas: the one rule every CSV writer uses.

Excel, LibreOffice and Google Sheets evaluate a cell that begins with ``=``, ``+``, ``-``
or ``@`` (and, in some, a leading tab or carriage return) as a formula, so an account id
or a region typed as ``=HYPERLINK("http://evil", "x")`` in the CRM would run in the
manager's spreadsheet. As OWASP recommends, such a *text* cell is written with a leading
single quote, which the spreadsheet shows as text and does not evaluate. A cell that is a
plain number (``-3.5``, ``+1e5``) is no formula and is written unchanged, so numbers read
back as numbers; so are numeric columns, which never hold text.

A top-level module, below every layer, because the report writers of ``kam_ml.data``,
``kam_ml.reporting``, ``kam_ml.nightly`` and ``kam_ml.science`` all need it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "safe_cell", "safe_frame", "write_csv"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would read it as a formula."""
    if text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _safe_value(value: Any) -> Any:
    return safe_cell(value) if isinstance(value, str) else value


def _is_text(values: pd.Series | pd.Index) -> bool:
    dtype = values.dtype
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and text index) pass ``safe_cell``; numeric
    columns are left as they are."""
    columns = [frame.iloc[:, i] for i in range(frame.shape[1])]
    columns = [c.astype(object).map(_safe_value) if _is_text(c) else c for c in columns]
    safe = pd.concat(columns, axis=1) if columns else frame.copy()
    safe.columns = frame.columns
    if _is_text(frame.index):
        safe.index = frame.index.map(_safe_value)
    return safe


def write_csv(frame: pd.DataFrame, path: Path, **to_csv: Any) -> Path:
    """``frame.to_csv(path, **to_csv)`` after ``safe_frame``: how kam-ml writes every CSV."""
    safe_frame(frame).to_csv(path, **to_csv)
    return path
