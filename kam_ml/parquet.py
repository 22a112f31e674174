"""Every Parquet file kam-ml writes, and reads back, goes through these two functions.

Timestamps are stored in microseconds: Spark rejects nanosecond Parquet timestamps
(``Illegal Parquet type: INT64 (TIMESTAMP(NANOS,false))``) and so do other readers, while
kam-ml computes in nanoseconds (pandas' ``datetime64[ns]``). The data contract already keeps
timestamps to whole microseconds (``kam_ml.data.contract``), so the conversion loses nothing;
should a finer value ever reach a writer, Arrow's strict cast refuses it instead of cutting
it silently. Reading gives ``datetime64[ns]`` back whatever the file stores, and text as
``kam_ml.pandas_compat.TEXT``, so a snapshot reads the same on every supported pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kam_ml.pandas_compat import arrow_to_pandas

__all__ = ["read_parquet", "write_parquet"]


def write_parquet(frame: pd.DataFrame | pa.Table, path: Path) -> Path:
    """Write ``frame`` (without its index) or an Arrow table (with its schema metadata) to
    ``path``, timestamps in microseconds; ``ArrowInvalid`` if one has a finer part."""
    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )
    pq.write_table(table, Path(path), coerce_timestamps="us", allow_truncated_timestamps=False)
    return Path(path)


def read_parquet(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A Parquet file kam-ml wrote (microsecond or, before, nanosecond timestamps) as the
    frame it was written from: timestamps in nanoseconds, text as ``TEXT``; ``columns``
    reads only those."""
    names = list(columns) if columns is not None else None
    frame = arrow_to_pandas(pq.read_table(Path(path), columns=names))
    for column, dtype in frame.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit != "ns":
            frame[column] = frame[column].dt.as_unit("ns")
        elif pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            frame[column] = frame[column].astype("datetime64[ns]")
    return frame
