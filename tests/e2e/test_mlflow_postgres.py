"""MLflow on PostgreSQL, both ways kam-ml supports it (docs/mlflow.md), with real parts.

A direct ``postgresql+psycopg://`` tracking URI is refused without ``KAM_ARTIFACT_ROOT`` by
every command and by the API, before MLflow touches the database; with it, experiments
keep their artifacts under the root. ``mlflow server`` on the throwaway PostgreSQL, with
``--artifacts-destination``, is what ``kam-ml train``, ``score``, ``nightly`` and the API use
over HTTP; restarting the server and PostgreSQL loses nothing, and the API picks up a new
champion without a restart. One training in the module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pandas as pd
import psycopg
import pytest
from mlflow.tracking import MlflowClient

from kam_ml.errors import TrackingStoreError
from kam_ml.registry.tracking import (
    METADATA_DIGEST_TAG,
    MODEL_DIGESTS_TAG,
    TrackingStore,
    upgrade_schema,
)
from serving.settings import ServingSettings
from tests.pg import ThrowawayPostgres
from tests.serving.conftest import API_KEY, history_body, running

KAM_ML = [sys.executable, "-m", "kam_ml"]
MODELS = ("kam-churn", "kam-offers", "kam-value")
REPO = Path(__file__).resolve().parents[2]


def _env(**changes: str) -> dict[str, str]:
    """This environment without any MLflow or kam-ml store setting, plus ``changes``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"MLFLOW_TRACKING_URI", "KAM_ARTIFACT_ROOT", "KAM_MODELS_DIR"}
    }
    return env | {"COLUMNS": "200", "PYTHONPATH": str(REPO)} | changes


