"""The Spark engine gives the pandas engine's features and scores, whatever the buckets."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from kam_ml.scoring.history import score_histories
from kam_ml.spark import map_buckets_on_spark, score_bucket, spark_schema_for
from kam_ml.spark.engine import flat_for_spark

pytestmark = pytest.mark.spark
DROP = ("reason_details",)


@pytest.fixture(scope="module")
def reference(raw, as_of, models) -> pd.DataFrame:
    """The pandas engine on the whole book: its band means are the book's peers."""
    explained = score_histories(raw, as_of, models).explained
    return flat_for_spark(explained.drop(columns=list(DROP)))


@pytest.fixture(scope="module")
def peers(raw, as_of, models) -> pd.DataFrame:
    from kam_ml.data.tables import sorted_for_features
    from kam_ml.data.validation import validate_tables
    from kam_ml.features import build_features
    from kam_ml.scoring.explained import band_means
    from kam_ml.scoring.score import RiskBands

    tables = sorted_for_features(validate_tables(raw, on_bad_rows="refuse").tables)
    features = build_features(tables, as_of, models.churn.definition)
    probability = models.churn.model.predict_proba(features[models.churn.feature_names])[:, 1]
    return band_means(features, RiskBands().band(probability))


def _on_spark(spark, raw, as_of, models, peers, reference, n_buckets, shuffle=False):
    sources = {name: raw[name] for name in ("accounts", "orders", "interactions")}
    if shuffle:
        sources = {
            name: frame.sample(frac=1.0, random_state=5).reset_index(drop=True)
            for name, frame in sources.items()
        }
    fn = functools.partial(score_bucket, as_of=as_of, models=models, peers=peers, drop=DROP)
    result = map_buckets_on_spark(
        spark,
        sources,
        n_buckets,
        fn,
        spark_schema_for(reference),
        broadcast={"categories": raw["categories"]},
    ).toPandas()
    return result.sort_values("account_id").reset_index(drop=True)


def _assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    want = want.sort_values("account_id").reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for name in want.columns:
        a, b = got[name], want[name]
        if pd.api.types.is_float_dtype(b.dtype):
            np.testing.assert_allclose(
                a.to_numpy(float), b.to_numpy(float), rtol=0, atol=1e-9, equal_nan=True
            )
        elif pd.api.types.is_datetime64_any_dtype(b.dtype):
            assert (pd.to_datetime(a).to_numpy() == b.to_numpy()).all(), name
        else:
            assert (
                a.astype(object).where(a.notna(), None).tolist()
                == b.astype(object).where(b.notna(), None).tolist()
            ), name


@pytest.mark.parametrize("n_buckets", [1, 2, 7])
def test_spark_scores_equal_the_pandas_engine_for_any_bucket_count(
    spark, raw, as_of, models, peers, reference, n_buckets
):
    got = _on_spark(spark, raw, as_of, models, peers, reference, n_buckets)
    _assert_same(got, reference)


def test_shuffled_input_rows_give_the_same_scores(spark, raw, as_of, models, peers, reference):
    got = _on_spark(spark, raw, as_of, models, peers, reference, 3, shuffle=True)
    _assert_same(got, reference)
