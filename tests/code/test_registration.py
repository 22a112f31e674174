"""``register`` on a tiny model of no family: the gate, its evidence and what it refuses.

The registry imports no model family, so any result that has the ``TrainingResult``
attributes and a ``ModelSpec`` goes through the same job as churn, offers and value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from kam_ml.evaluation.grades import Grade
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.splits import TimeSplit
from kam_ml.registry.bundle import load_bundle
from kam_ml.registry.gate import ModelSpec, RegistrationOutcome, register
from kam_ml.registry.tracking import CHALLENGER, CHAMPION, TrackingStore

CUTOFFS = tuple(pd.Timestamp(d) for d in ("2026-05-03", "2026-06-02", "2026-07-02"))


@dataclass(frozen=True)
class TinyResult:
    model: LinearRegression
    definition: ProblemDefinition
    as_of: pd.Timestamp
    split: TimeSplit
    validation: pd.DataFrame
    metrics: dict[str, dict[str, float]]
    fingerprint: dict[str, str | int]
    hyperparameters: dict[str, object]
    feature_names: list[str]


@pytest.fixture(scope="module")
def result() -> TinyResult:
    x = pd.DataFrame({"orders": np.arange(20.0), "spend": np.arange(20.0) ** 0.5})
    y = 3.0 * x["orders"] + 1.0
    model = LinearRegression().fit(x, y)
    split = TimeSplit(np.ones(20, bool), np.zeros(20, bool), CUTOFFS[:2], CUTOFFS[2:])
    return TinyResult(
        model=model,
        definition=ProblemDefinition(),
        as_of=pd.Timestamp("2026-10-31"),
        split=split,
        validation=x.assign(target=y),
        metrics={"model": {"mae": 2.0}, "naive": {"mae": 5.0}},
        fingerprint={"sha256": "0" * 64, "accounts": 20},
        hyperparameters=model.get_params(),
        feature_names=list(x.columns),
    )


def _report(result: TinyResult, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text("<p>tiny</p>", encoding="utf-8")
    return path


def _example(result: TinyResult) -> tuple[pd.DataFrame, np.ndarray]:
    rows = result.validation[result.feature_names].head(5)
    return rows, result.model.predict(rows)


def _spec(name: str, champion_mae: float, alarms: tuple[str, ...] = ()) -> ModelSpec[TinyResult]:
    return ModelSpec(
        name=name,
        run_prefix="tiny",
        gate_metric="mae",
        higher_is_better=False,
        score_champion=lambda champion, result: champion_mae,
        write_report=_report,
        example=_example,
        grade=lambda r: Grade("B", "MAE 2 vs 5 for naive"),
        leakage_alarms=alarms,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MLflow store for the module (creating one takes seconds); one model name per test."""
    return tmp_path_factory.mktemp("registry")


@pytest.fixture
def store(root: Path) -> TrackingStore:
    return TrackingStore(f"sqlite:///{root / 'mlflow.db'}")


def _register(
    result: TinyResult, spec: ModelSpec[TinyResult], store: TrackingStore, root: Path
) -> RegistrationOutcome:
    return register(result, spec, store=store, models_dir=root / "models", report_dir=root / "r")


def test_a_challenger_that_loses_is_registered_but_not_promoted(result, store, root):
    name = "kam-tiny-rejected"
    first = _register(result, _spec(name, champion_mae=99.0), store, root)
    assert first.decision.promote and first.decision.reason == "no champion yet"
    assert first.bundle_path == root / "models" / name

    rejected = _register(result, _spec(name, champion_mae=1.5), store, root)  # champion better
    assert not rejected.decision.promote and rejected.version == "2"
    assert rejected.decision.reason == (
        "challenger mae 2.0000 does not beat champion v1 1.5000 on the same validation rows"
    )
    assert rejected.bundle_path is None and rejected.card is None
    assert store.alias_version(name, CHAMPION) == "1"
    assert store.alias_version(name, CHALLENGER) == "2"
    approved = store.approved_bundle_sha256(name, "1")
    assert load_bundle(root / "models" / name, approved_sha256=approved).version == "1"  # untouched
    tags = store.client.get_model_version(name, "2").tags
    assert tags["gate.decision"] == "rejected" and tags["card.grade"] == "B"
    assert tags["gate.reason"] == rejected.decision.reason
    run = store.client.get_run(rejected.run_id).data
    assert run.tags["gate.decision"] == "rejected"
    assert run.metrics["gate_challenger_mae"] == 2.0 and run.metrics["gate_champion_mae"] == 1.5
    assert run.metrics["model_mae"] == 2.0 and run.metrics["naive_mae"] == 5.0
    assert run.params["features"] == '["orders", "spend"]'


def test_a_leakage_alarm_blocks_a_winner_and_its_grade(result, store, root):
    name = "kam-tiny-blocked"
    _register(result, _spec(name, champion_mae=99.0), store, root)
    alarm = "1 feature(s) change at cutoff 2026-07-02 when rows after it are removed"
    blocked = _register(result, _spec(name, champion_mae=9.0, alarms=(alarm,)), store, root)
    assert not blocked.decision.promote and blocked.bundle_path is None
    assert blocked.decision.reason.startswith(f"blocked by leakage alarm: {alarm} (gate: ")
    assert blocked.grade == Grade("blocked", "MAE 2 vs 5 for naive")
    assert store.alias_version(name, CHAMPION) == "1"
    assert store.client.get_model_version(name, "2").tags["card.grade"] == "blocked"
    assert store.client.get_run(blocked.run_id).data.tags["leakage.fired"] == "True"


def test_a_champion_that_cannot_score_the_rows_cannot_block(result, store, root):
    def needs_missing_features(champion: object, result: TinyResult) -> float:
        raise KeyError("tickets_90d")

    name = "kam-tiny-unscorable"
    _register(result, _spec(name, champion_mae=99.0), store, root)
    spec = replace(_spec(name, champion_mae=0.0), score_champion=needs_missing_features)
    outcome = _register(result, spec, store, root)
    assert outcome.decision.promote and outcome.decision.champion_score == float("inf")
