"""kam-offers and kam-value go through a real MLflow registry and the champion gate."""

from __future__ import annotations

import numpy as np
from mlflow.tracking import MlflowClient

from kam_ml.offers.job import offers_spec
from kam_ml.offers.report import offers_grade
from kam_ml.registry.bundle import BundleTrust, load_bundle
from kam_ml.registry.gate import register
from kam_ml.registry.tracking import BUNDLE_DIGEST_TAG, TrackingStore
from kam_ml.value.job import value_spec
from kam_ml.value.report import value_grade


def test_offers_and_value_are_registered_gated_and_exported(offer_result, value_result, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store, models = TrackingStore(uri), tmp_path / "models"
    client = MlflowClient(tracking_uri=uri)
    spec = offers_spec(offer_result.k)

    def register_offers():
        reports = tmp_path / "reports" / "offers"
        return register(offer_result, spec, store=store, models_dir=models, report_dir=reports)

    first = register_offers()
    assert first.decision.promote and first.version == "1"
    run = client.get_run(first.run_id).data
    for metric in (
        "ranker_ndcg_at_3",
        "ranker_recall_at_3",
        "own_most_bought_ndcg_at_3",
        "item_to_item_map_at_3",
        "global_popularity_coverage_at_3",
    ):
        assert metric in run.metrics, metric
    assert run.tags["gate.metric"] == "ndcg_at_3"
    artifacts = {a.path for a in client.list_artifacts(first.run_id, "report")}
    for stem in ("report.html", "ndcg_by_k.png", "recall_by_k.png", "calibration.png"):
        assert f"report/{stem}" in artifacts, stem

    again = register_offers()
    assert not again.decision.promote and again.version == "2"
    assert "does not beat champion v1" in again.decision.reason
    assert store.alias_version("kam-offers", "champion") == "1"
    assert store.alias_version("kam-offers", "challenger") == "2"

    reports = tmp_path / "reports" / "value"
    value = register(value_result, value_spec(), store=store, models_dir=models, report_dir=reports)
    assert value.decision.promote and client.get_run(value.run_id).data.tags["gate.metric"] == "mae"
    assert "naive_last_12m_mae" in client.get_run(value.run_id).data.metrics

    pairs = offer_result.validation_pairs.head(200)
    for name, rows in (("kam-offers", pairs), ("kam-value", value_result.validation_features)):
        registered = store.load_bundle(f"models:/{name}@champion")
        approved = store.approved_bundle_sha256(name, registered.version)  # the gate wrote it
        exported = load_bundle(
            models / name, trust=BundleTrust(trusted_root=models), approved_sha256=approved
        )
        X = rows[exported.feature_names]
        np.testing.assert_array_equal(registered.model.predict(X), exported.model.predict(X))


def test_offer_and_value_versions_carry_their_grade_and_the_gate_reason(
    offer_result, value_result, tmp_path
):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store, models, client = TrackingStore(uri), tmp_path / "models", MlflowClient(uri)
    cases = (
        (offer_result, offers_spec(offer_result.k), offers_grade(offer_result.metrics)),
        (value_result, value_spec(), value_grade(value_result.metrics)),
    )
    for result, spec, expected in cases:
        outcome = register(
            result, spec, store=store, models_dir=models, report_dir=tmp_path / spec.name
        )
        assert outcome.grade == expected and outcome.grade.letter in {"A", "B", "C"}
        tags = client.get_model_version(spec.name, outcome.version).tags
        assert tags["card.grade"] == expected.letter, spec.name
        assert tags["gate.decision"] == "promoted"
        assert tags["gate.reason"] == outcome.decision.reason == "no champion yet"
        run = client.get_run(outcome.run_id).data
        assert run.tags["card.grade"] == expected.letter and run.tags["leakage.fired"] == "False"
        approved = tags[BUNDLE_DIGEST_TAG]  # the gate approved the bundle it exported
        exported = load_bundle(models / spec.name, approved_sha256=approved)
        assert exported.extra["grade"] == expected.letter
        report = (outcome.report_path).read_text(encoding="utf-8")
        assert f"Grade {expected.letter}" in report and expected.basis.split(" ")[0] in report
