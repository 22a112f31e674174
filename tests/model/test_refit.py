"""Refit after the gate: the gate judges the held-out fit, the registered version is refit.

The version that is registered, exported and scores must have been fitted on every labelled
cutoff (validation cutoffs included); the run and the bundle must still carry the held-out
evidence that justified it, and say that, and on which cutoffs, the model was refit.
``--no-refit`` (``refit=False``) registers the held-out fit, as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kam_ml.churn.job import CHURN_MODEL_NAME, churn_spec
from kam_ml.churn.model import ChurnModel
from kam_ml.churn.training import ChurnTrainingResult, refit_churn, train_churn
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import generate_demo_data
from kam_ml.offers.training import offer_matrix, refit_offers
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import load_bundle
from kam_ml.registry.gate import register
from kam_ml.registry.tracking import TrackingStore
from kam_ml.value.training import refit_value

END = pd.Timestamp("2026-10-31")
DEFINITION = ProblemDefinition(training_cutoffs=6)


def _dates(cutoffs: tuple[pd.Timestamp, ...]) -> list[str]:
    return [str(c.date()) for c in cutoffs]


@pytest.fixture(scope="module")
def small_result() -> tuple[Tables, ChurnTrainingResult]:
    demo = generate_demo_data(n_accounts=600, seed=11, end_date=END)
    raw = {"accounts": demo.accounts, "orders": demo.orders, "interactions": demo.interactions}
    tables = validate_tables(raw, on_bad_rows="refuse").tables
    return tables, train_churn(tables, END, DEFINITION, model=ChurnModel(n_estimators=60))


def _register(result: ChurnTrainingResult, root: Path, *, refit: bool):
    store = TrackingStore(f"sqlite:///{root / 'mlflow.db'}")
    outcome = register(
        result,
        churn_spec(refit=refit),
        store=store,
        models_dir=root / "models",
        report_dir=root / "report",
    )
    return store, outcome


def test_the_registered_churn_version_is_refit_on_every_labelled_cutoff(small_result, tmp_path):
    tables, result = small_result
    layout = DEFINITION.training_layout(END, tables.first_date())
    held_store, held = _register(result, tmp_path / "held", refit=False)
    refit_store, refit = _register(result, tmp_path / "refit", refit=True)

    # the bundles: what the scoring model was fitted on, and the held-out evidence
    held_bundle = load_bundle(
        tmp_path / "held" / "models" / CHURN_MODEL_NAME,
        approved_sha256=held_store.approved_bundle_sha256(CHURN_MODEL_NAME, held.version),
    )
    refit_bundle = load_bundle(
        tmp_path / "refit" / "models" / CHURN_MODEL_NAME,
        approved_sha256=refit_store.approved_bundle_sha256(CHURN_MODEL_NAME, refit.version),
    )
    assert refit_bundle.training_cutoffs == _dates(tuple(layout.cutoffs))
    assert set(_dates(layout.validation_cutoffs)) <= set(refit_bundle.training_cutoffs)
    assert set(_dates(layout.embargoed_cutoffs)) <= set(refit_bundle.training_cutoffs)
    assert held_bundle.training_cutoffs == _dates(layout.train_cutoffs)
    assert not set(_dates(layout.validation_cutoffs)) & set(held_bundle.training_cutoffs)
    assert held_bundle.validation_cutoffs == refit_bundle.validation_cutoffs
    assert refit_bundle.validation_cutoffs == _dates(layout.validation_cutoffs)
    assert refit_bundle.extra["refit"] is True and held_bundle.extra["refit"] is False
    assert refit.refit_cutoffs == tuple(layout.cutoffs) and held.refit_cutoffs == ()

    # the held-out metrics are the gate's evidence, unchanged by the refit
    assert refit_bundle.metrics == held_bundle.metrics == result.metrics["model"]
    assert refit.result.metrics == result.metrics
    for store, outcome, flag in ((held_store, held, "false"), (refit_store, refit, "true")):
        run = store.client.get_run(outcome.run_id).data
        assert run.metrics["model_roc_auc"] == result.metrics["model"]["roc_auc"]
        assert run.metrics["gate_challenger_roc_auc"] == result.metrics["model"]["roc_auc"]
        assert run.params["refit"] == flag and run.tags["refit"] == flag
        assert run.params["validation_cutoffs"] == json.dumps(_dates(layout.validation_cutoffs))
        version = store.client.get_model_version(CHURN_MODEL_NAME, outcome.version)
        assert version.tags["refit"] == flag
    run = refit_store.client.get_run(refit.run_id).data
    assert json.loads(run.params["refit.cutoffs"]) == _dates(tuple(layout.cutoffs))
    assert run.tags["refit.cutoffs"] == ",".join(_dates(tuple(layout.cutoffs)))
    assert "refit.cutoffs" not in held_store.client.get_run(held.run_id).data.params

    # it really refit: other scores than the held-out fit, which is left as it was
    rows = result.validation_features[result.feature_names]
    refit_scores = refit_bundle.model.predict_proba(rows)[:, 1]
    held_scores = held_bundle.model.predict_proba(rows)[:, 1]
    np.testing.assert_array_equal(held_scores, result.model.predict_proba(rows)[:, 1])
    assert not np.allclose(refit_scores, held_scores)
    registered = refit_store.load_bundle(f"models:/{CHURN_MODEL_NAME}@champion")
    np.testing.assert_array_equal(registered.model.predict_proba(rows)[:, 1], refit_scores)
    assert result.labelled_features is not None  # the trained result is not consumed


def test_a_refit_champion_is_judged_by_its_held_out_record_on_the_same_rows(small_result, tmp_path):
    """Scored on validation rows it was refit on, the champion would be in-sample; on the
    same rows of the same data its recorded held-out metric is the fair score."""
    _, result = small_result
    store, first = _register(result, tmp_path, refit=True)
    _, again = _register(result, tmp_path, refit=True)
    assert first.decision.promote and not again.decision.promote
    assert again.decision.champion_score == result.metrics["model"]["roc_auc"]
    tags = store.client.get_run(again.run_id).data.tags
    assert tags["gate.champion_basis"] == "held_out_record"
    assert tags["gate.champion_fitted_on_validation"] == ",".join(
        _dates(result.split.validation_cutoffs)
    )


def test_refit_churn_calibrates_on_the_newest_labelled_cutoff(small_result):
    _, result = small_result
    refit = refit_churn(result)
    assert refit.cutoffs[-1] == result.split.validation_cutoffs[-1]
    assert refit.result.labelled_features is None  # consumed: a second refit would refuse
    with pytest.raises(ValueError, match="refit_churn needs the result's labelled rows"):
        refit_churn(refit.result)


def test_offers_and_value_refit_on_every_labelled_cutoff(offer_result, value_result):
    for result, refit_with in ((offer_result, refit_offers), (value_result, refit_value)):
        refit = refit_with(result)
        assert set(result.split.validation_cutoffs) <= set(refit.cutoffs)
        assert set(result.split.train_cutoffs) < set(refit.cutoffs)
        assert refit.result.metrics == result.metrics
        assert refit.result.validation is result.validation
    pairs = offer_matrix(offer_result.validation_pairs.head(500))
    before = offer_result.model.predict(pairs)
    assert not np.allclose(refit_offers(offer_result).result.model.predict(pairs), before)
    np.testing.assert_array_equal(offer_result.model.predict(pairs), before)  # untouched
    rows = value_result.validation_features[value_result.feature_names]
    refit = refit_value(value_result).result.model.predict(rows)
    assert not np.allclose(refit, value_result.model.predict(rows))
