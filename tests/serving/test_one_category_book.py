"""A book with one category (CDNOW's case) runs the nightly job and the API end to end with
no offers: through the real ``kam-ml nightly`` with an offers champion of another book in
the store, and the API's from-history scoring with and without an offer model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pandas as pd
import pytest

from kam_ml.registry.bundle import sign_bundle
from tests.serving.conftest import API_KEY, Book, history_body, running
from tests.serving.test_cli_nightly import kam_ml

KEY = "one-category-test-key"


@pytest.fixture(scope="module")
def one_category(book: Book, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo book with every order in its first category, and its one-row catalogue."""
    data = tmp_path_factory.mktemp("one-category") / "data"
    shutil.copytree(book.data, data)
    catalogue = pd.read_parquet(data / "categories.parquet").sort_values("category").head(1)
    category = str(catalogue["category"].iloc[0])
    catalogue.to_parquet(data / "categories.parquet", index=False)
    orders = pd.read_parquet(data / "orders.parquet")
    orders["category"] = category
    orders.to_parquet(data / "orders.parquet", index=False)
    return data, category


@pytest.fixture(scope="module")
def night(book: Book, one_category: tuple[Path, str]) -> tuple[Path, str]:
    data, _ = one_category
    out = data.parent / "nightly"
    result = kam_ml(
        ["nightly", "--data", str(data), "--out", str(out)], data.parent, book.tracking_uri
    )
    assert result.returncode == 0, result.stderr
    night = out / str(book.second.as_of.date())
    return night, " ".join((result.stdout + result.stderr).split())


def test_the_nightly_job_runs_without_offers_and_says_why(night, one_category):
    directory, output = night
    _, category = one_category
    why = f"the book has 1 category ({category}); next-best offers need at least 2 to rank."
    assert f"scored without kam-offers: {why}" in output
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["offers_skipped"] == why
    assert f"kam-offers: {why}" in manifest["model_problems"]
    assert manifest["model_versions"]["offers"] is None and not manifest["population"]
    explained = pd.read_parquet(directory / "explained.parquet")
    assert len(explained) == manifest["accounts"] > 0
    assert explained["offers"].map(len).eq(0).all()
    lists = [
        pd.read_csv(p, keep_default_na=False) for p in (directory / "risk_lists").glob("*.csv")
    ]
    assert len(lists) == manifest["managers"]
    assert all(frame["Offers"].eq("").all() for frame in lists)
    page = (directory / "risk_lists" / f"{manifest['risk_lists'][0]['slug']}.html").read_text()
    assert 'id="offers-legend"' not in page  # no percentage to explain
    assert (directory / "portfolio" / "portfolio.html").is_file()


def _from_history(url: str, book: Book, category: str) -> httpx.Response:
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    body = history_body(book, str(explained["account_id"].iloc[0]))
    for order in body["orders"]:
        order["category"] = category
    headers = {"X-API-Key": API_KEY}
    return httpx.post(f"{url}/v1/scores/from-history", json=body, headers=headers, timeout=60)


def test_the_api_scores_a_history_of_the_book_with_its_offer_model_loaded(
    book, night, one_category
):
    directory, _ = night
    with running(book.settings(nightly_dir=directory.parent)) as url:
        response = _from_history(url, book, one_category[1])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["offers"] == [] and 0 <= body["churn_probability"] <= 1


def test_the_api_scores_a_history_without_any_offer_model(book, night, one_category, tmp_path):
    directory, _ = night
    models = tmp_path / "models"
    shutil.copytree(book.models_dir, models, ignore=shutil.ignore_patterns("kam-offers"))
    for bundle in models.iterdir():  # copies away from their store: signed to be trusted
        sign_bundle(bundle, KEY.encode())
    settings = book.settings(
        nightly_dir=directory.parent,
        tracking_uri=f"sqlite:///{tmp_path / 'no-store.db'}",
        models_dir=models,
        bundle_key=KEY,
    )
    with running(settings) as url:
        ready = httpx.get(f"{url}/ready", timeout=30).json()
        response = _from_history(url, book, one_category[1])
    assert any(p.startswith("kam-offers: not trained yet") for p in ready["model_problems"])
    assert response.status_code == 200, response.text
    assert response.json()["offers"] == []
