"""One champion resolver: the fallback order, and why an optional model is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from kam_ml.errors import BundleError, DefinitionError, ModelNotFoundError
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import BundleTrust, ModelBundle, save_bundle
from kam_ml.registry.champions import MODEL_NAMES, ChampionSource, load_champions

KEY = b"test bundle key"
TRUST = BundleTrust(key=KEY)


def _export(models_dir: Path, name: str, version: str = "1") -> Path:
    """A signed bundle folder; the resolver never calls the model, so a stand-in will do."""
    bundle = ModelBundle(
        model={"stand-in for": name},
        model_name=name,
        version=version,
        feature_names=["revenue_365d"],
        definition=ProblemDefinition(),
        training_cutoffs=["2026-01-31"],
        validation_cutoffs=["2026-06-30"],
        metrics={},
    )
    return save_bundle(bundle, models_dir / name, key=KEY)


def _tamper(folder: Path) -> None:
    with (folder / "model.joblib").open("ab") as model:
        model.write(b"not what was exported")


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    for name in MODEL_NAMES:
        _export(folder, name)
    return folder


def _folder_source(models_dir: Path) -> ChampionSource:
    # a store that does not exist is not asked (and not created): the folder is the fallback
    missing_store = f"sqlite:///{models_dir.parent / 'no-such.db'}"
    return ChampionSource(tracking_uri=missing_store, models_dir=models_dir, trust=TRUST)


def test_the_three_names_are_the_registered_ones() -> None:
    assert tuple(MODEL_NAMES) == ("kam-churn", "kam-offers", "kam-value")
    assert MODEL_NAMES.offers == "kam-offers"


def test_all_three_load_from_the_exported_folder_when_there_is_no_store(models_dir: Path) -> None:
    models = load_champions(_folder_source(models_dir))
    assert models.versions() == {"churn": "1", "offers": "1", "value": "1"}
    assert models.problems == ()
    assert not (models_dir.parent / "no-such.db").exists()


def test_a_tampered_offers_bundle_is_a_problem_with_its_cause(models_dir: Path) -> None:
    _tamper(models_dir / "kam-offers")
    models = load_champions(_folder_source(models_dir))
    assert models.offers is None and models.value is not None
    [problem] = models.problems
    assert problem.startswith("kam-offers: not loaded: ")
    assert "does not match its metadata" in problem and "export it again" in problem


def test_an_untrained_model_is_told_apart_from_a_broken_one(models_dir: Path) -> None:
    for name in ("kam-offers", "kam-value"):
        for path in (models_dir / name).iterdir():
            path.unlink()
        (models_dir / name).rmdir()
    models = load_champions(_folder_source(models_dir))
    assert (models.offers, models.value) == (None, None)
    assert [p.split(" (")[0] for p in models.problems] == [
        "kam-offers: not trained yet",
        "kam-value: not trained yet",
    ]
    assert f"no bundle at {models_dir / 'kam-value'}" in models.problems[1]
    assert "no MLflow store at sqlite:///" in models.problems[1]


def test_a_bad_churn_bundle_raises_its_bundle_error(models_dir: Path) -> None:
    _tamper(models_dir / "kam-churn")
    with pytest.raises(BundleError, match="does not match its metadata"):
        load_champions(_folder_source(models_dir))


def test_a_pinned_churn_bundle_folder_that_is_broken_raises(models_dir: Path) -> None:
    _tamper(models_dir / "kam-churn")
    source = ChampionSource(
        models_dir=models_dir, churn_uri=str(models_dir / "kam-churn"), trust=TRUST
    )
    with pytest.raises(BundleError):
        load_champions(source)


def test_no_churn_model_anywhere_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="Train one first"):
        load_champions(_folder_source(tmp_path / "models"))
    with pytest.raises(ModelNotFoundError, match="No model bundle at"):
        load_champions(ChampionSource(churn_uri=str(tmp_path / "nowhere")))


def test_a_version_the_gate_kept_as_challenger_is_named_not_train_one_first(tmp_path: Path):
    """A book of one-time buyers: `kam-ml train` exited 0 with kam-churn v1 "kept as
    challenger" (the leakage alarm), and `kam-ml score` then said "Train one first"."""
    from mlflow import MlflowClient

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store, registry_uri=store)
    client.create_registered_model(MODEL_NAMES.churn)
    client.create_model_version(MODEL_NAMES.churn, source=(tmp_path / "run").as_uri())
    source = ChampionSource(tracking_uri=store, models_dir=tmp_path / "models", trust=TRUST)
    with pytest.raises(ModelNotFoundError) as raised:
        load_champions(source)
    message = str(raised.value)
    assert "Train one first" not in message
    assert "kam-churn has 1 registered version(s) (1) but none is the champion" in message
    assert "--model models:/kam-churn/1" in message


def test_the_folder_stands_in_for_the_champion_only(models_dir: Path) -> None:
    pinned = ChampionSource(
        tracking_uri=f"sqlite:///{models_dir.parent / 'no-such.db'}",
        models_dir=models_dir,
        churn_uri="models:/kam-churn/7",
    )
    with pytest.raises(ModelNotFoundError):
        load_champions(pinned)


def test_a_churn_model_for_another_horizon_is_refused(models_dir: Path) -> None:
    with pytest.raises(DefinitionError, match="predicts churn over 90 days"):
        load_champions(_folder_source(models_dir), horizon_days=30)


def test_an_unsigned_bundle_with_no_registry_is_refused_unless_opted_in(models_dir: Path) -> None:
    source = ChampionSource(models_dir=models_dir)  # no key, no store: nothing vouches
    with pytest.raises(BundleError, match="nothing vouches for it"):
        load_champions(source)
    opted_in = ChampionSource(models_dir=models_dir, trust=BundleTrust(allow_unverified=True))
    assert load_champions(opted_in).versions()["churn"] == "1"


def test_a_pinned_bundle_outside_the_configured_root_is_refused(models_dir: Path) -> None:
    """The trusted folder is configuration: pinning a folder elsewhere does not widen it."""
    elsewhere = _export(models_dir.parent / "elsewhere", "kam-churn")
    trust = BundleTrust(key=KEY, trusted_root=models_dir)
    source = ChampionSource(models_dir=models_dir, churn_uri=str(elsewhere), trust=trust)
    with pytest.raises(BundleError, match="outside the trusted folder"):
        load_champions(source)
