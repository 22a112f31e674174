"""The champion models a scoring run uses, found one way, with the reason any is missing.

``kam-ml score``, the nightly job and the API all call ``load_champions``, so they cannot
pick different champions. For each of ``MODEL_NAMES`` it tries, in this order:

1. the MLflow alias ``models:/<name>@champion`` (when there is a store to ask);
2. the exported bundle ``<models_dir>/<name>`` (what promotion writes, for running
   without the store).

Both are verified before anything is unpickled (see ``kam_ml.registry.bundle`` and
``kam_ml.registry.tracking``). A champion whose MLflow artifacts are missing or not the
ones registered falls back to the exported bundle when that bundle verifies, with a
warning in ``ScoringModels.warnings``; otherwise loading stops with both reasons.

Churn is required: when neither has it ``ModelNotFoundError`` is raised, and a bundle
that fails verification raises its ``BundleError``, never "no model". Offers and value are
optional (they are scored once trained): an absent one is recorded in
``ScoringModels.problems`` with its cause, so a tampered ``models/kam-offers`` is reported
rather than silently dropping every offer.

This module knows the three registered names and nothing of the model families.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from kam_ml.errors import BundleError, DefinitionError, KamMLError, ModelNotFoundError
from kam_ml.registry.bundle import BundleTrust, ModelBundle, bundle_identity, load_bundle

if TYPE_CHECKING:
    from kam_ml.registry.tracking import TrackingStore

__all__ = [
    "MODEL_NAMES",
    "ChampionSource",
    "ModelNames",
    "ScoringModels",
    "champion_uri",
    "load_champions",
]

CHAMPION = "champion"


class ModelNames(NamedTuple):
    """The registered name of each model, by the role ``ScoringModels`` gives it."""

    churn: str = "kam-churn"
    offers: str = "kam-offers"
    value: str = "kam-value"


MODEL_NAMES = ModelNames()


def champion_uri(name: str) -> str:
    """``models:/<name>@champion``: what serving and scoring resolve (never "best run")."""
    return f"models:/{name}@{CHAMPION}"


@dataclass(frozen=True)
class ScoringModels:
    """The champion bundles a scoring run uses; offers and value are optional until trained.

    ``problems`` says, for each optional model that is None, why: "kam-offers: not trained
    yet (where it looked)" or "kam-offers: not loaded: <the bundle check that failed>".
    The API's ``/ready`` and the nightly manifest show them. ``warnings`` say which model
    was loaded from its exported bundle because its MLflow artifacts failed verification.
    """

    churn: ModelBundle
    offers: ModelBundle | None = None
    value: ModelBundle | None = None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def versions(self) -> dict[str, str | None]:
        return {
            "churn": self.churn.version,
            "offers": self.offers.version if self.offers else None,
            "value": self.value.version if self.value else None,
        }


@dataclass(frozen=True)
class ChampionSource:
    """Where champions come from: an MLflow store (``models:/<name>@champion``) and/or a
    folder of exported bundles (``<models_dir>/<name>``), tried in that order.

    ``churn_uri`` may pin the churn model instead: another ``models:/`` URI (a version or
    alias, from the store only) or a bundle folder. ``trust`` is what a model must prove
    before it is unpickled (``BundleTrust.from_settings`` builds it from the configuration).
    ``artifact_root`` is the store's (``KAM_ARTIFACT_ROOT``): a database store is refused
    without one, by readers too, so that a misconfigured deployment stops at the first
    command instead of at the first training written where nobody can read it.
    """

    tracking_uri: str | None = None
    models_dir: Path | None = None
    churn_uri: str = champion_uri(MODEL_NAMES.churn)
    trust: BundleTrust = field(default_factory=BundleTrust)
    artifact_root: str | None = None

    def store(self) -> TrackingStore | None:
        """The MLflow store to ask, or None when there is none (no URI, no SQLite file)."""
        if not _registry(self.tracking_uri):
            return None
        from kam_ml.registry.tracking import TrackingStore

        return TrackingStore(
            str(self.tracking_uri), trust=self.trust, artifact_root=self.artifact_root
        )

    def churn_version(self) -> str | None:
        """The registry's current champion version (cheap: one registry call), if any."""
        store = self.store()
        if store is None or not self.churn_uri.startswith("models:/"):
            return None
        name, _, alias = self.churn_uri.removeprefix("models:/").partition("@")
        return store.alias_version(name, alias or CHAMPION)


