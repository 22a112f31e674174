"""The champion/challenger gate, and the one registration job every model goes through.

A new version is promoted only if it wins on the same data. ``register`` does, for any
model family: write the report, log the run (definition, hyperparameters, data
fingerprint, cutoffs, features, every scorer's metrics), log and register the model, alias
the new version ``challenger``, score the current champion on the challenger's own
validation rows, let ``decide_promotion`` judge, overrule it when a leakage alarm fired,
log the decision and the grade on the run *and* on the registered version, move
``champion`` and export a bundle only when the challenger wins.

The gate is also what approves a version's files: it writes the sha256 of the logged model
and metadata on the version's tags before any alias points at it, and the sha256 of the
exported bundle's metadata once it is written (signing the bundle when the store's
``BundleTrust`` has a key). Loading checks those digests before unpickling anything.

Refit after the gate: the gate judges the model fitted on the training side of the split
(the only fit with honest held-out evidence); once it has decided, ``spec.refit`` fits the
same estimator again on *every* labelled cutoff (training, embargoed and validation, the
newest calibrating), and that refit model is what is registered, exported and scores. The
run keeps the held-out metrics that justified the version and records the refit
(``refit``, ``refit.cutoffs``); the bundle's ``training_cutoffs`` say what the scoring
model was fitted on and its ``validation_cutoffs`` stay the held-out evidence. A spec
without ``refit`` (``kam-ml train --no-refit``) registers the held-out fit, as before.

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
from kam_ml.registry.bundle import ModelBundle, bundle_identity, save_bundle
from kam_ml.registry.tracking import (
    BUNDLE_DIGEST_TAG,
    CHALLENGER,
    CHAMPION,
    LoggedModel,
    TrackingStore,
)

__all__ = [
    "Card",
    "ModelSpec",
    "PromotionDecision",
    "Refit",
    "RegistrationOutcome",
    "Skipped",
    "TrainingResult",
    "block_on_alarms",
    "decide_promotion",
    "log_training_run",
    "model_bundle",
    "register",
    "trained_on_the_same",
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
class Refit(Generic[R]):
    """A training result whose model was fitted again on every labelled cutoff.

    ``result`` keeps the held-out evidence (``validation``, ``metrics``, ``split``) of the
    fit the gate judged; only its ``model`` is the refit one. ``cutoffs`` are the cutoffs
    the refit model learnt from, oldest first.
    """

    result: R
    cutoffs: tuple[pd.Timestamp, ...]


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
    ``refit`` fits the result's estimator again on every labelled cutoff once the gate has
    decided (see the module docstring); None registers the held-out fit itself.

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
    refit: Callable[[R], Refit[R]] | None = None
    #: the method MLflow's pyfunc (and so ``mlflow.pyfunc.spark_udf``) calls: a classifier
    #: whose users want probabilities is logged with ``"predict_proba"``
    pyfunc_predict_fn: str = "predict"

    def graded(self, result: R) -> Grade:
        """The family's grade of ``result``, or ``blocked`` when a leakage alarm fired."""
        letter, basis = self.grade(result)
        return Grade("blocked", basis) if self.leakage_alarms else Grade(letter, basis)


@dataclass(frozen=True)
class RegistrationOutcome(Generic[R]):
    """What a training job did: the result, where it went, whether it was promoted, its grade.

    ``result`` is what was registered: the refit one when ``refit_cutoffs`` is not empty
    (its metrics are still the held-out fit's), else the held-out fit itself.
    """

    name: str
    result: R
    version: str
    run_id: str
    decision: PromotionDecision
    grade: Grade
    report_path: Path
    bundle_path: Path | None
    card: Card | None = None
    refit_cutoffs: tuple[pd.Timestamp, ...] = ()


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
        decision = _gate(store, result, spec)
        registered, fitted = _refit(store, result, spec)
        logged = _register_version(store, registered, spec, grade, run_id, fitted, decision)
        card = None if spec.card is None else spec.card(registered, logged.version)
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
                "refit": _flag(fitted is not None),
            },
        )
    bundle_path = None
    if decision.promote:
        bundle = model_bundle(
            registered, spec, version=logged.version, grade=grade, card=card, fitted_on=fitted
        )
        bundle_path = save_bundle(bundle, models_dir / spec.name, key=store.trust.key)
        identity = bundle_identity(bundle_path)
        if identity is not None:
            store.set_version_tags(spec.name, logged.version, {BUNDLE_DIGEST_TAG: identity[2]})
    return RegistrationOutcome(
        spec.name,
        registered,
        logged.version,
        run_id,
        decision,
        grade,
        report_path,
        bundle_path,
        card,
        fitted or (),
    )


