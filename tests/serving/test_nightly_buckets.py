"""``kam-ml nightly --buckets N``: the accounts scored a bucket at a time, the same night.

The bucketed night is compared file by file with the book's unbucketed second night (both
compared with the same first night), so any difference a bucket boundary makes — a peer
average, an offer ranked against a bucket instead of the book, a row out of order — shows
up as a changed byte in the scores, the snapshot or a manager's list.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from kam_ml.cli import app
from kam_ml.data.buckets import account_buckets, split_by_bucket
from kam_ml.data.tables import account_codes
from kam_ml.nightly.job import run_nightly
from kam_ml.registry.champions import ChampionSource
from tests.serving.conftest import copy_night

# what a night writes that is not a function of the data: when it ran and how long it took
_RUN_FACTS = {"manifest.json", "timings.json"}


def _night_files(night) -> dict[str, bytes]:
    return {
        str(path.relative_to(night)): path.read_bytes()
        for path in sorted(night.rglob("*"))
        if path.is_file() and path.name not in _RUN_FACTS
    }


@pytest.mark.parametrize("buckets", [2, 7])
def test_a_bucketed_night_writes_the_same_files_as_the_unbucketed_one(book, tmp_path, buckets):
    out = tmp_path / "nightly"
    out.mkdir()
    copy_night(book.first.directory, out)
    source = ChampionSource(tracking_uri=book.tracking_uri, models_dir=book.models_dir)
    result = run_nightly(str(book.data), out, source, as_of=book.second.as_of, buckets=buckets)
    expected, got = _night_files(book.second.directory), _night_files(result.directory)
    assert sorted(got) == sorted(expected)
    changed = [name for name in expected if got[name] != expected[name]]
    assert changed == []
    assert result.accounts == book.second.accounts and result.bands == book.second.bands


def test_every_account_lands_in_one_bucket_and_each_bucket_is_a_book(book):
    tables = book.tables
    parts = split_by_bucket(tables, 5)
    positions = np.concatenate([p for p, _ in parts])
    assert sorted(positions.tolist()) == list(range(tables.n_accounts))
    assert sum(len(b.orders) for _, b in parts) == len(tables.orders)
    assert sum(len(b.interactions) for _, b in parts) == len(tables.interactions)
    for kept, bucket in parts:
        ids = bucket.accounts["account_id"]
        assert ids.tolist() == tables.accounts["account_id"].iloc[kept].tolist()
        for frame in (bucket.orders, bucket.interactions):
            assert list(frame["account_id"].cat.categories) == ids.tolist()
            assert (account_codes(frame) >= 0).all()
        assert bucket.order_history_start() == tables.order_history_start()


@given(ids=st.lists(st.text(min_size=1, max_size=12), max_size=40), n=st.integers(1, 9))
def test_a_bucket_is_the_crc32_of_the_id_mod_n_whatever_the_process(ids, n):
    buckets = account_buckets(ids, n)
    assert buckets.tolist() == [zlib.crc32(i.encode()) % n for i in ids]
    assert ((buckets >= 0) & (buckets < n)).all()


def test_buckets_must_be_at_least_one(book, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["nightly", "--data", str(book.data), "--out", str(tmp_path), "--buckets", "0"]
    )
    assert result.exit_code != 0
    assert "Invalid value for '--buckets': 0 is not in the range x>=1" in result.output
    assert "Traceback" not in result.output
    assert not any(tmp_path.iterdir())  # refused before anything was read or written
