"""One local Spark session for every Spark test (a session costs ~7-40 s to start)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from kam_ml.churn.job import churn_spec
from kam_ml.churn.model import ChurnModel
from kam_ml.churn.training import ChurnTrainingResult, train_churn
from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import DemoData, generate_demo_data
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.champions import ScoringModels
from kam_ml.registry.gate import model_bundle


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """``local[2]``, UI off, two shuffle partitions, UTC; skips with the reason when java or
    pyspark is missing. Workers run this interpreter (else they start the system python3,
    which has no pyarrow)."""
    if shutil.which("java") is None:
        pytest.skip("java is not on the PATH (Spark 4 needs Java 17+: openjdk-17-jre-headless)")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.skip("pyspark is not installed: pip install 'kam-ml[spark]'")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("kam-ml-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def book() -> DemoData:
    """A few hundred demo accounts: enough for every band, quick on two cores."""
    return generate_demo_data(n_accounts=300, seed=11)


@pytest.fixture(scope="session")
def raw(book) -> dict[str, pd.DataFrame]:
    return book.raw_tables()


@pytest.fixture(scope="session")
def as_of(book) -> pd.Timestamp:
    return pd.Timestamp(book.orders["order_date"].max()).normalize()


@pytest.fixture(scope="session")
def trained(raw, as_of) -> ChurnTrainingResult:
    """A small churn model (30 trees): the parity tests need a model, not a good one."""
    tables = validate_tables(raw, on_bad_rows="refuse").tables
    return train_churn(
        tables, as_of, ProblemDefinition(), model=ChurnModel(n_estimators=30, n_jobs=1)
    )


@pytest.fixture(scope="session")
def models(trained) -> ScoringModels:
    return ScoringModels(churn=model_bundle(trained, churn_spec(), version="c1"))
