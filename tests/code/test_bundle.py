"""Bundles reload to identical predictions and refuse anything tampered or untrusted."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from kam_ml.errors import BundleError
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import ModelBundle, load_bundle, save_bundle


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
    loaded = load_bundle(save_bundle(original, tmp_path / "b"), trusted_root=tmp_path)
    np.testing.assert_array_equal(loaded.model.predict_proba(X), original.model.predict_proba(X))
    assert loaded.definition == ProblemDefinition(horizon_days=60)
    assert (loaded.version, loaded.feature_names) == ("7", ["a", "b"])


def test_tampered_model_file_is_refused(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "b")
    with (path / "model.joblib").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(BundleError, match="does not match its metadata"):
        load_bundle(path, trusted_root=tmp_path)


def test_bundle_outside_trusted_folder_is_refused(bundle, tmp_path):
    path = save_bundle(bundle[0], tmp_path / "elsewhere" / "b")
    with pytest.raises(BundleError, match="outside the trusted folder"):
        load_bundle(path, trusted_root=tmp_path / "models")


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
    with pytest.raises(BundleError, match=r"metadata.json lacks training_cutoffs: a bundle's"):
        load_bundle(path)
