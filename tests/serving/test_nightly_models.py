"""What a night and the API score with: champions, why one is missing, one explain pass."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pandas as pd
import pytest

from kam_ml.churn.model import ChurnModel
from kam_ml.errors import BundleError
from kam_ml.nightly.job import run_nightly
from kam_ml.registry.bundle import BundleTrust, sign_bundle
from kam_ml.registry.champions import ChampionSource
from tests.serving.conftest import Book, running

KEY = "nightly-models test key"
SIGNED = BundleTrust(key=KEY.encode())


def _models_with_tampered(book: Book, tmp_path: Path, name: str) -> Path:
    """A copy of the exported champions, signed with ``KEY`` (no store vouches for the copy),
    in which ``name``'s model file was then modified."""
    models = tmp_path / "models"
    shutil.copytree(book.models_dir, models)
    for bundle in models.iterdir():
        sign_bundle(bundle, KEY.encode())
    with (models / name / "model.joblib").open("ab") as model:
        model.write(b"not what was exported")
    return models


def test_a_tampered_offers_bundle_is_named_in_the_nightly_manifest(book, tmp_path):
    models = _models_with_tampered(book, tmp_path, "kam-offers")
    source = ChampionSource(models_dir=models, trust=SIGNED)
    night = run_nightly(book.tables, tmp_path / "nightly", source, as_of=book.second.as_of)
    manifest = json.loads((night.directory / "manifest.json").read_text())
    assert manifest["model_versions"] == {"churn": "1", "offers": None, "value": "1"}
    [problem] = manifest["model_problems"]
    assert problem.startswith("kam-offers: not loaded: ")
    assert "does not match its metadata" in problem
    explained = pd.read_parquet(night.directory / "explained.parquet")
    assert explained["offers"].map(len).eq(0).all()


def test_a_night_with_every_champion_has_no_model_problems(book):
    manifest = json.loads((book.second.directory / "manifest.json").read_text())
    assert manifest["model_problems"] == []


def test_a_tampered_churn_bundle_stops_the_night_with_its_cause(book, tmp_path):
    models = _models_with_tampered(book, tmp_path, "kam-churn")
    source = ChampionSource(models_dir=models, trust=SIGNED)
    with pytest.raises(BundleError, match="does not match its metadata"):
        run_nightly(book.tables, tmp_path / "nightly", source, as_of=book.second.as_of)
    assert not (tmp_path / "nightly").exists()


def test_ready_names_a_tampered_offers_bundle_and_stays_ready(book, tmp_path):
    settings = book.settings(
        tracking_uri=f"sqlite:///{tmp_path / 'no-store.db'}",
        bundle_key=KEY,
        models_dir=_models_with_tampered(book, tmp_path, "kam-offers"),
    )
    with running(settings) as url:
        response = httpx.get(f"{url}/ready", timeout=30)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "ready"
    assert body["model_versions"]["offers"] is None
    [problem] = body["model_problems"]
    assert problem.startswith("kam-offers: not loaded: ")
    assert "does not match its metadata" in problem


def test_ready_with_every_champion_lists_no_model_problems(anonymous):
    assert anonymous.get("/ready").json()["model_problems"] == []


def test_ready_reports_a_tampered_churn_bundle_not_a_missing_one(book, tmp_path):
    settings = book.settings(
        tracking_uri=f"sqlite:///{tmp_path / 'no-store.db'}",
        bundle_key=KEY,
        models_dir=_models_with_tampered(book, tmp_path, "kam-churn"),
    )
    with running(settings) as url:
        response = httpx.get(f"{url}/ready", timeout=30)
    assert response.status_code == 503
    problems = " ".join(response.json()["problems"])
    assert "models:" in problems and "does not match its metadata" in problems
    assert "No churn model" not in problems


def test_a_night_asks_the_churn_model_for_contributions_once(book, tmp_path, monkeypatch):
    asked: list[int] = []
    contributions = ChurnModel.contributions

    def counted(self: ChurnModel, X: pd.DataFrame, method: str = "path") -> pd.DataFrame:
        asked.append(len(X))
        return contributions(self, X, method)

    monkeypatch.setattr(ChurnModel, "contributions", counted)
    source = ChampionSource(tracking_uri=book.tracking_uri)
    night = run_nightly(book.tables, tmp_path / "nightly", source, as_of=book.second.as_of)
    assert asked == [night.accounts]


def test_the_explained_reasons_are_the_scores_reasons(book):
    scores = pd.read_parquet(book.second.directory / "scores.parquet")
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    assert explained["account_id"].tolist() == scores["account_id"].tolist()
    texts = [list(r) for r in explained["reason_texts"]]
    assert texts == [list(r) for r in scores["reasons"]]
    assert [len(f) for f in explained["reason_features"]] == [len(t) for t in texts]
    assert [len(v) for v in explained["reason_values"]] == [len(t) for t in texts]
