"""Writing score tables a person or a CRM import reads (Parquet keeps lists; CSV joins lists
of words with " | " and writes lists of records, such as ``reason_details``, as JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from kam_ml.csv_cells import write_csv
from kam_ml.errors import KamMLError
from kam_ml.parquet import write_parquet

__all__ = ["write_table"]

LIST_SEPARATOR = " | "


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as Parquet or CSV by the file's suffix, atomically (temp + rename)."""
    suffix = path.suffix.lower()
    if suffix not in {".parquet", ".csv"}:
        raise KamMLError(f"--out must end in .parquet or .csv; got {path.name!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if suffix == ".parquet":
        write_parquet(frame, tmp)
    else:
        flat = frame.copy()
        for column in flat.columns:
            if flat[column].map(lambda v: isinstance(v, list | tuple)).any():
                records = flat[column].map(_holds_records).any()
                flat[column] = flat[column].map(_json if records else _joined)
        write_csv(flat, tmp, index=False)
    tmp.replace(path)
    return path


def _holds_records(value: Any) -> bool:
    return isinstance(value, list | tuple) and any(isinstance(v, dict) for v in value)


def _json(value: Any) -> Any:
    """A list of records as JSON (``[]`` for none), so a CRM import parses every cell."""
    if not isinstance(value, list | tuple):
        return value
    return json.dumps(list(value), separators=(",", ":"), ensure_ascii=False)


def _joined(value: Any) -> Any:
    return LIST_SEPARATOR.join(map(str, value)) if isinstance(value, list | tuple) else value