def load_champions(source: ChampionSource, *, horizon_days: int | None = None) -> ScoringModels:
    """Churn (required) and the offers and value champions, each found the same way.

    ``horizon_days``: the churn horizon the caller asks for; a churn model trained for
    another one is refused (its probabilities answer a different question).
    """
    warnings: list[str] = []
    churn = _resolve(source, MODEL_NAMES.churn, source.churn_uri, warnings)
    if churn is None:
        raise ModelNotFoundError(
            f"No churn model at {source.churn_uri} (MLflow store {source.tracking_uri}) nor a "
            f"bundle in {source.models_dir}. {_remedy(source, MODEL_NAMES.churn)}"
        )
    _check_horizon(churn, horizon_days)
    optional: dict[str, ModelBundle | None] = {}
    problems: list[str] = []
    for name in (MODEL_NAMES.offers, MODEL_NAMES.value):
        try:
            optional[name] = _resolve(source, name, champion_uri(name), warnings)
        except KamMLError as error:  # found but unusable: say why, score without it
            optional[name] = None
            problems.append(f"{name}: not loaded: {error}")
            continue
        if optional[name] is None:
            problems.append(f"{name}: not trained yet ({_where_looked(source, name)})")
    return ScoringModels(
        churn=churn,
        offers=optional[MODEL_NAMES.offers],
        value=optional[MODEL_NAMES.value],
        problems=tuple(problems),
        warnings=tuple(warnings),
    )


def _resolve(
    source: ChampionSource, name: str, uri: str, warnings: list[str]
) -> ModelBundle | None:
    """The bundle ``uri`` names, or None when no place in the fallback order has it.

    A bundle folder loads as itself. A ``models:/`` URI is asked of the store; the exported
    folder stands in only for the champion alias (it holds the champion, not any version).
    Anything found but unusable raises: ``BundleError`` (its message names the file and
    the check that failed) or the store's ``KamMLError``.
    """
    store = source.store()
    if not uri.startswith("models:/"):
        path = Path(uri)
        if not path.exists():
            raise ModelNotFoundError(f"No model bundle at {path}.")
        return _load_folder(path, source.trust, store)
    refused: BundleError | None = None
    if store is not None:
        try:
            return store.load_bundle(uri)
        except ModelNotFoundError:
            pass
        except BundleError as error:  # missing or tampered artifacts: try the export
            refused = error
    folder = _exported(source, name)
    if folder is None or uri != champion_uri(name):
        if refused is not None:
            raise BundleError(f"{refused} There is no exported bundle to fall back to.")
        return None
    try:
        bundle = _load_folder(folder, source.trust, store)
    except BundleError as error:
        if refused is None:
            raise
        raise BundleError(f"{refused} The exported bundle cannot stand in: {error}") from None
    if refused is not None:
        warnings.append(
            f"{name}: {refused} Loaded the verified exported bundle {folder} "
            f"(v{bundle.version}) instead."
        )
    return bundle


def _load_folder(folder: Path, trust: BundleTrust, store: TrackingStore | None) -> ModelBundle:
    """A bundle folder, verified by the key and, where the store is there to ask, by the
    digest the registry recorded when the gate exported it."""
    identity = bundle_identity(folder)
    approved = None
    if store is not None and identity is not None:
        approved = store.approved_bundle_sha256(identity[0], identity[1])
    return load_bundle(folder, trust=trust, approved_sha256=approved)


def _exported(source: ChampionSource, name: str) -> Path | None:
    if source.models_dir is None or not (Path(source.models_dir) / name).is_dir():
        return None
    return Path(source.models_dir) / name


def _where_looked(source: ChampionSource, name: str) -> str:
    if source.tracking_uri is None:
        store = "no MLflow store configured"
    elif _registry(source.tracking_uri):
        store = f"no {champion_uri(name)} in the MLflow store {source.tracking_uri}"
    else:
        store = f"no MLflow store at {source.tracking_uri}"
    folder = "no bundle folder configured"
    if source.models_dir is not None:
        folder = f"no bundle at {Path(source.models_dir) / name}"
    return f"{store}; {folder}"


def _check_horizon(churn: ModelBundle, horizon_days: int | None) -> None:
    if horizon_days is not None and horizon_days != churn.definition.horizon_days:
        raise DefinitionError(
            f"{churn.model_name} v{churn.version} predicts churn over "
            f"{churn.definition.horizon_days} days; --horizon-days {horizon_days} needs a model "
            f"trained for it (kam-ml train --horizon-days {horizon_days})."
        )


def _remedy(source: ChampionSource, name: str) -> str:
    """What to do next: train, or (when training ran and its gate promoted nothing) say so.

    ``kam-ml train`` exits 0 when the gate keeps a version as challenger; "train one
    first" would then send the user to run again what just succeeded.
    """
    versions: list[str] = []
    store = source.store()
    if store is not None and source.churn_uri.startswith("models:/"):
        versions = store.version_numbers(name)
    if not versions:
        return "Train one first: kam-ml train --data DIR."
    listed = ", ".join(versions)
    return (
        f"{name} has {len(versions)} registered version(s) ({listed}) but none is the "
        "champion: the gate kept them as challengers (why is in the output of kam-ml train "
        f"and on the run's model card). Score one anyway with --model models:/{name}/"
        f"{versions[-1]}, or fix what blocked it and train again."
    )


def _registry(tracking_uri: str | None) -> bool:
    """Whether there is a store to ask (a missing SQLite file would be created, empty)."""
    if tracking_uri is None:
        return False
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri.removeprefix("sqlite:///")).is_file()
    return True
