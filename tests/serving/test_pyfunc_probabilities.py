"""The registered churn model's generic MLflow flavour answers probabilities.

What ``mlflow.pyfunc.load_model`` (and so Spark's ``spark_udf`` and ``mlflow models serve``)
calls is the flavour's predict function: logged with the default, it gave 0/1 labels, which
a team scoring probabilities in SQL would take for probabilities of 0 and 1.
"""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd

from kam_ml.registry.champions import ChampionSource, load_champions


def test_the_champion_through_mlflow_pyfunc_gives_predict_proba(book, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", book.tracking_uri)
    churn = load_champions(ChampionSource(tracking_uri=book.tracking_uri)).churn
    features = pd.read_parquet(book.second.directory / "features.parquet")
    rows = features[churn.feature_names].head(200)
    sent = rows.astype({c: str for c in ("region", "segment") if c in rows})  # as a client would
    mlflow.set_tracking_uri(book.tracking_uri)
    try:
        answered = mlflow.pyfunc.load_model("models:/kam-churn@champion").predict(sent)
    finally:
        mlflow.set_tracking_uri(None)
    expected = churn.model.predict_proba(rows)
    assert np.asarray(answered).shape == (len(rows), 2)
    np.testing.assert_allclose(np.asarray(answered, dtype=float), expected, rtol=0, atol=1e-12)
    assert not np.isin(np.asarray(answered)[:, 1], [0.0, 1.0]).all()  # not labels
