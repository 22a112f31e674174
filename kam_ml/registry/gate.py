"""The champion/challenger gate, and the one registration job every model goes through.

A new version is promoted only if it wins on the same data. ``register`` does, for any
model family: write the report, log the run (definition, hyperparameters, data
fingerprint, cutoffs, features, every scorer's metrics), log and register the model, alias
the new version ``challenger``, score the current champion on the challenger's own
validation rows, let ``decide_promotion`` judge, overrule it when a leakage alarm fired,
log the decision and the grade on the run *and* on the registered version, move
``champion`` and export a bundle only when the challenger wins.

The registry imports no model family: each domain describes itself with a ``ModelSpec``
(see ``kam_ml.churn.job``, ``kam_ml.offers.job`` and ``kam_ml.value.job``) and its training
result satisfies ``TrainingResult``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from kam_ml.evaluation.grades import Grade
from kam_ml.problem.definition import ProblemDefinition
from kam_ml.problem.splits import TimeSplit
from kam_ml.registry.bundle import ModelBundle, save_bundle
from kam_ml.registry.tracking import CHALLENGER, CHAMPION, LoggedModel, TrackingStore

__all__ = [
    "Card",
    "ModelSpec",
    "PromotionDecision",
    "RegistrationOutcome",
    "Skipped",
    "TrainingResult",
    "block_on_alarms",
    "decide_promotion",
    "log_training_run",
    "model_bundle",
    "register",
    "write_card",
]


class TrainingResult(Protocol):
    """What registration reads from a training run; the churn, offer and value results have it.

    ``metrics`` maps each scorer (the model and every baseline) to its validation metrics.
    """

    @property
    def model(self) -> object: ...  # a fitted scikit-learn estimator
    @property
    def definition(self) -> ProblemDefinition: ...
    @property
    def as_of(self) -> pd.Timestamp: ...
    @property
    def split(self) -> TimeSplit: ...
    @property
    def validation(self) -> pd.DataFrame: ...
    @property
    def metrics(self) -> Mapping[str, Mapping[str, float]]: ...
    @property
    def fingerprint(self) -> Mapping[str, str | int]: ...
    @property
    def hyperparameters(self) -> Mapping[str, object]: ...
    @property
    def feature_names(self) -> list[str]: ...


class Card(Protocol):
    """A model card as the registry handles it: logged as an artifact, exported in the bundle."""

    @property
    def grade(self) -> str: ...
    def as_dict(self) -> dict[str, Any]: ...
    def to_json(self) -> str: ...
    def to_markdown(self) -> str: ...


R = TypeVar("R", bound=TrainingResult)


@dataclass(frozen=True)
class PromotionDecision:
    """Whether the challenger becomes champion, and the evidence for it."""

    promote: bool
    reason: str
    metric: str
    challenger_score: float
    champion_score: float | None
    champion_version: str | None


def decide_promotion(
    metric: str,
    challenger_score: float,
    champion_score: float | None,
    champion_version: str | None,
    higher_is_better: bool = True,
) -> PromotionDecision:
    """Promote when there is no champion, or the challenger strictly beats it."""
    if champion_version is None or champion_score is None:
        return PromotionDecision(True, "no champion yet", metric, challenger_score, None, None)
    better = (
        challenger_score > champion_score if higher_is_better else challenger_score < champion_score
    )
    verdict = "beats" if better else "does not beat"
    reason = (
        f"challenger {metric} {challenger_score:.4f} {verdict} champion v{champion_version} "
        f"{champion_score:.4f} on the same validation rows"
    )
    return PromotionDecision(
        better, reason, metric, challenger_score, champion_score, champion_version
    )


def block_on_alarms(decision: PromotionDecision, alarms: tuple[str, ...]) -> PromotionDecision:
    """The gate's decision, overruled to "reject" when a leakage alarm fired."""
    if not alarms:
        return decision
    reason = f"blocked by leakage alarm: {'; '.join(alarms)} (gate: {decision.reason})"
    return replace(decision, promote=False, reason=reason)


