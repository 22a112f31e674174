"""The training job logs a model card, exports it in the bundle, and lets leakage block."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kam_ml.churn import job as pipeline
from kam_ml.churn.leakage import LeakageReport
from kam_ml.data.tables import Tables
from kam_ml.data.validation import validate_tables
from kam_ml.demo.generate import generate_demo_data
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.registry.bundle import load_bundle
from kam_ml.registry.gate import RegistrationOutcome
from kam_ml.registry.tracking import CHAMPION, TrackingStore

END = pd.Timestamp("2026-10-31")
DEFINITION = ProblemDefinition(training_cutoffs=6)


@pytest.fixture(scope="module")
def tables() -> Tables:
    demo = generate_demo_data(n_accounts=600, seed=8, end_date=END)
    raw = {"accounts": demo.accounts, "orders": demo.orders, "interactions": demo.interactions}
    return validate_tables(raw, on_bad_rows="refuse").tables


def _train(tables: Tables, tmp_path: Path) -> RegistrationOutcome:
    store = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return pipeline.train_and_register_churn(
        tables, END, DEFINITION, store, tmp_path / "models", tmp_path / "report"
    )


def test_card_is_logged_and_exported(tables: Tables, tmp_path: Path) -> None:
    outcome = _train(tables, tmp_path)
    assert outcome.decision.promote and outcome.card is not None
    assert (tmp_path / "report" / "card" / "model_card.md").is_file()
    store = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = store.client.get_run(outcome.run_id)
    assert run.data.tags["card.grade"] == outcome.card.grade
    assert run.data.tags["leakage.fired"] == "False"
    assert outcome.grade.letter == outcome.card.grade
    assert outcome.bundle_path is not None
    approved = store.approved_bundle_sha256(outcome.name, outcome.version)
    bundle = load_bundle(outcome.bundle_path, approved_sha256=approved)
    assert bundle.extra["grade"] == outcome.card.grade
    assert bundle.extra["model_card"]["version"] == outcome.version


def test_leakage_alarm_blocks_promotion(
    tables: Tables, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alarm = LeakageReport(("validation ROC-AUC 0.990 is implausible",), 0.99, 0.97, "2026-08-02")
    monkeypatch.setattr(pipeline, "check_leakage", lambda result, tables: alarm)
    outcome = _train(tables, tmp_path)
    assert not outcome.decision.promote
    assert outcome.decision.reason.startswith("blocked by leakage alarm: validation ROC-AUC 0.990")
    assert outcome.bundle_path is None and outcome.card.grade == "blocked"
    store = TrackingStore(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert store.alias_version(pipeline.CHURN_MODEL_NAME, CHAMPION) is None
