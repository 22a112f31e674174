"""Map a per-bucket pandas function over a book on Spark.

Why buckets: kam-ml's features and scores are per account, so a book split by
``pmod(hash(account_id), N)`` can be scored one bucket at a time by the same pandas code
that scores a whole book on one machine; Spark only decides who calls it. The three large
tables are tagged, unioned by name and shuffled once by bucket (each order line crosses the
network once); the small ``categories`` table travels with the function (broadcast).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from kam_ml.errors import InactiveAccountError, KamMLError

SPARK_INSTALL_HINT = "pip install 'kam-ml[spark]'"
#: the tables shuffled by bucket (every other table is small and broadcast)
BUCKETED_TABLES = ("accounts", "orders", "interactions")
TABLE_COLUMN = "_kam_table"
BUCKET_COLUMN = "bucket"

BucketFunction = Callable[[dict[str, pd.DataFrame]], pd.DataFrame]


def require_pyspark() -> Any:
    """The pyspark module, or a KamMLError that says how to install it (no traceback)."""
    try:
        import pyspark
    except ImportError as error:
        raise KamMLError(
            f"The Spark engine needs pyspark (and Java 17+): {SPARK_INSTALL_HINT}"
        ) from error
    return pyspark


def spark_schema_for(frame: pd.DataFrame) -> str:
    """A Spark DDL schema for a pandas frame's dtypes: strings, floats, ints, bools and UTC
    timestamps (microseconds, what Spark stores). Lists and dicts are not supported: the
    caller drops or serialises them, so the schema never guesses."""
    fields = []
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "bigint"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "double"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "timestamp"
        elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            kind = "string"
        else:
            raise KamMLError(f"Column {name!r} ({dtype}) has no Spark type in kam-ml's schema")
        fields.append(f"`{name}` {kind}")
    return ", ".join(fields)


def bucket_tables_from_group(
    group: pd.DataFrame, columns: Mapping[str, list[str]], broadcast: Mapping[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """Split one bucket of the tagged union back into the contract tables (each with its own
    columns, in order), plus the broadcast small tables."""
    tables: dict[str, pd.DataFrame] = {}
    for name, names in columns.items():
        rows = group[group[TABLE_COLUMN] == name]
        tables[name] = rows[names].reset_index(drop=True)
    tables.update({name: frame.copy() for name, frame in broadcast.items()})
    return tables


def _apply_bucket(
    group: pd.DataFrame,
    *,
    fn: BucketFunction,
    columns: Mapping[str, list[str]],
    broadcast: Mapping[str, pd.DataFrame],
    output_columns: list[str],
) -> pd.DataFrame:
    out = fn(bucket_tables_from_group(group, columns, broadcast))
    return out.reindex(columns=output_columns)


def _utc_naive(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as naive UTC microseconds: what a Spark session in UTC round-trips."""
    frame = frame.copy()
    for name in frame.columns:
        dtype = frame[name].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(frame[name].dtype):
            frame[name] = frame[name].astype("datetime64[us]")
    return frame


def map_buckets_on_spark(
    spark: Any,
    sources: Mapping[str, Any],
    n_buckets: int,
    fn: BucketFunction,
    output_schema: str,
    broadcast: Mapping[str, pd.DataFrame] | None = None,
) -> Any:
    """Run ``fn`` once per account bucket on Spark and return the union of its outputs as a
    Spark DataFrame with ``output_schema`` (DDL).

    ``sources``: table name -> a Spark DataFrame, a pandas frame, a Parquet path, or a
    catalog table name, for ``accounts``, ``orders`` and ``interactions``. ``fn`` must be a
    picklable top-level function (or a ``functools.partial`` of one) taking the bucket's
    contract tables (plus ``broadcast``) and returning a pandas frame; book-level inputs go
    into the partial, so they are computed once and shipped with the function.
    """
    require_pyspark()
    from pyspark.sql import functions as F

    if n_buckets < 1:
        raise KamMLError(f"The number of buckets must be at least 1 (got {n_buckets}).")
    frames = {name: _spark_frame(spark, sources[name]) for name in BUCKETED_TABLES}
    columns = {name: list(frame.columns) for name, frame in frames.items()}
    tagged: Any = None
    for name, frame in frames.items():
        part = frame.withColumn(TABLE_COLUMN, F.lit(name)).withColumn(
            BUCKET_COLUMN, F.expr(f"pmod(hash(account_id), {int(n_buckets)})")
        )
        tagged = part if tagged is None else tagged.unionByName(part, allowMissingColumns=True)
    output_columns = [f.name for f in _parse_schema(spark, output_schema).fields]
    shipped = dict(broadcast or {})

    # a plain function (pyspark inspects its signature; cloudpickle ships the closure, so
    # ``fn``, its book-level inputs and the broadcast tables travel once per task)
    def apply(group: pd.DataFrame) -> pd.DataFrame:
        return _apply_bucket(
            group, fn=fn, columns=columns, broadcast=shipped, output_columns=output_columns
        )

    return tagged.groupBy(BUCKET_COLUMN).applyInPandas(apply, schema=output_schema)


def _parse_schema(spark: Any, ddl: str) -> Any:
    from pyspark.sql.types import StructType

    return StructType.fromDDL(ddl)


def _spark_frame(spark: Any, source: Any) -> Any:
    if isinstance(source, pd.DataFrame):
        return spark.createDataFrame(_utc_naive(source))
    if isinstance(source, str) and not source.endswith(".parquet") and "/" not in source:
        return spark.table(source)
    if isinstance(source, str | bytes) or hasattr(source, "__fspath__"):
        return spark.read.parquet(str(source))
    return source  # already a Spark DataFrame


def score_bucket(
    tables: dict[str, pd.DataFrame],
    *,
    as_of: pd.Timestamp,
    models: Any,
    population: Any = None,
    peers: pd.DataFrame | None = None,
    history_start: pd.Timestamp | None = None,
    drop: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The explained scores of one bucket's accounts against the book-level inputs, through
    kam-ml's own path (``score_histories``: contract checks, features, scores, reasons).

    Columns Spark cannot hold as flat types (lists, dicts) are in ``drop`` or come back as
    JSON text, so every row has a fixed schema."""
    from kam_ml.scoring.history import score_histories

    raw = {name: _from_spark(frame) for name, frame in tables.items()}
    result = score_histories(raw, as_of, models, population, peers, history_start)
    # an inactive account is simply not scored (as on one machine); a contract refusal
    # stops the job, as ``on_bad_rows="refuse"`` does on one machine
    for account, error in result.refused.items():
        if not isinstance(error, InactiveAccountError):
            raise KamMLError(f"Account {account} refused in a Spark bucket: {error}")
    return flat_for_spark(result.explained.drop(columns=list(drop), errors="ignore"))


def flat_for_spark(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists/dicts as JSON text, timestamps as naive UTC: a frame ``spark_schema_for`` types."""
    import json

    frame = _utc_naive(frame)
    for name in frame.columns:
        if frame[name].dtype == object:
            sample = frame[name].dropna()
            if len(sample) and not isinstance(sample.iloc[0], str):
                frame[name] = frame[name].map(
                    lambda v: None if v is None else json.dumps(_plain(v), sort_keys=True)
                )
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _from_spark(frame: pd.DataFrame) -> pd.DataFrame:
    """Spark hands timestamps back naive (UTC session); kam-ml's contract parses them."""
    return frame