def _nothing(result: object) -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True)
class ModelSpec(Generic[R]):
    """How one model family is registered: what it is called, how its gate and grade work,
    which report it writes and which evidence it carries.

    ``scorer`` is the model's key in ``result.metrics`` (the other keys are baselines);
    ``gate_metric`` is the key of its metrics the gate compares. ``score_champion``
    computes that metric for a champion bundle on the challenger's validation rows, raising
    ``KeyError`` when the champion needs features those rows lack (it then cannot compete).
    ``example`` gives a few input rows and the model's output on them, for MLflow's
    signature. ``card`` builds the version's model card where the family has one.
    ``leakage_alarms`` are the alarms the job's leakage checks raised on this result: any
    alarm vetoes promotion and grades the version ``blocked``, the same rule for every family.

    Each domain builds its spec with a ``*_spec()`` function (``churn_spec``, ``offers_spec``,
    ``value_spec``) rather than a constant, because two things come from the training at
    hand: the leakage alarms, and for offers the k its NDCG gate is measured at.
    """

    name: str
    run_prefix: str
    gate_metric: str
    higher_is_better: bool
    score_champion: Callable[[ModelBundle, R], float]
    write_report: Callable[[R, Path], Path]
    example: Callable[[R], tuple[pd.DataFrame, Any]]
    grade: Callable[[R], Grade]
    scorer: str = "model"
    bundle_extra: Callable[[R], Mapping[str, Any]] = _nothing
    run_params: Callable[[R], Mapping[str, Any]] = _nothing
    run_metrics: Callable[[R], Mapping[str, float]] = _nothing
    card: Callable[[R, str], Card] | None = None
    leakage_alarms: tuple[str, ...] = ()

    def graded(self, result: R) -> Grade:
        """The family's grade of ``result``, or ``blocked`` when a leakage alarm fired."""
        letter, basis = self.grade(result)
        return Grade("blocked", basis) if self.leakage_alarms else Grade(letter, basis)


@dataclass(frozen=True)
class RegistrationOutcome(Generic[R]):
    """What a training job did: the result, where it went, whether it was promoted, its grade."""

    name: str
    result: R
    version: str
    run_id: str
    decision: PromotionDecision
    grade: Grade
    report_path: Path
    bundle_path: Path | None
    card: Card | None = None


@dataclass(frozen=True)
class Skipped:
    """A model a job did not train, and why; nothing was logged or registered."""

    name: str
    reason: str


def register(
    result: R,
    spec: ModelSpec[R],
    *,
    store: TrackingStore,
    models_dir: Path,
    report_dir: Path,
) -> RegistrationOutcome[R]:
    """Report, log and register ``result`` as the challenger; promote it through the gate.

    A promoted version is exported to ``models_dir/<name>`` as a verified bundle, with its
    grade (and card). The run and the version are tagged ``card.grade``, ``gate.decision``
    and ``gate.reason``, so the registry alone tells why a version is or is not champion.
    """
    grade = spec.graded(result)
    report_path = spec.write_report(result, report_dir)
    run_name = f"{spec.run_prefix}-{result.as_of.date()}"
    with store.run(spec.name, run_name=run_name) as run_id:
        log_training_run(
            store,
            result,
            extra_params=spec.run_params(result),
            extra_metrics=spec.run_metrics(result),
        )
        store.log_artifacts(report_dir, "report")
        logged, decision = _register_through_gate(store, result, spec, grade, run_id)
        card = None if spec.card is None else spec.card(result, logged.version)
        if card is not None:
            store.log_artifacts(write_card(card, report_dir / "card"), "card")
        store.set_tags(
            {"card.grade": grade.letter, "leakage.fired": str(bool(spec.leakage_alarms))}
        )
        store.set_version_tags(
            spec.name,
            logged.version,
            {
                "card.grade": grade.letter,
                "gate.decision": _verdict(decision),
                "gate.reason": decision.reason,
            },
        )
    bundle_path = None
    if decision.promote:
        bundle = model_bundle(result, spec, version=logged.version, grade=grade, card=card)
        bundle_path = save_bundle(bundle, models_dir / spec.name)
    return RegistrationOutcome(
        spec.name, result, logged.version, run_id, decision, grade, report_path, bundle_path, card
    )


