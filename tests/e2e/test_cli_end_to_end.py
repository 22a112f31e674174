"""The real CLI, in a subprocess, against a real MLflow SQLite store: demo -> train -> score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
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


def test_second_run_is_a_challenger_that_must_beat_the_champion(workdir):
    out = run(["train", "--data", "data"], workdir)
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
