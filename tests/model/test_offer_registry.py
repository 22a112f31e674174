"""kam-offers and kam-value go through a real MLflow registry and the champion gate."""

from __future__ import annotations

import numpy as np
from mlflow.tracking import MlflowClient

from kam_ml.offers.job import register_offers
from kam_ml.registry.bundle import load_bundle
from kam_ml.registry.tracking import TrackingStore
from kam_ml.value.job import register_value


def test_offers_and_value_are_registered_gated_and_exported(offer_result, value_result, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store, models = TrackingStore(uri), tmp_path / "models"
    client = MlflowClient(tracking_uri=uri)

    first = register_offers(offer_result, store, models, tmp_path / "reports" / "offers")
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

    again = register_offers(offer_result, store, models, tmp_path / "reports" / "offers")
    assert not again.decision.promote and again.version == "2"
    assert "does not beat champion v1" in again.decision.reason
    assert store.alias_version("kam-offers", "champion") == "1"
    assert store.alias_version("kam-offers", "challenger") == "2"

    value = register_value(value_result, store, models, tmp_path / "reports" / "value")
    assert value.decision.promote and client.get_run(value.run_id).data.tags["gate.metric"] == "mae"
    assert "naive_last_12m_mae" in client.get_run(value.run_id).data.metrics

    pairs = offer_result.validation_pairs.head(200)
    for name, rows in (("kam-offers", pairs), ("kam-value", value_result.validation_features)):
        registered = store.load_bundle(f"models:/{name}@champion")
        exported = load_bundle(models / name, trusted_root=models)
        X = rows[exported.feature_names]
        np.testing.assert_array_equal(registered.model.predict(X), exported.model.predict(X))
