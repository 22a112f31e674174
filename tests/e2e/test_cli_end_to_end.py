"""The real CLI, in a subprocess, against a real MLflow SQLite store: demo -> train -> score."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlflow.tracking import MlflowClient

KAM_ML = [sys.executable, "-m", "kam_ml"]


def run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}", "COLUMNS": "200"}
    result = subprocess.run(
        KAM_ML + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kam-ml {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("e2e")
    run(["demo-data", "--out", "data", "--accounts", "1200", "--seed", "5"], workdir)
    run(["train", "--data", "data"], workdir)
    return workdir


def test_train_registers_a_champion_with_metrics_plots_and_a_bundle(workdir):
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("kam-churn", "champion")
    challenger = client.get_model_version_by_alias("kam-churn", "challenger")
    assert str(champion.version) == str(challenger.version) == "1"
    run_data = client.get_run(champion.run_id).data
    for metric in (
        "model_roc_auc",
        "model_pr_auc",
        "model_brier",
        "model_log_loss",
        "model_top_decile_lift",
        "recency_roc_auc",
        "rfm_roc_auc",
        "kpi_retention_rate",
    ):
        assert metric in run_data.metrics, metric
    assert run_data.params["definition.horizon_days"] == "90"
    assert len(run_data.params["data.sha256"]) == 64
    assert run_data.tags["gate.decision"] == "promoted"
    artifacts = {a.path for a in client.list_artifacts(champion.run_id, "report")}
    for plot in ("roc_curve", "pr_curve", "calibration", "lift_curve", "feature_importance"):
        assert f"report/{plot}.png" in artifacts
    assert (workdir / "models" / "kam-churn" / "metadata.json").is_file()


def test_training_again_on_unchanged_data_says_so_and_registers_nothing(workdir):
    out = run(["train", "--data", "data"], workdir)
    text = out.stdout.replace("\n", " ")
    for name in ("kam-churn", "kam-offers", "kam-value"):
        assert f"{name}: champion v1 was trained on this very data" in text
    assert "Nothing to train: the data and settings are unchanged." in text
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    for name in ("kam-churn", "kam-offers", "kam-value"):
        assert [str(v.version) for v in client.search_model_versions(f"name='{name}'")] == ["1"]
    # another setting is another model: a horizon of 60 days would be trained
    from kam_ml.data.tables import data_fingerprint
    from kam_ml.data.validation import load_tables
    from kam_ml.problem.definition import ProblemDefinition
    from kam_ml.registry.gate import trained_on_the_same
    from kam_ml.registry.tracking import TrackingStore

    tables = load_tables(str(workdir / "data")).tables
    fingerprint = data_fingerprint(tables, tables.last_date())
    store = TrackingStore(f"sqlite:///{workdir / 'mlflow.db'}")
    same = ProblemDefinition()
    assert trained_on_the_same(store, "kam-churn", fingerprint, same, refit=True) == "1"
    assert trained_on_the_same(store, "kam-churn", fingerprint, same, refit=False) is None
    other = same.with_horizon(60)
    assert trained_on_the_same(store, "kam-churn", fingerprint, other, refit=True) is None


def test_a_forced_second_run_is_a_challenger_that_must_beat_the_champion(workdir):
    out = run(["train", "--data", "data", "--force"], workdir)
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    assert str(client.get_model_version_by_alias("kam-churn", "challenger").version) == "2"
    assert str(client.get_model_version_by_alias("kam-churn", "champion").version) == "1"
    run_tags = client.get_run(client.get_model_version("kam-churn", "2").run_id).data.tags
    assert run_tags["gate.decision"] == "rejected"
    assert "does not beat champion v1" in out.stdout.replace("\n", " ")


def test_score_writes_explained_calibrated_scores(workdir):
    run(["score", "--data", "data", "--out", "scores.parquet"], workdir)
    run(["score", "--data", "data", "--out", "scores.csv", "--model", "models/kam-churn"], workdir)
    parquet = pd.read_parquet(workdir / "scores.parquet")
    csv = pd.read_csv(workdir / "scores.csv")
    assert {
        "account_id",
        "churn_probability",
        "risk_band",
        "reasons",
        "reason_details",
        "as_of",
        "churn_model_version",
    } <= set(parquet.columns)
    assert parquet["account_id"].is_unique and len(parquet) > 500
    assert parquet["churn_probability"].between(0, 1).all()
    assert set(parquet["risk_band"]) <= {"high", "medium", "low"}
    assert (parquet["churn_model_version"] == "1").all()
    # the registry champion and the exported bundle are the same model
    pd.testing.assert_series_equal(
        parquet["churn_probability"], csv["churn_probability"], check_exact=False, rtol=1e-12
    )
    # reasons as sentences and as records, in both files
    details = [list(d) for d in parquet["reason_details"]]
    assert [[r["text"] for r in row] for row in details] == [list(r) for r in parquet["reasons"]]
    assert sum(map(len, details)) > 0
    from_csv = [json.loads(cell) for cell in csv["reason_details"]]
    assert [[r["feature"] for r in row] for row in from_csv] == [
        [r["feature"] for r in row] for row in details
    ]


def test_bad_input_exits_1_with_a_message_and_no_traceback(workdir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "accounts.csv").write_text(
        "account_id,signup_date,manager,region\nA1,2024-01-01,M,EMEA\n"
    )
    (bad / "orders.csv").write_text("order_id,account_id,order_date,category,quantity\n")
    result = run(["validate", "--data", str(bad)], workdir, check=False)
    assert result.returncode == 1
    assert "orders" in result.stderr and "amount" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_horizon_mismatch_is_refused(workdir):
    result = run(
        ["score", "--data", "data", "--out", "x.csv", "--horizon-days", "30"], workdir, check=False
    )
    assert result.returncode == 1
    assert "predicts churn over 90 days" in result.stderr.replace("\n", " ")


def test_train_registers_offers_and_value_and_score_writes_them(workdir):
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    for name in ("kam-offers", "kam-value"):
        assert str(client.get_model_version_by_alias(name, "champion").version) == "1", name
        assert (workdir / "models" / name / "metadata.json").is_file(), name
    run(["score", "--data", "data", "--out", "offers.parquet", "--k", "2"], workdir)
    scores = pd.read_parquet(workdir / "offers.parquet")
    assert scores["offers"].map(len).eq(2).all()
    assert scores["offer_reasons"].map(lambda r: len(r) == 2 and all(r)).all()
    assert scores["expected_value_12m"].notna().all() and scores["revenue_at_risk"].notna().all()
    assert (scores["value_model_version"] == "1").all()


def _sqlite_book(workdir: Path) -> str:
    """The demo book's four tables written into a SQLite file, as a CRM export would be."""
    with closing(sqlite3.connect(workdir / "book.db")) as conn:
        for name in ("accounts", "orders", "interactions", "categories"):
            frame = pd.read_parquet(workdir / "data" / f"{name}.parquet")
            frame.to_sql(name, conn, index=False, if_exists="replace")
    return "sqlite:///book.db"  # relative to the working folder, as the README shows


