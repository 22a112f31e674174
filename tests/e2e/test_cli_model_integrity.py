"""``kam-ml score`` loads only approved models: a planted pickle never runs, in the MLflow
artifact store or in a bundle with its hash recomputed (the reliability probe's finding 1).

A real MLflow SQLite store with a churn champion trained through the gate; every command
runs in a subprocess. Each test tampers with the store's files and puts them back.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kam_ml.churn.job import train_and_register_churn
from kam_ml.data.validation import load_tables
from kam_ml.demo.generate import generate_demo_data
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.tracking import TrackingStore
from tests.malicious import plant_malicious_pickle


@dataclass(frozen=True)
class Store:
    root: Path

    @property
    def model_pkl(self) -> Path:
        [path] = (self.root / "mlartifacts" / "kam-churn").glob("models/*/artifacts/model.pkl")
        return path

    @property
    def bundle(self) -> Path:
        return self.root / "models" / "kam-churn"

    def score(self, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = os.environ | {
            "MLFLOW_TRACKING_URI": f"sqlite:///{self.root / 'mlflow.db'}",
            "KAM_MODELS_DIR": str(self.root / "models"),
            "KAM_REPORTS_DIR": str(self.root / "reports"),
            "COLUMNS": "300",
        }
        args = ["score", "--data", str(self.root / "data"), "--out", str(self.root / "s.csv")]
        return subprocess.run(
            [sys.executable, "-m", "kam_ml", *args, *extra],
            cwd=self.root,
            env=environ | env,
            capture_output=True,
            text=True,
            timeout=600,
        )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("integrity")
    generate_demo_data(n_accounts=800, seed=3).write(root / "data")
    tables = load_tables(str(root / "data")).tables
    train_and_register_churn(
        tables,
        tables.last_date(),
        ProblemDefinition(),
        TrackingStore(f"sqlite:///{root / 'mlflow.db'}"),
        models_dir=root / "models",
        report_dir=root / "reports" / "churn",
    )
    return Store(root)


@pytest.fixture
def store(trained: Store, tmp_path: Path) -> Iterator[Store]:
    """The trained store, its tampered files put back after the test."""
    saved = tmp_path / "saved"
    shutil.copytree(trained.bundle, saved / "bundle")
    shutil.copy(trained.model_pkl, saved / "model.pkl")
    pkl = trained.model_pkl
    try:
        yield trained
    finally:
        shutil.rmtree(trained.bundle)
        shutil.copytree(saved / "bundle", trained.bundle)
        shutil.copy(saved / "model.pkl", pkl)
        (trained.root / "PWNED").unlink(missing_ok=True)


def _plant_in_bundle(bundle: Path, marker: Path) -> None:
    """A malicious model.joblib with its sha256 recomputed in metadata.json, as the probe did."""
    plant_malicious_pickle(bundle / "model.joblib", marker)
    metadata = json.loads((bundle / "metadata.json").read_text())
    digest = hashlib.sha256((bundle / "model.joblib").read_bytes()).hexdigest()
    (bundle / "metadata.json").write_text(json.dumps(metadata | {"sha256": digest}))


def test_the_untouched_champion_scores(store: Store) -> None:
    result = store.score()
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_a_malicious_mlflow_artifact_falls_back_to_the_verified_bundle(store: Store) -> None:
    plant_malicious_pickle(store.model_pkl, store.root / "PWNED")
    result = store.score()
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stderr.split())
    assert "warning: kam-churn: models:/kam-churn/1 is not the model that was registered" in text
    assert f"Loaded the verified exported bundle {store.bundle} (v1) instead." in text
    assert not (store.root / "PWNED").exists()


def test_a_malicious_artifact_and_bundle_stop_with_a_message(store: Store) -> None:
    plant_malicious_pickle(store.model_pkl, store.root / "PWNED")
    _plant_in_bundle(store.bundle, store.root / "PWNED")
    result = store.score()
    assert result.returncode == 1
    text = " ".join(result.stderr.split())
    assert "error: models:/kam-churn/1 is not the model that was registered" in text
    assert "The exported bundle cannot stand in" in text
    assert "is not the bundle that was approved" in text
    assert "Traceback" not in result.stderr + result.stdout
    assert not (store.root / "PWNED").exists()


def test_a_deleted_artifact_falls_back_or_stops_with_a_message(store: Store) -> None:
    store.model_pkl.unlink()
    result = store.score()
    assert result.returncode == 0, result.stderr
    assert "model.pkl is missing" in " ".join(result.stderr.split())
    result = store.score(KAM_MODELS_DIR=str(store.root / "no-bundles"))
    assert result.returncode == 1
    text = " ".join(result.stderr.split())
    assert "model.pkl is missing" in text and "no exported bundle to fall back to" in text
    assert "Traceback" not in result.stderr + result.stdout


def test_a_pinned_malicious_bundle_is_refused(store: Store) -> None:
    """The probe's ``--model tamper/models/kam-churn``: outside the configured trusted folder
    it is refused; inside it, the registry's digest of the real v1 bundle refuses it."""
    tamper = store.root / "tamper" / "kam-churn"
    shutil.copytree(store.bundle, tamper)
    _plant_in_bundle(tamper, store.root / "PWNED")
    result = store.score("--model", str(tamper))
    assert result.returncode == 1
    assert "outside the trusted folder" in " ".join(result.stderr.split())
    result = store.score("--model", str(tamper), KAM_TRUSTED_ROOT=str(tamper.parent))
    assert result.returncode == 1
    assert "is not the bundle that was approved" in " ".join(result.stderr.split())
    result = store.score(
        "--model",
        str(tamper),
        KAM_TRUSTED_ROOT=str(tamper.parent),
        MLFLOW_TRACKING_URI=f"sqlite:///{store.root / 'no-store.db'}",
    )
    assert result.returncode == 1
    assert "nothing vouches for it" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr + result.stdout
    assert not (store.root / "PWNED").exists()