def trained_on_the_same(
    store: TrackingStore,
    name: str,
    fingerprint: Mapping[str, str | int],
    definition: ProblemDefinition,
    *,
    refit: bool,
) -> str | None:
    """The champion version of ``name`` when it was trained on exactly this data (the same
    ``data_fingerprint``: content hash and as-of date) with the same definition and refit
    setting; else None.

    Training again would fit the same model on the same rows, and the gate would then
    reject it for not *strictly* beating the champion: a version registered for nothing.
    ``kam-ml train`` says so and stops instead (``--force`` trains anyway, e.g. after an
    upgrade of kam-ml changed the features).
    """
    version = store.alias_version(name, CHAMPION)
    if version is None:
        return None
    params = store.version_run_params(name, version)
    expected = {
        "data.sha256": str(fingerprint["sha256"]),
        "data.as_of": str(fingerprint["as_of"]),
        "refit": _flag(refit),
    } | {f"definition.{k}": str(v) for k, v in definition.to_dict().items()}
    same = all(params.get(key) == value for key, value in expected.items())
    return version if same else None


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
    fitted_on: tuple[pd.Timestamp, ...] | None = None,
) -> ModelBundle:
    """The bundle of a training result: model, features, definition, cutoffs, the model's
    metrics, the data fingerprint and the grade, plus what ``spec.bundle_extra`` adds for
    one family and the card when there is one.

    ``training_cutoffs`` are the cutoffs the bundled model was fitted on: ``fitted_on`` for
    a refit model (``extra["refit"]`` is then true), else the training side of the split.
    ``validation_cutoffs`` and ``metrics`` are always the held-out evidence of the split.
    """
    letter = (grade or spec.graded(result)).letter
    extra = {"as_of": str(result.as_of.date()), "data": dict(result.fingerprint)}
    extra |= dict(spec.bundle_extra(result)) | {"grade": letter, "refit": fitted_on is not None}
    if card is not None:
        extra["model_card"] = card.as_dict()
    return ModelBundle(
        model=result.model,
        model_name=spec.name,
        version=version,
        feature_names=result.feature_names,
        definition=result.definition,
        training_cutoffs=_dates(result.split.train_cutoffs if fitted_on is None else fitted_on),
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


def _gate(store: TrackingStore, result: R, spec: ModelSpec[R]) -> PromotionDecision:
    """Inside the run: judge the held-out fit against the champion, log the evidence.

    The champion is scored on the challenger's validation rows. A champion that cannot be
    scored on them (it needs features this build no longer makes, or scores NaN) gets the
    worst possible score: it cannot block a working model.

    A refit champion may have been fitted on some of those rows (its ``training_cutoffs``
    reach them), and scoring it there would flatter it. When its own held-out evidence is
    on the very same rows (same validation cutoffs, definition and data), the gate uses
    that recorded metric instead; otherwise it scores the champion on the rows, in-sample
    where they overlap. The tags ``gate.champion_basis`` (``scored``, ``held_out_record``,
    ``scored_in_sample``) and ``gate.champion_fitted_on_validation`` say which.
    """
    name, metric = spec.name, spec.gate_metric
    challenger_score = float(result.metrics[spec.scorer][metric])
    worst = float("-inf") if spec.higher_is_better else float("inf")
    champion_version = store.alias_version(name, CHAMPION)
    champion_score = None
    overlap: list[str] = []
    basis = "none"
    if champion_version is not None:
        champion = store.load_bundle(f"models:/{name}/{champion_version}")
        overlap = sorted(
            set(_dates(result.split.validation_cutoffs)) & set(champion.training_cutoffs)
        )
        if overlap and _same_held_out_rows(champion, result, metric):
            champion_score, basis = float(champion.metrics[metric]), "held_out_record"
        else:
            basis = "scored_in_sample" if overlap else "scored"
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
            "gate.champion_fitted_on_validation": ",".join(overlap) or "none",
            "gate.champion_basis": basis,
        }
    )
    return decision


def _same_held_out_rows(champion: ModelBundle, result: TrainingResult, metric: str) -> bool:
    """Whether the champion's recorded held-out metrics were measured on ``result``'s
    validation rows: the same validation cutoffs and definition over the same data."""
    data = champion.extra.get("data", {})
    return (
        metric in champion.metrics
        and champion.validation_cutoffs == _dates(result.split.validation_cutoffs)
        and champion.definition == result.definition
        and isinstance(data, Mapping)
        and data.get("sha256") == result.fingerprint.get("sha256")
    )


def _refit(
    store: TrackingStore, result: R, spec: ModelSpec[R]
) -> tuple[R, tuple[pd.Timestamp, ...] | None]:
    """Inside the run, after the gate: the result to register and the cutoffs it was refit on
    (None when the spec does not refit); logged as ``refit`` and ``refit.cutoffs``."""
    if spec.refit is None:
        store.log_params({"refit": _flag(False)})
        store.set_tags({"refit": _flag(False)})
        return result, None
    refit = spec.refit(result)
    store.log_params({"refit": _flag(True), "refit.cutoffs": _dates(refit.cutoffs)})
    store.set_tags({"refit": _flag(True), "refit.cutoffs": ",".join(_dates(refit.cutoffs))})
    return refit.result, refit.cutoffs


def _register_version(
    store: TrackingStore,
    result: R,
    spec: ModelSpec[R],
    grade: Grade,
    run_id: str,
    fitted_on: tuple[pd.Timestamp, ...] | None,
    decision: PromotionDecision,
) -> LoggedModel:
    """Inside the run: register the model as ``challenger``, and ``champion`` if it won."""
    example, output = spec.example(result)
    pending = model_bundle(result, spec, version="pending", grade=grade, fitted_on=fitted_on)
    logged = store.log_model(
        result.model,
        spec.name,
        bundle_metadata=pending.metadata(),
        input_example=example,
        output_example=output,
        run_id=run_id,
        pyfunc_predict_fn=spec.pyfunc_predict_fn,
    )
    store.set_version_tags(spec.name, logged.version, logged.approval)  # before any alias
    store.set_alias(spec.name, CHALLENGER, logged.version)
    if decision.promote:
        store.set_alias(spec.name, CHAMPION, logged.version)
    return logged


def _verdict(decision: PromotionDecision) -> str:
    return "promoted" if decision.promote else "rejected"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _dates(cutoffs: tuple[pd.Timestamp, ...]) -> list[str]:
    return [str(c.date()) for c in cutoffs]