def test_every_command_reads_a_sqlite_uri_like_the_folder(workdir):
    uri = _sqlite_book(workdir)
    validated = run(["validate", "--data", uri], workdir)
    assert "sqlite:///book.db follows the contract" in " ".join(validated.stdout.split())
    run(["score", "--data", uri, "--out", "from_sqlite.parquet"], workdir)
    run(["score", "--data", "data", "--out", "from_folder.parquet"], workdir)
    from_sqlite = pd.read_parquet(workdir / "from_sqlite.parquet")
    from_folder = pd.read_parquet(workdir / "from_folder.parquet")
    assert list(from_sqlite["account_id"]) == list(from_folder["account_id"])
    pd.testing.assert_series_equal(
        from_sqlite["churn_probability"], from_folder["churn_probability"]
    )
    night = run(["nightly", "--data", uri, "--out", "nights"], workdir)
    assert "Nightly run from sqlite:///book.db" in night.stdout
    day = json.loads((workdir / "nights" / "latest.json").read_text())["as_of"]
    assert f"accounts scored as of {day}" in " ".join(night.stdout.split())
    assert (workdir / "nights" / day / "risk_lists" / "index.html").is_file()
    # the same rows as the folder, to the content hash: the champion saw this very data
    trained = run(["train", "--data", uri], workdir)
    assert "Nothing to train: the data and settings are unchanged." in trained.stdout
    # every Parquet file demo-data, score and nightly wrote stores microseconds: Spark
    # rejects nanosecond timestamps (TIMESTAMP(NANOS))
    units = {
        path.relative_to(workdir).as_posix(): {
            field.name: field.type.unit
            for field in pq.read_schema(path)
            if pa.types.is_timestamp(field.type)
        }
        for path in workdir.rglob("*.parquet")
    }
    assert {"data/orders.parquet", "from_folder.parquet"} <= set(units)
    assert any(p.startswith("nights/") and p.endswith("/explained.parquet") for p in units)
    assert units["data/orders.parquet"] == {"order_date": "us", "return_date": "us"}
    finer = {(p, c) for p, columns in units.items() for c, unit in columns.items() if unit != "us"}
    assert finer == set()
