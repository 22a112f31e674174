"""kam_ml.parquet: microsecond timestamps on disk (Spark reads them), nanoseconds in memory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kam_ml.pandas_compat import TEXT
from kam_ml.parquet import read_parquet, write_parquet


def frame() -> pd.DataFrame:
    when = pd.Series(pd.to_datetime(["2024-05-01 10:30:00.123456", None])).astype("M8[ns]")
    return pd.DataFrame(
        {
            "account_id": pd.Series(["A-1", None], dtype=TEXT),
            "when": when,
            "aware": when.dt.tz_localize("UTC"),
            "dates": [[pd.Timestamp("2024-05-01").as_unit("ns")], []],
            "p": [0.25, 0.5],
        }
    )


def timestamp_units(path: Path) -> dict[str, str]:
    """Every timestamp in the file's schema, nested ones too, by column."""

    def units(type_: pa.DataType) -> list[str]:
        if pa.types.is_timestamp(type_):
            return [type_.unit]
        return [u for i in range(type_.num_fields) for u in units(type_.field(i).type)]

    schema = pq.read_schema(path)
    return {f.name: u for f in schema for u in units(f.type)}


def test_timestamps_are_written_in_microseconds(tmp_path: Path) -> None:
    path = write_parquet(frame(), tmp_path / "t.parquet")
    assert timestamp_units(path) == {"when": "us", "aware": "us", "dates": "us"}
    assert str(pq.read_schema(path).field("aware").type) == "timestamp[us, tz=UTC]"


def test_a_written_frame_reads_back_as_it_was(tmp_path: Path) -> None:
    path = write_parquet(frame(), tmp_path / "t.parquet")
    back = read_parquet(path)
    pd.testing.assert_frame_equal(back.drop(columns="dates"), frame().drop(columns="dates"))
    assert back["when"].dtype == "datetime64[ns]"
    assert read_parquet(path, columns=["p"]).columns.tolist() == ["p"]


def test_a_nanosecond_file_from_before_reads_the_same(tmp_path: Path) -> None:
    old = tmp_path / "old.parquet"
    frame().to_parquet(old, index=False, coerce_timestamps=None)
    assert timestamp_units(old)["when"] == "ns"
    new = write_parquet(frame(), tmp_path / "new.parquet")
    pd.testing.assert_frame_equal(read_parquet(old), read_parquet(new))


def test_a_sub_microsecond_time_is_refused_not_cut(tmp_path: Path) -> None:
    fine = pd.DataFrame({"when": [pd.Timestamp("2024-05-01 10:30:00.123456789")]})
    with pytest.raises(pa.ArrowInvalid, match="would lose data"):
        write_parquet(fine, tmp_path / "t.parquet")


def test_an_arrow_table_keeps_its_schema_metadata(tmp_path: Path) -> None:
    table = pa.table({"x": [1]}).replace_schema_metadata({"kam": "1"})
    path = write_parquet(table, tmp_path / "t.parquet")
    assert pq.read_schema(path).metadata == {b"kam": b"1"}
