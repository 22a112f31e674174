"""Bundles reload to identical predictions and refuse anything tampered or untrusted,
before unpickling it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from kam_ml.errors import BundleError
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import (
    BundleTrust,
    ModelBundle,
    bundle_identity,
    load_bundle,
    save_bundle,
    sign_bundle,
)
from tests.malicious import plant_malicious_pickle

KEY = b"a key from KAM_BUNDLE_KEY"


@pytest.fixture
def bundle(seed):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = LogisticRegression().fit(X, (X["a"] > 0).astype(int))
    return ModelBundle(
        model=model,
        model_name="kam-churn",
        version="7",
        feature_names=["a", "b"],
        definition=ProblemDefinition(horizon_days=60),
        training_cutoffs=["2026-01-31"],
        validation_cutoffs=["2026-03-31"],
        metrics={"roc_auc": 0.9},
    ), X


def test_reload_gives_identical_predictions_and_metadata(bundle, tmp_path):
    original, X = bundle
    path = save_bundle(original, tmp_path / "b", key=KEY)
    loaded = load_bundle(path, trust=BundleTrust(key=KEY, trusted_root=tmp_path))
    np.testing.assert_array_equal(loaded.model.predict_proba(X), original.model.predict_proba(X))
    assert loaded.definition == ProblemDefinition(horizon_days=60)
    assert (loaded.version, loaded.feature_names) == ("7", ["a", "b"])


def test_tampered_model_file_is_refused(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b", key=KEY)
    with (path / "model.joblib").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleError, match="does not match its metadata"):
        load_bundle(path, trust=BundleTrust(key=KEY))


def test_bundle_outside_trusted_folder_is_refused(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "elsewhere" / "b", key=KEY)
    with pytest.raises(BundleError, match="outside the trusted folder"):
        load_bundle(path, trust=BundleTrust(key=KEY, trusted_root=tmp_path / "models"))


def test_missing_files_and_wrong_format_are_named(bundle, tmp_path):
    with pytest.raises(BundleError, match="is not a model bundle"):
        load_bundle(tmp_path)
    path = save_bundle(bundle[0], tmp_path / "b")
    metadata = json.loads((path / "metadata.json").read_text())
    (path / "metadata.json").write_text(json.dumps(metadata | {"format": 99}))
    with pytest.raises(BundleError, match="bundle format 99"):
        load_bundle(path)


def test_metadata_describes_the_bundle_it_came_from(bundle):
    original, _ = bundle
    assert ModelBundle.from_metadata(original.model, original.metadata()) == original


def test_a_missing_metadata_field_is_named(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b")
    metadata = json.loads((path / "metadata.json").read_text())
    del metadata["training_cutoffs"]
    (path / "metadata.json").write_text(json.dumps(metadata))
    sign_bundle(path, KEY)
    with pytest.raises(BundleError, match=r"metadata.json lacks training_cutoffs: a bundle's"):
        load_bundle(path, trust=BundleTrust(key=KEY))


def _recompute_hash(path: Path) -> None:
    """What an attacker with write access to the folder does after replacing the model."""
    metadata = json.loads((path / "metadata.json").read_text())
    digest = hashlib.sha256((path / "model.joblib").read_bytes()).hexdigest()
    (path / "metadata.json").write_text(json.dumps(metadata | {"sha256": digest}))


def test_the_planted_pickle_does_run_code_when_loaded(tmp_path):
    """The control for the tests below: unpickling the planted file writes the marker."""
    import joblib

    plant_malicious_pickle(tmp_path / "model.joblib", tmp_path / "PWNED")
    joblib.load(tmp_path / "model.joblib")
    assert (tmp_path / "PWNED").read_text() == "code ran at model load"


def test_a_malicious_pickle_with_its_hash_recomputed_is_refused_before_unpickling(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b", key=KEY)
    plant_malicious_pickle(path / "model.joblib", tmp_path / "PWNED")
    _recompute_hash(path)
    with pytest.raises(BundleError, match="does not verify metadata.json with KAM_BUNDLE_KEY"):
        load_bundle(path, trust=BundleTrust(key=KEY))
    approved = bundle_identity(save_bundle(bundle[0], tmp_path / "c"))
    assert approved is not None
    plant_malicious_pickle(tmp_path / "c" / "model.joblib", tmp_path / "PWNED")
    _recompute_hash(tmp_path / "c")
    with pytest.raises(BundleError, match="is not the bundle that was approved"):
        load_bundle(tmp_path / "c", approved_sha256=approved[2])
    assert not (tmp_path / "PWNED").exists()


def test_a_malicious_unsigned_bundle_is_refused_when_nothing_vouches_for_it(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b")
    plant_malicious_pickle(path / "model.joblib", tmp_path / "PWNED")
    _recompute_hash(path)
    for trust in (BundleTrust(), BundleTrust(key=KEY)):  # unsigned: a key vouches for nothing
        with pytest.raises(BundleError, match="nothing vouches for it"):
            load_bundle(path, trust=trust)
    assert not (tmp_path / "PWNED").exists()


def test_another_key_does_not_verify(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b", key=b"the attacker's key")
    with pytest.raises(BundleError, match="signed with another key"):
        load_bundle(path, trust=BundleTrust(key=KEY))


def test_a_registry_approved_unsigned_bundle_loads_without_a_key(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b")
    identity = bundle_identity(path)
    assert identity is not None and identity[:2] == ("kam-churn", "7")
    assert load_bundle(path, approved_sha256=identity[2]).version == "7"


def test_unverified_bundles_load_only_with_the_opt_in(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b")
    with pytest.raises(BundleError, match="KAM_ALLOW_UNVERIFIED_MODELS=1"):
        load_bundle(path)
    assert load_bundle(path, trust=BundleTrust(allow_unverified=True)).version == "7"


def test_exporting_again_without_a_key_drops_the_old_signature(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b", key=KEY)
    assert (path / "metadata.json.sig").is_file()
    save_bundle(bundle[0], path)
    assert not (path / "metadata.json.sig").exists()


def test_the_trust_comes_from_the_settings(tmp_path, monkeypatch):
    from kam_ml.settings import Settings

    monkeypatch.setenv("KAM_BUNDLE_KEY", "s3cret")
    monkeypatch.setenv("KAM_MODELS_DIR", str(tmp_path / "models"))
    trust = BundleTrust.from_settings(Settings())
    assert trust == BundleTrust(key=b"s3cret", trusted_root=tmp_path / "models")
    assert "s3cret" not in repr(trust)
    monkeypatch.setenv("KAM_TRUSTED_ROOT", str(tmp_path / "approved"))
    monkeypatch.setenv("KAM_ALLOW_UNVERIFIED_MODELS", "1")
    trust = BundleTrust.from_settings(Settings())
    assert (trust.trusted_root, trust.allow_unverified) == (tmp_path / "approved", True)