def kam(
    args: list[str], cwd: Path, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        KAM_ML + args, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=900
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kam-ml {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tables(database_uri: str) -> int:
    with psycopg.connect(database_uri) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("book")
    kam(["demo-data", "--out", "data", "--accounts", "600", "--seed", "5"], root)
    return root / "data"


# -- a direct database URI --------------------------------------------------------------
def test_a_database_uri_without_an_artifact_root_is_refused_before_mlflow_opens_it(
    postgres: ThrowawayPostgres, data: Path, tmp_path: Path
) -> None:
    uri = postgres.create_database("mlflow_direct").replace("postgresql:", "postgresql+psycopg:")
    commands = {
        "train": ["train", "--data", str(data)],
        "score": ["score", "--data", str(data), "--out", "s.csv"],
    }  # nightly and the API find models as score does (ChampionSource)
    for command, args in commands.items():
        result = kam(args, tmp_path, check=False, MLFLOW_TRACKING_URI=uri)
        message = " ".join(result.stderr.split())
        assert result.returncode == 1, command
        assert f"The MLflow tracking URI {uri} is a database" in message, command
        assert "set KAM_ARTIFACT_ROOT" in message, command
        assert f"'mlflow server --backend-store-uri {uri} --artifacts-destination DIR'" in message
        assert "Traceback" not in result.stderr + result.stdout, command
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "s.csv").exists()
    assert _tables(postgres.url("mlflow_direct")) == 0  # MLflow never even created its schema
    with pytest.raises(TrackingStoreError, match="absolute folder or a URI"):
        TrackingStore(uri, artifact_root="artifacts")  # relative: the cwd problem again


def test_the_api_says_why_it_has_no_models_on_a_database_uri_without_an_artifact_root(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    uri = postgres.url("mlflow_direct", driver="postgresql+psycopg")
    settings = ServingSettings(
        api_keys=API_KEY, tracking_uri=uri, nightly_dir=tmp_path, models_dir=tmp_path / "none"
    )
    with running(settings) as url:
        ready = httpx.get(f"{url}/ready", timeout=30)
    assert ready.status_code == 503
    [problem] = [p for p in ready.json()["problems"] if p.startswith("models:")]
    # the open probe cuts the URI (the log has it whole); the reason and remedies stay
    assert "/mlflow_direct is a database, which has no place of its own for artifacts" in problem
    assert "set KAM_ARTIFACT_ROOT" in problem and "--artifacts-destination DIR" in problem


def test_with_an_artifact_root_experiments_keep_their_artifacts_under_it(
    postgres: ThrowawayPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = postgres.create_database("mlflow_rooted").replace("postgresql:", "postgresql+psycopg:")
    root, elsewhere, report = tmp_path / "artifacts", tmp_path / "cwd", tmp_path / "report"
    elsewhere.mkdir()
    report.mkdir()
    (report / "note.txt").write_text("kept")
    monkeypatch.chdir(elsewhere)  # where MLflow would have put them
    store = TrackingStore(uri, artifact_root=str(root))
    with store.run("kam-churn", "probe") as run_id:
        store.log_artifacts(report, "report")
    experiment = store.client.get_experiment_by_name("kam-churn")
    assert experiment is not None
    assert experiment.artifact_location == (root / "kam-churn").as_uri()
    assert (root / "kam-churn" / run_id / "artifacts" / "report" / "note.txt").read_text() == "kept"
    assert list(elsewhere.iterdir()) == []


def test_db_upgrade_brings_a_database_to_mlflows_schema_and_hides_its_password(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    postgres.create_database("mlflow_upgrade")
    with_password = postgres.url("mlflow_upgrade", driver="postgresql+psycopg").replace(
        "kam@", "kam:s3cret@"
    )  # trust authentication accepts any password
    done = kam(["db-upgrade", "--uri", with_password], tmp_path)
    with psycopg.connect(postgres.url("mlflow_upgrade")) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row is not None
    shown = with_password.replace("s3cret", "***")
    assert f"MLflow schema of {shown} is up to date (revision {row[0]})" in done.stdout
    assert "s3cret" not in done.stdout + done.stderr
    assert _tables(postgres.url("mlflow_upgrade")) > 50
    refused = kam(["db-upgrade"], tmp_path, check=False, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    assert refused.returncode == 1 and "is not a database URI" in refused.stderr
    with pytest.raises(TrackingStoreError, match="upgrades its own database"):
        upgrade_schema("https://mlflow.example")


# -- mlflow server on PostgreSQL ---------------------------------------------------------
@dataclass
class MlflowServer:
    """``mlflow server`` on a PostgreSQL database, proxying artifacts, on a fixed port."""

    backend: str
    artifacts: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.backend,
            "--artifacts-destination", str(self.artifacts),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]  # fmt: skip
        began = time.monotonic()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped whole
            )
        deadline = began + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    self.started_in = time.monotonic() - began
                    print(f"mlflow server ready in {self.started_in:.1f} s", file=sys.stderr)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"mlflow server not ready in 180 s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@dataclass(frozen=True)
class Served:
    server: MlflowServer
    data: Path
    runner: Path  # where kam-ml train ran: no artifacts may land here
    first_train: str


@pytest.fixture(scope="module")
def served(
    postgres: ThrowawayPostgres, data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    backend = postgres.create_database("mlflow_srv").replace("postgresql:", "postgresql+psycopg:")
    server = MlflowServer(backend, root / "srv-artifacts", _free_port(), root / "server.log")
    server.start()
    try:
        runner = root / "runner"
        runner.mkdir()
        trained = kam(["train", "--data", str(data)], runner, MLFLOW_TRACKING_URI=server.url)
        yield Served(server, data, runner, trained.stdout)
    finally:
        server.stop()


def _registry(url: str) -> dict[str, dict[str, object]]:
    """Each model's versions and alias targets, as the server reports them."""
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    found: dict[str, dict[str, object]] = {}
    for name in MODELS:
        model = client.get_registered_model(name)
        versions = sorted(str(v.version) for v in client.search_model_versions(f"name='{name}'"))
        found[name] = {"versions": versions, "aliases": dict(model.aliases)}
    return found


def _score(served: Served, cwd: Path) -> pd.DataFrame:
    """``kam-ml score`` with the server's champion from another folder, with no bundles to
    fall back on: the model can only have come through the server."""
    cwd.mkdir(exist_ok=True)
    kam(
        ["score", "--data", str(served.data), "--out", "scores.parquet",
         "--model", "models:/kam-churn@champion"],
        cwd, MLFLOW_TRACKING_URI=served.server.url, KAM_MODELS_DIR=str(cwd / "no-bundles"),
    )  # fmt: skip
    return pd.read_parquet(cwd / "scores.parquet")


def test_training_over_http_registers_three_champions_with_artifacts_on_the_server(
    served: Served,
) -> None:
    registry = _registry(served.server.url)
    for name in MODELS:
        assert registry[name] == {
            "versions": ["1"],
            "aliases": {"champion": "1", "challenger": "1"},
        }, name
    client = MlflowClient(tracking_uri=served.server.url)
    experiment = client.get_experiment_by_name("kam-churn")
    assert experiment is not None and experiment.artifact_location.startswith("mlflow-artifacts:")
    logged = list((served.server.artifacts / experiment.experiment_id).rglob("model.pkl"))
    assert logged, "the churn model is not in the server's --artifacts-destination"
    assert not (served.runner / "mlruns").exists()
    assert not (served.runner / "mlartifacts").exists()


@pytest.fixture(scope="module")
def first_scores(served: Served, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    return _score(served, tmp_path_factory.mktemp("elsewhere"))


def test_a_second_process_scores_with_the_champion_the_server_holds(
    first_scores: pd.DataFrame,
) -> None:
    scores = first_scores
    assert len(scores) > 300 and scores["churn_probability"].between(0, 1).all()
    assert (scores["churn_model_version"] == "1").all()


def test_restarting_the_server_and_postgresql_loses_nothing(
    served: Served, first_scores: pd.DataFrame, postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    before = _registry(served.server.url)
    served.server.stop()
    postgres.restart()
    served.server.start()
    assert _registry(served.server.url) == before
    pd.testing.assert_frame_equal(_score(served, tmp_path / "after"), first_scores)


def test_the_api_serves_from_the_server_and_hot_reloads_a_new_champion(
    served: Served, tmp_path: Path
) -> None:
    url = served.server.url
    nightly = tmp_path / "nightly"
    kam(["nightly", "--data", str(served.data), "--out", str(nightly)], tmp_path,
        MLFLOW_TRACKING_URI=url, KAM_MODELS_DIR=str(tmp_path / "no-bundles"))  # fmt: skip
    scores = pd.read_parquet(next(nightly.glob("*/scores.parquet")))
    account = str(scores["account_id"].iloc[0])
    body = history_body(SimpleNamespace(data=served.data), account)  # type: ignore[arg-type]
    api_port = _free_port()
    env = _env(
        MLFLOW_TRACKING_URI=url,
        KAM_API_KEYS=API_KEY,
        KAM_NIGHTLY_DIR=str(nightly),
        KAM_MODELS_DIR=str(tmp_path / "no-bundles"),
        KAM_RELOAD_INTERVAL_SECONDS="0.5",
    )
    with (tmp_path / "api.log").open("wb") as log:
        api = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "serving.main:app", "--host", "127.0.0.1",
             "--port", str(api_port), "--log-level", "warning"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}", headers={"X-API-Key": API_KEY}, timeout=60
        ) as http:
            ready = _wait_for(http, lambda r: r.get("status") == "ready", api)
            assert ready["model_versions"]["churn"] == "1"
            first = http.post("/v1/scores/from-history", json=body)
            assert first.status_code == 200, first.text
            assert first.json()["model_versions"]["churn"] == "1"

            # a new version of the same approved files, promoted on the server (as the
            # gate or an operator would): the API must follow it without a restart
            client = MlflowClient(tracking_uri=url, registry_uri=url)
            v1 = client.get_model_version("kam-churn", "1")
            approval = {k: v1.tags[k] for k in (MODEL_DIGESTS_TAG, METADATA_DIGEST_TAG)}
            logged_model = v1.model_id or v1.source.removeprefix("models:/")
            v2 = client.create_model_version(  # a server checks the source is that model's
                "kam-churn", v1.source, run_id=v1.run_id, tags=approval, model_id=logged_model
            )
            client.set_registered_model_alias("kam-churn", "champion", v2.version)
            promoted = str(v2.version)
            reloaded = _wait_for(http, lambda r: r["model_versions"].get("churn") == promoted, api)
            assert reloaded["status"] == "ready"
            second = http.post("/v1/scores/from-history", json=body)
            assert second.status_code == 200, second.text
            assert second.json()["model_versions"]["churn"] == promoted == "2"
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
    assert not (tmp_path / "mlruns").exists()  # the nightly job and the API wrote none either


def _wait_for(http: httpx.Client, done: object, api: subprocess.Popen[bytes]) -> dict:
    """``/ready``'s body once ``done(body)`` holds (within 120 s)."""
    assert callable(done)
    deadline, body = time.monotonic() + 120, {}
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise RuntimeError("the API exited")
        try:
            body = http.get("/ready").json()
            if done(body):
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"/ready never got there: {body}")
