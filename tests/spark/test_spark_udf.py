"""The registered churn model through ``mlflow.pyfunc.spark_udf`` gives probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kam_ml.churn import job as pipeline
from kam_ml.data.validation import validate_tables
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.tracking import TrackingStore

pytestmark = pytest.mark.spark


def test_spark_udf_gives_predict_proba(spark, raw, as_of, trained, tmp_path: Path) -> None:
    import mlflow.pyfunc

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tables = validate_tables(raw, on_bad_rows="refuse").tables
    pipeline.train_and_register_churn(
        tables,
        as_of,
        ProblemDefinition(),
        TrackingStore(uri),
        tmp_path / "models",
        tmp_path / "report",
        result=trained,
        refit=False,
    )
    rows = trained.validation_features[trained.feature_names].head(200).reset_index(drop=True)
    expected = trained.model.predict_proba(rows)[:, 1]
    mlflow.set_tracking_uri(uri)
    try:
        udf = mlflow.pyfunc.spark_udf(
            spark, "models:/kam-churn@champion", result_type="array<double>", env_manager="local"
        )
        frame = spark.createDataFrame(rows.astype({c: str for c in ("region", "segment")}))
        got = frame.select(udf(*[frame[c] for c in rows.columns]).alias("p")).toPandas()
    finally:
        mlflow.set_tracking_uri(None)
    np.testing.assert_allclose(got["p"].map(lambda p: p[1]).to_numpy(float), expected, atol=1e-12)
