"""The API finds champions where ``kam-ml`` does: the same environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from kam_ml.errors import ActionStoreError
from kam_ml.settings import Settings
from serving.app import create_app
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


def test_actions_live_in_the_nightly_folder_unless_kam_actions_url_says_otherwise(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("KAM_ACTIONS_URL", raising=False)
    assert ServingSettings(nightly_dir=None).actions_store_url is None
    default = ServingSettings(nightly_dir=tmp_path)
    assert default.actions_store_url == f"sqlite:///{tmp_path.resolve()}/actions.db"
    monkeypatch.setenv("KAM_ACTIONS_URL", "sqlite:////srv/kam/actions.db")
    assert (
        ServingSettings(nightly_dir=tmp_path).actions_store_url == "sqlite:////srv/kam/actions.db"
    )
    assert Settings().actions_url == "sqlite:////srv/kam/actions.db"  # the nightly job's too


def test_an_unknown_actions_url_stops_the_app_at_creation():
    with pytest.raises(ActionStoreError, match="'mysql://db/kam' is not a store kam-ml knows"):
        create_app(ServingSettings(actions_url="mysql://db/kam"))


@pytest.mark.parametrize(
    ("actions", "tracking"),
    [
        ("postgresql://kam:s3cret@db/mlflow", "postgresql+psycopg://mlflow:other@DB:5432/mlflow"),
        ("sqlite:///mlflow.db", "sqlite:///./mlflow.db"),
    ],
)
def test_mlflows_database_is_refused_as_the_actions_store(actions, tracking):
    with pytest.raises(ActionStoreError, match="names MLflow's database") as caught:
        create_app(ServingSettings(actions_url=actions, tracking_uri=tracking))
    assert "s3cret" not in str(caught.value)


def test_another_database_on_mlflows_server_is_fine():
    settings = ServingSettings(
        actions_url="postgresql://kam@db/kam_actions", tracking_uri="postgresql://kam@db/mlflow"
    )
    assert create_app(settings).state.actions.url == "postgresql://kam@db/kam_actions"
