"""Bundles exported before the package move still load and predict the numbers they did then.

The fixtures (``tests/data/fixtures/pre-move-bundles``, made by its ``make_fixture.py`` at
commit 5c9c6ad) pickle the pre-move class paths ``kam_ml.churn.ChurnModel``,
``kam_ml.churn_variants.FeatureSubsetChurnModel``, ``kam_ml.offers.OfferRanker`` and
``kam_ml.value.ValueModel`` with the attributes those classes had then. Every bundle in
``models/`` and every registered MLflow version of that time looks the same, so this test
is what keeps them scoring.

They carry no signature and no registry knows them, so nothing vouches for them: they load
under the documented opt-in (``KAM_ALLOW_UNVERIFIED_MODELS``), or once someone who reviewed
them signs them with the bundle key (``sign_bundle``), and are refused otherwise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from kam_ml.churn.model import ChurnModel
from kam_ml.errors import BundleError
from kam_ml.offers.ranker import OfferRanker
from kam_ml.registry.bundle import BundleTrust, load_bundle, sign_bundle
from kam_ml.value.model import ValueModel

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "pre-move-bundles"
OPTED_IN = BundleTrust(trusted_root=FIXTURES, allow_unverified=True)
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
CLASSES = {
    "kam-churn": ChurnModel,
    "kam-churn-variant": ChurnModel,
    "kam-offers": OfferRanker,
    "kam-value": ValueModel,
}


def _probe(name: str) -> pd.DataFrame:
    """The probe rows as ``make_fixture.py`` scored them (offers: its first five pair keys)."""
    probe = pd.read_csv(FIXTURES / "probe.csv")
    if name != "kam-offers":
        return probe
    index = pd.MultiIndex.from_arrays(
        [
            pd.to_datetime(["2024-01-31"] * 5),
            [0, 0, 0, 0, 1],
            ["a", "b", "c", "d", "a"],
        ],
        names=["cutoff", "account_id", "category"],
    )
    return probe.set_axis(index)


def _predict(model: Any, X: pd.DataFrame) -> np.ndarray:
    """What ``make_fixture.py`` recorded: P(positive) where there is one, else the prediction."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X)[:, 1])
    return np.asarray(model.predict(X))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pre_move_bundle_predicts_exactly_what_it_did(name: str) -> None:
    bundle = load_bundle(FIXTURES / name, trust=OPTED_IN)
    assert type(bundle.model) is CLASSES[name]
    X = _probe(name)[bundle.feature_names]
    np.testing.assert_array_equal(_predict(bundle.model, X), np.array(EXPECTED[name]))


def test_pre_move_variant_is_a_churn_model_on_its_subset() -> None:
    model = load_bundle(FIXTURES / "kam-churn-variant", trust=OPTED_IN).model
    assert model.get_params()["features"] == ["complaints_90d"]
    assert list(model.feature_names_in_) == ["complaints_90d"]
    assert list(model.contributions(_probe("kam-churn-variant")).columns) == ["complaints_90d"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pre_move_model_refits_and_resaves_under_todays_code(name: str, tmp_path: Path) -> None:
    """Hyperparameters added since (``ChurnModel.features``) take their defaults on old pickles,
    so an old model clones; re-saved, it names today's classes and predicts the same."""
    model = load_bundle(FIXTURES / name, trust=OPTED_IN).model
    params = model.get_params()
    assert clone(model).get_params() == params
    if name == "kam-churn":
        assert params["features"] is None
    joblib.dump(model, tmp_path / "model.joblib")
    assert b"churn_variants" not in (tmp_path / "model.joblib").read_bytes()
    again = joblib.load(tmp_path / "model.joblib")
    X = _probe(name)[list(model.feature_names_in_)]
    np.testing.assert_array_equal(_predict(again, X), np.array(EXPECTED[name]))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pre_move_bundle_is_refused_unless_opted_in_or_signed(name: str, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="nothing vouches for it"):
        load_bundle(FIXTURES / name, trust=BundleTrust(trusted_root=FIXTURES))
    copy = tmp_path / name
    shutil.copytree(FIXTURES / name, copy)
    sign_bundle(copy, b"reviewed")
    bundle = load_bundle(copy, trust=BundleTrust(key=b"reviewed", trusted_root=tmp_path))
    X = _probe(name)[bundle.feature_names]
    np.testing.assert_array_equal(_predict(bundle.model, X), np.array(EXPECTED[name]))


def test_a_population_written_before_the_move_still_reads(tmp_path: Path) -> None:
    """The API ranks a posted history against the night's population statistics; a night
    written before the package move (demo book, 3000 accounts, seed 7, at 5c9c6ad) must
    read, and must write back under the same format key."""
    from kam_ml.offers.population import PopulationStats

    night = FIXTURES.parent / "pre-move-night" / "population.parquet"
    stats = PopulationStats.from_parquet(night)
    assert str(pd.Timestamp(stats.as_of).date()) == "2026-10-31"
    assert len(stats.categories) == 10
    again = PopulationStats.from_parquet(stats.to_parquet(tmp_path / "population.parquet"))
    assert again.categories == stats.categories