def log_training_run(
    store: TrackingStore,
    result: TrainingResult,
    *,
    extra_params: Mapping[str, Any] | None = None,
    extra_metrics: Mapping[str, float] | None = None,
) -> None:
    """Inside an active run: log what every model run logs (definition, hyperparameters,
    data fingerprint, cutoffs, the layout trained on, features) and each scorer's metrics
    as ``<scorer>_<metric>``.

    The one logging path for registered models and notebook variants alike, so their runs
    can be compared column by column.
    """
    split = result.split
    store.log_params(
        {f"definition.{k}": v for k, v in result.definition.to_dict().items()}
        | {f"model.{k}": v for k, v in result.hyperparameters.items()}
        | {f"data.{k}": v for k, v in result.fingerprint.items()}
        | {
            "train_cutoffs": _dates(split.train_cutoffs),
            "validation_cutoffs": _dates(split.validation_cutoffs),
            "features": result.feature_names,
        }
        | (split.layout.params() if split.layout is not None else {})
        | dict(extra_params or {})
    )
    store.log_metrics(
        {
            f"{scorer}_{name}": value
            for scorer, values in result.metrics.items()
            for name, value in values.items()
        }
        | dict(extra_metrics or {})
    )


def model_bundle(
    result: R,
    spec: ModelSpec[R],
    *,
    version: str,
    grade: Grade | None = None,
    card: Card | None = None,
) -> ModelBundle:
    """The bundle of a training result: model, features, definition, cutoffs, the model's
    metrics, the data fingerprint and the grade, plus what ``spec.bundle_extra`` adds for
    one family and the card when there is one."""
    letter = (grade or spec.graded(result)).letter
    extra = {"as_of": str(result.as_of.date()), "data": dict(result.fingerprint)}
    extra |= dict(spec.bundle_extra(result)) | {"grade": letter}
    if card is not None:
        extra["model_card"] = card.as_dict()
    return ModelBundle(
        model=result.model,
        model_name=spec.name,
        version=version,
        feature_names=result.feature_names,
        definition=result.definition,
        training_cutoffs=_dates(result.split.train_cutoffs),
        validation_cutoffs=_dates(result.split.validation_cutoffs),
        metrics=dict(result.metrics[spec.scorer]),
        extra=extra,
    )


def write_card(card: Card, directory: Path) -> Path:
    """Write ``model_card.md`` and ``model_card.json`` into ``directory``; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model_card.md").write_text(card.to_markdown(), encoding="utf-8")
    (directory / "model_card.json").write_text(card.to_json(), encoding="utf-8")
    return directory


def _register_through_gate(
    store: TrackingStore, result: R, spec: ModelSpec[R], grade: Grade, run_id: str
) -> tuple[LoggedModel, PromotionDecision]:
    """Inside the run: register the model as ``challenger`` and apply the champion gate.

    A champion that cannot be scored on these rows (it needs features this build no longer
    makes, or scores NaN) gets the worst possible score: it cannot block a working model.
    """
    name, metric = spec.name, spec.gate_metric
    example, output = spec.example(result)
    logged = store.log_model(
        result.model,
        name,
        bundle_metadata=model_bundle(result, spec, version="pending", grade=grade).metadata(),
        input_example=example,
        output_example=output,
        run_id=run_id,
    )
    store.set_alias(name, CHALLENGER, logged.version)
    challenger_score = float(result.metrics[spec.scorer][metric])
    worst = float("-inf") if spec.higher_is_better else float("inf")
    champion_version = store.alias_version(name, CHAMPION)
    champion_score = None
    if champion_version is not None:
        champion = store.load_bundle(f"models:/{name}/{champion_version}")
        try:
            champion_score = float(spec.score_champion(champion, result))
        except KeyError:
            champion_score = worst
        if not np.isfinite(champion_score):
            champion_score = worst
    decision = decide_promotion(
        metric, challenger_score, champion_score, champion_version, spec.higher_is_better
    )
    decision = block_on_alarms(decision, spec.leakage_alarms)
    gate_metrics = {f"gate_challenger_{metric}": challenger_score}
    if champion_score is not None and np.isfinite(champion_score):
        gate_metrics[f"gate_champion_{metric}"] = champion_score
    store.log_metrics(gate_metrics)
    store.set_tags(
        {
            "gate.metric": metric,
            "gate.decision": _verdict(decision),
            "gate.reason": decision.reason,
            "gate.champion_version_before": decision.champion_version or "none",
        }
    )
    if decision.promote:
        store.set_alias(name, CHAMPION, logged.version)
    return logged, decision


def _verdict(decision: PromotionDecision) -> str:
    return "promoted" if decision.promote else "rejected"


def _dates(cutoffs: tuple[pd.Timestamp, ...]) -> list[str]:
    return [str(c.date()) for c in cutoffs]
