"""Scale-out on Apache Spark: kam-ml's own per-bucket pandas code, called by Spark.

pyspark is an optional extra (``pip install 'kam-ml[spark]'``) and is imported lazily, so
importing this package never needs a JVM.
"""

from kam_ml.spark.engine import (
    SPARK_INSTALL_HINT,
    bucket_tables_from_group,
    map_buckets_on_spark,
    score_bucket,
    spark_schema_for,
)

__all__ = [
    "SPARK_INSTALL_HINT",
    "bucket_tables_from_group",
    "map_buckets_on_spark",
    "score_bucket",
    "spark_schema_for",
]
