"""Where a store puts new experiments' artifacts, and which stores need KAM_ARTIFACT_ROOT.

The PostgreSQL and ``mlflow server`` cases run for real in tests/e2e/test_mlflow_postgres.py;
these are the rules themselves, on local SQLite stores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kam_ml.errors import TrackingStoreError
from kam_ml.registry.tracking import (
    TrackingStore,
    _raised,
    is_database_store,
    require_artifact_root,
)


@pytest.mark.parametrize(
    ("uri", "database"),
    [
        ("postgresql+psycopg://kam@db/mlflow", True),
        ("postgresql://kam@db/mlflow", True),
        ("mysql+pymysql://kam@db/mlflow", True),
        ("MSSQL://kam@db/mlflow", True),
        ("sqlite:///mlflow.db", False),
        ("http://mlflow:5000", False),
        ("https://mlflow.example", False),
        ("mlruns", False),
    ],
)
def test_only_databases_other_than_sqlite_are_database_stores(uri: str, database: bool) -> None:
    assert is_database_store(uri) is database


def test_a_database_store_needs_an_absolute_root_and_names_both_remedies() -> None:
    uri = "postgresql+psycopg://kam:s3cret@db:5432/mlflow"
    with pytest.raises(TrackingStoreError) as refused:
        require_artifact_root(uri, None)
    message = str(refused.value)
    assert "postgresql+psycopg://kam:***@db:5432/mlflow is a database" in message
    assert "s3cret" not in message
    assert "set KAM_ARTIFACT_ROOT" in message and "--artifacts-destination DIR" in message
    with pytest.raises(TrackingStoreError, match="Got 'artifacts', which would depend"):
        require_artifact_root(uri, "artifacts")
    for accepted in ("/srv/mlflow-artifacts", "s3://bucket/mlflow", "file:///srv/a"):
        require_artifact_root(uri, accepted)
    for other in ("sqlite:///mlflow.db", "http://mlflow:5000"):
        require_artifact_root(other, None)  # they have a place of their own


def test_a_set_root_holds_new_experiments_of_a_sqlite_store_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "shared" / "artifacts"
    store = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(root))
    with store.run("kam-churn", "probe"):
        pass
    found = store.client.get_experiment_by_name("kam-churn")
    assert found is not None and found.artifact_location == (root / "kam-churn").as_uri()
    remote = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root="s3://b/ml/")
    assert remote._artifact_root("kam-value") == "s3://b/ml/kam-value"
    default = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert default._artifact_root("kam-offers") == (
        (tmp_path / "mlartifacts" / "kam-offers").resolve().as_uri()
    )


def test_a_child_processes_exception_is_shown_without_its_traceback() -> None:
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 3, in <module>\n'
        "    connect()\n"
        "    ^^^^^^^^^\n"
        'sqlalchemy.exc.OperationalError: connection to server at "db", port 1 failed\n'
        "\tIs the server running?\n"
    )
    assert _raised(stderr) == (
        'sqlalchemy.exc.OperationalError: connection to server at "db", port 1 failed '
        "Is the server running?"
    )
    assert _raised("just one line\n") == "just one line"
    assert _raised("") == "no reason given"
