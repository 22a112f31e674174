"""A new nightly snapshot and a new champion are picked up without a restart or a failed request."""

from __future__ import annotations

import shutil
import threading
import time

import httpx
import pandas as pd
from mlflow.tracking import MlflowClient

from tests.serving.conftest import API_KEY, copy_night, running


def test_new_night_and_new_champion_load_while_requests_keep_succeeding(
    book, history_of, tmp_path, monkeypatch
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

    with running(book.settings(nightly_dir=nightly, tracking_uri=tracking_uri)) as url:

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
            v2 = client.create_model_version("kam-churn", v1.source, run_id=v1.run_id)
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
            metrics = http.get("/metrics").text
            assert 'kam_reloads_total{what="snapshot"} 2.0' in metrics
    assert len(statuses) > 50
    assert set(statuses) == {200}
