"""Processes opening a fresh local MLflow store at the same moment all get a working store.

MLflow creates a new SQLite store's tables on first open without a lock; the CLI cases of
``tests/e2e/test_cli_bad_input.py`` once lost that race in CI ("table ... already exists").
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from kam_ml.registry.tracking import TrackingStore, _sqlite_path


def _open_and_count_experiments(uri: str) -> int:
    return len(TrackingStore(uri).client.search_experiments())


def test_concurrent_first_opens_of_a_fresh_sqlite_store_all_succeed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        counts = pool.map(_open_and_count_experiments, [uri] * 8)
    assert counts == [1] * 8  # every process sees the store MLflow made, with its Default


def test_only_local_sqlite_stores_are_locked(tmp_path: Path) -> None:
    assert _sqlite_path(f"sqlite:///{tmp_path}/m.db?timeout=5") == tmp_path / "m.db"
    assert _sqlite_path("sqlite:///:memory:") is None
    assert _sqlite_path("http://mlflow:5000") is None
    assert _sqlite_path("postgresql+psycopg://u@h/db") is None
