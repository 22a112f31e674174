"""Writing score tables a person or a CRM import reads (Parquet keeps lists; CSV joins them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kam_ml.errors import KamMLError

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
        frame.to_parquet(tmp, index=False)
    else:
        flat = frame.copy()
        for column in flat.columns:
            if flat[column].map(lambda v: isinstance(v, list | tuple)).any():
                flat[column] = flat[column].map(
                    lambda v: LIST_SEPARATOR.join(map(str, v)) if isinstance(v, list | tuple) else v
                )
        flat.to_csv(tmp, index=False)
    tmp.replace(path)
    return path
