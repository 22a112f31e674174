"""The API finds champions where ``kam-ml`` does: the same environment variables."""

from __future__ import annotations

from pathlib import Path

from kam_ml.settings import Settings
from serving.settings import ServingSettings


def test_serving_reads_the_model_store_from_the_library_settings(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////srv/kam/mlflow.db")
    monkeypatch.setenv("KAM_MODELS_DIR", "/srv/kam/models")
    monkeypatch.setenv("KAM_API_KEYS", "a, b,")
    serving, library = ServingSettings(), Settings()
    assert (
        (serving.tracking_uri, serving.models_dir)
        == (
            library.tracking_uri,
            library.models_dir,
        )
        == ("sqlite:////srv/kam/mlflow.db", Path("/srv/kam/models"))
    )
    assert serving.api_key_set == frozenset({"a", "b"})
