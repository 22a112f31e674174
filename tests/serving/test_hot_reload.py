"""A new nightly snapshot and a new champion are picked up without a restart or a failed request."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from kam_ml.registry.tracking import METADATA_DIGEST_TAG, MODEL_DIGESTS_TAG
from tests.malicious import plant_malicious_pickle
from tests.serving.conftest import API_KEY, copy_night, running


def _approval(tags: dict[str, str]) -> dict[str, str]:
    return {key: tags[key] for key in (MODEL_DIGESTS_TAG, METADATA_DIGEST_TAG)}


@pytest.mark.parametrize("history_process", [False, True], ids=["thread", "worker-process"])
def test_new_night_and_new_champion_load_while_requests_keep_succeeding(
    book, history_of, tmp_path, monkeypatch, history_process
):
    shutil.copy(book.root / "mlflow.db", tmp_path / "mlflow.db")  # artifacts stay shared, read-only
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # MLflow's SQL registry looks up a models:/ source through the *global* tracking URI
    # (even from a client bound to another store), and kam-ml no longer leaves one behind.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    nightly = tmp_path / "nightly"
    nightly.mkdir()
    copy_night(book.first.directory, nightly)
    account = pd.read_parquet(book.second.directory / "scores.parquet")["account_id"].iloc[0]
    body = history_of(account)
    statuses: list[int] = []
    stop = threading.Event()

    settings = book.settings(
        nightly_dir=nightly, tracking_uri=tracking_uri, history_process=history_process
    )
    with running(settings) as url:

        def hammer() -> None:
            with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30) as http:
                i = 0
                while not stop.is_set():
                    statuses.append(http.get(f"/v1/accounts/{account}").status_code)
                    statuses.append(
                        http.post("/v1/scores", json={"account_ids": [account]}).status_code
                    )
                    if i % 10 == 0:
                        statuses.append(http.post("/v1/scores/from-history", json=body).status_code)
                    i += 1

        with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=60) as http:
            # scored once before the clock starts: a worker process starts in seconds
            assert http.post("/v1/scores/from-history", json=body).status_code == 200
        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for thread in threads:
            thread.start()
        with httpx.Client(base_url=url, timeout=30) as http:
            before = http.get("/ready").json()
            assert before["snapshot_as_of"] == str(book.first.as_of.date())
            assert before["model_versions"]["churn"] == "1"
            time.sleep(0.5)
            copy_night(book.second.directory, nightly)
            client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
            v1 = client.get_model_version("kam-churn", "1")
            # the same files, approved as the gate would (their digests on the version's tags)
            v2 = client.create_model_version(
                "kam-churn", v1.source, run_id=v1.run_id, tags=_approval(v1.tags)
            )
            client.set_registered_model_alias("kam-churn", "champion", v2.version)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                ready = http.get("/ready").json()
                if ready["snapshot_as_of"] == str(book.second.as_of.date()) and ready[
                    "model_versions"
                ]["churn"] == str(v2.version):
                    break
                time.sleep(0.1)
            time.sleep(0.5)  # requests on the new state too
            stop.set()
            for thread in threads:
                thread.join()
            assert ready["snapshot_as_of"] == str(book.second.as_of.date())
            assert ready["model_versions"]["churn"] == str(v2.version)
            fresh = http.post(
                "/v1/scores/from-history", json=body, headers={"X-API-Key": API_KEY}
            ).json()
            assert fresh["model_versions"]["churn"] == str(v2.version)
            assert fresh["features_as_of"] == str(book.second.as_of.date())
            metrics = http.get("/metrics").text
            assert 'kam_reloads_total{what="snapshot"} 2.0' in metrics
    assert len(statuses) > 50
    assert set(statuses) == {200}


def test_a_tampered_new_champion_is_refused_and_the_old_models_keep_serving(
    book, tmp_path, monkeypatch
):
    """A new champion whose files were swapped after approval (a malicious ``model.pkl``) is
    never unpickled; with no exported bundle to stand in, the API keeps v1 and says why."""
    shutil.copy(book.root / "mlflow.db", tmp_path / "mlflow.db")
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    nightly = tmp_path / "nightly"
    nightly.mkdir()
    copy_night(book.second.directory, nightly)
    account = pd.read_parquet(book.second.directory / "scores.parquet")["account_id"].iloc[0]
    [v1_files] = (book.root / "mlartifacts" / "kam-churn").glob("models/*/artifacts")
    evil = tmp_path / "evil-artifacts"
    shutil.copytree(v1_files, evil)
    marker = tmp_path / "PWNED"
    plant_malicious_pickle(evil / "model.pkl", marker)
    settings = book.settings(
        nightly_dir=nightly, tracking_uri=tracking_uri, models_dir=tmp_path / "no-bundles"
    )
    with running(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/ready").json()["model_versions"]["churn"] == "1"
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        v1 = client.get_model_version("kam-churn", "1")
        v2 = client.create_model_version(
            "kam-churn", str(Path(evil)), run_id=v1.run_id, tags=_approval(v1.tags)
        )
        client.set_registered_model_alias("kam-churn", "champion", v2.version)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = http.get("/ready").json()
            if any("is not the model that was registered" in p for p in ready["model_problems"]):
                break
            time.sleep(0.1)
        assert ready["status"] == "ready" and ready["model_versions"]["churn"] == "1"
        [problem] = [p for p in ready["model_problems"] if p.startswith("models:")]
        assert f"models:/kam-churn/{v2.version} is not the model that was registered" in problem
        scored = http.post(
            "/v1/scores", json={"account_ids": [account]}, headers={"X-API-Key": API_KEY}
        )
        assert scored.status_code == 200
    assert not marker.exists()
