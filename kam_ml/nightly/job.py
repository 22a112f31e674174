"""The nightly job: validated data -> features at T -> scores, reasons, offers -> risk lists.

One run writes ``OUT/<as-of>/`` (layout in ``kam_ml.nightly.snapshot``) through a staging folder and
publishes it with a rename. Every output is a function of the data, the as-of date, the
models and the previous published night, so a rerun for the same date writes the same
bytes; the stage timings (which vary) go to ``OUT/.timings/<as-of>.json`` instead.

Reasons for every account come from decision-path contributions
(``kam_ml.churn.contributions``), ~100x faster than exact TreeSHAP.

With ``publish_to`` (``kam-ml nightly --publish postgresql://...``) the night's scores then
go to the ``kam_scores`` table too (``kam_ml.nightly.database``), after the folder is
published: a database that cannot be written fails the run with ``ScoresDatabaseError``
saying so, and the night's files stay published.
"""

from __future__ import annotations

import functools
import gc
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pandas as pd

from kam_ml.actions import ActionStore
from kam_ml.data.quarantine import QuarantineReport
from kam_ml.data.tables import Tables, sorted_for_features
from kam_ml.data.validation import OnBadRows, load_tables, validate_tables
from kam_ml.errors import DefinitionError, ScoresDatabaseError
from kam_ml.features import build_features
from kam_ml.nightly.database import PublishedScores, publish_scores
from kam_ml.nightly.history import carry_history
from kam_ml.nightly.lock import output_folder_lock
from kam_ml.nightly.managers import assign_slugs
from kam_ml.nightly.portfolio import portfolio_summary, write_portfolio
from kam_ml.nightly.risk_lists import ManagerSummary, write_risk_lists
from kam_ml.nightly.snapshot import (
    SNAPSHOT_FORMAT,
    SnapshotFiles,
    SnapshotParts,
    previous_night,
    publish,
    read_snapshot,
    recover,
    staging_directory,
    write_manifest,
    write_snapshot,
)
from kam_ml.nightly.stages import StageClock, StageTiming
from kam_ml.offers.job import offers_skipped, scoring_models_for
from kam_ml.problem.labels import churn_labels
from kam_ml.registry.champions import ChampionSource, ScoringModels, load_champions
from kam_ml.scoring.buckets import score_in_buckets
from kam_ml.scoring.changes import PreviousNight
from kam_ml.scoring.explained import explained_scores
from kam_ml.scoring.score import require_active_accounts

__all__ = ["NightlyResult", "run_nightly"]


@dataclass(frozen=True)
class NightlyResult:
    """What a nightly run published and what each stage cost."""

    as_of: pd.Timestamp
    directory: Path
    accounts: int
    managers: int
    bands: dict[str, int]
    model_versions: dict[str, str | None]
    model_problems: tuple[str, ...]
    timings: list[StageTiming]
    model_warnings: tuple[str, ...] = ()  # models served from their bundle (see champions)
    database: PublishedScores | None = None  # what went to kam_scores (with publish_to)

    @property
    def risk_lists(self) -> Path:
        return self.directory / SnapshotFiles.RISK_LIST_INDEX

    @property
    def portfolio(self) -> Path:
        return self.directory / SnapshotFiles.PORTFOLIO_PAGE


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _without_cyclic_gc(run: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run with Python's cyclic garbage collector paused (restored after, even on error).

    The job creates millions of small lists, dicts and strings (reasons, offers, the list
    rows) next to frames of millions of Python objects, and every collection the new
    containers trigger walks them all: at 200k accounts that was a third of the CPU of the
    Python-heavy stages. Nearly everything the job frees goes by reference count; the few
    cycles it leaves are collected once the collector runs again.
    """

    @functools.wraps(run)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return run(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


@_without_cyclic_gc
def run_nightly(
    source: str | Path | Tables | Mapping[str, pd.DataFrame],
    out_dir: Path,
    models: ChampionSource | ScoringModels,
    as_of: pd.Timestamp | None = None,
    on_bad_rows: OnBadRows = "quarantine",
    clock: StageClock | None = None,
    actions: ActionStore | None = None,
    today: pd.Timestamp | None = None,
    publish_to: str | None = None,
    buckets: int = 1,
) -> NightlyResult:
    """Run the whole job; ``source`` is a data folder/URI, raw contract frames (validated
    here) or already validated ``Tables``. With an ``actions`` store, the risk lists carry
    each account's last action as recorded when the job runs. Rows dated after ``as_of``,
    or without one after ``today`` (the run's day), are quarantined when validating here,
    so they cannot make the default as-of date (the last date in the data) a future one.

    Once the models are loaded (a run without them writes nothing, not even the folder), the
    run holds ``out_dir``'s lock to the end (``kam_ml.nightly.lock``): a second run into the
    same folder stops with ``NightlyRunning`` before it reads the data. ``publish_to``, a
    PostgreSQL URI, also writes the night's scores to its ``kam_scores`` table. ``buckets``
    > 1 scores the accounts that many buckets at a time (``kam_ml.scoring.buckets``): the
    same outputs, with the scoring stage's memory divided by about that number."""
    if buckets < 1:
        raise DefinitionError(f"buckets must be at least 1, got {buckets}.")
    clock = clock or StageClock()
    with clock.stage("load models"):
        scoring_models = load_champions(models) if isinstance(models, ChampionSource) else models
    with output_folder_lock(Path(out_dir)):
        return _run_locked(
            source,
            Path(out_dir),
            scoring_models,
            as_of,
            on_bad_rows,
            clock,
            actions,
            today,
            publish_to,
            buckets,
        )


def _run_locked(
    source: str | Path | Tables | Mapping[str, pd.DataFrame],
    out_dir: Path,
    scoring_models: ScoringModels,
    as_of: pd.Timestamp | None,
    on_bad_rows: OnBadRows,
    clock: StageClock,
    actions: ActionStore | None,
    today: pd.Timestamp | None,
    publish_to: str | None,
    buckets: int,
) -> NightlyResult:
    not_after = as_of if as_of is not None else today
    with clock.stage("load and validate data"):
        tables, report = _validated(source, on_bad_rows, not_after)
        # features, population statistics and offers each want the order lines sorted by
        # (account, date): sorted once here, they find them in order (a sort each cost
        # seconds at 1M accounts), without the columns no stage reads
        tables = sorted_for_features(tables)
    # a book of one category gets no offers, whatever champion exists (as kam-ml score)
    skipped = offers_skipped(tables)
    scoring_models = scoring_models_for(tables, scoring_models)
    definition = scoring_models.churn.definition
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else tables.last_date()
    day = str(as_of.date())
    before = as_of - pd.Timedelta(days=definition.horizon_days)
    with clock.stage("features"):
        both = build_features(tables, [before, as_of], definition)
        at_cutoff = both["cutoff"].to_numpy() == as_of.to_datetime64()
        features = both.loc[at_cutoff].reset_index(drop=True)
        features_before = both.loc[~at_cutoff].reset_index(drop=True)
        del both
        require_active_accounts(features, tables, as_of, definition)
    population = None
    with clock.stage("population statistics"):
        population = _population(tables, as_of, scoring_models)
    with clock.stage("score and explain"):
        recover(out_dir)
        last = previous_night(out_dir, day)
        scored = score_in_buckets(features, tables, scoring_models, buckets, population=population)
        previous, previous_history = _previous(last)
        explained = explained_scores(scored, features, tables.accounts, previous=previous)
        del previous
        scores, contributions = scored.scores, scored.contributions
        means = scored.peers
        history = carry_history(
            previous_history,
            day,
            explained["account_id"].to_numpy(dtype=object),
            explained["churn_probability"].to_numpy(dtype=float),
            explained["risk_band"].to_numpy(dtype=object),
        )
        del previous_history
    with clock.stage("write snapshot"):
        staging = staging_directory(out_dir, day)
        parts = SnapshotParts(
            scores=scores,
            features=features,
            contributions=contributions,
            explained=explained,
            band_means=means,
            categories=tables.categories,
            population=population,
            quarantine=report,
            history=history,
        )
        write_snapshot(staging, parts)
    with clock.stage("risk lists"):
        last_actions = actions.last_actions() if actions is not None else None
        offers = scoring_models.offers
        horizon = offers.definition.horizon_days if offers is not None else None
        summaries = write_risk_lists(
            explained,
            means,
            staging,
            day,
            actions=last_actions,
            offer_horizon_days=horizon,
            history=history,
            slugs=assign_slugs(out_dir, explained["manager"]),
        )
    with clock.stage("portfolio"):
        retained = 1 - churn_labels(tables, features_before, definition)
        portfolio = portfolio_summary(
            explained, features, features_before, retained, tables.accounts
        )
        index = SnapshotFiles.link(SnapshotFiles.PORTFOLIO_PAGE, SnapshotFiles.RISK_LIST_INDEX)
        write_portfolio(portfolio, staging / SnapshotFiles.PORTFOLIO, day, index_href=index)
    with clock.stage("publish"):
        bands = {b: int((explained["risk_band"] == b).sum()) for b in ("high", "medium", "low")}
        basis = (
            "value model"
            if scoring_models.value is not None
            else "churn_probability x revenue_365d (no value model)"
        )
        start = str(tables.order_history_start().date())
        manifest = _manifest(
            day,
            scoring_models,
            explained,
            summaries,
            bands,
            population,
            last,
            basis,
            start,
            offers_skipped=skipped.reason if skipped is not None else None,
        )
        write_manifest(staging, manifest)
        directory = publish(staging, out_dir, day)
    database = None
    if publish_to is not None:
        try:
            with clock.stage("publish to database"):
                database = publish_scores(explained, day, publish_to)
        except ScoresDatabaseError as error:
            _write_timings(out_dir, day, clock)
            raise ScoresDatabaseError(
                f"{error} The night's files are published in {directory}; "
                "the database was not updated."
            ) from None
    _write_timings(out_dir, day, clock)
    return NightlyResult(
        as_of=as_of,
        directory=directory,
        accounts=len(explained),
        managers=len(summaries),
        bands=bands,
        model_versions=scoring_models.versions(),
        model_problems=tuple(scoring_models.problems),
        timings=list(clock.timings),
        model_warnings=tuple(scoring_models.warnings),
        database=database,
    )


def _validated(
    source: str | Path | Tables | Mapping[str, pd.DataFrame],
    on_bad_rows: OnBadRows,
    not_after: pd.Timestamp | None,
) -> tuple[Tables, QuarantineReport | None]:
    """The validated tables and the quarantine report (None for tables validated before);
    rows dated after ``not_after`` are quarantined."""
    if isinstance(source, Tables):
        return source, None
    if isinstance(source, Mapping):
        validated = validate_tables(source, on_bad_rows=on_bad_rows, not_after=not_after)
        return validated.tables, validated.report
    loaded = load_tables(str(source), on_bad_rows=on_bad_rows, not_after=not_after)
    return loaded.tables, loaded.report


def _population(tables: Tables, as_of: pd.Timestamp, models: ScoringModels) -> Any | None:
    """The book's category statistics, which offers are ranked with (None without an offers
    model); stored with the night so the API ranks a posted history against the same book."""
    if models.offers is None:
        return None
    from kam_ml.offers.population import population_stats

    return population_stats(tables, as_of, models.offers.definition)


def _previous(last: Path | None) -> tuple[PreviousNight | None, pd.DataFrame | None]:
    """The previous night to compare with, and its score history (a night from before
    histories starts one from its own scores)."""
    if last is None:
        return None, None
    night = read_snapshot(last)
    columns = ["account_id", "churn_probability", "risk_band", "churn_model_version"]
    scores = night.explained(columns=columns)
    previous = PreviousNight(
        as_of=night.as_of,
        scores=scores,
        features=night.features(),
        contributions=night.contributions(scores["account_id"]),
    )
    history = night.history()
    if history is None:
        history = carry_history(
            None,
            night.as_of,
            scores["account_id"].to_numpy(dtype=object),
            scores["churn_probability"].to_numpy(dtype=float),
            scores["risk_band"].to_numpy(dtype=object),
        )
    return previous, history


def _manifest(
    day: str,
    models: ScoringModels,
    explained: pd.DataFrame,
    summaries: list[ManagerSummary],
    bands: dict[str, int],
    population: Any | None,
    previous: Path | None,
    basis: str,
    order_history_start: str,
    offers_skipped: str | None = None,
) -> dict[str, Any]:
    return {
        "format": SNAPSHOT_FORMAT,
        "as_of": day,
        "model_versions": models.versions(),
        "model_problems": [*models.problems, *models.warnings],
        "accounts": len(explained),
        "managers": len(summaries),
        "bands": bands,
        "reason_method": "decision-path contributions (kam_ml.churn.contributions), shown "
        "where the value is on the risky side of the low-risk band's average",
        "revenue_at_risk_basis": basis,
        "population": population is not None,
        "offers_skipped": offers_skipped,  # why the book has no offers (None: it has)
        "order_history_start": order_history_start,
        "previous_night": previous.name if previous is not None else None,
        "risk_lists": [
            {
                "manager": s.manager,
                "slug": s.slug,
                "accounts": s.accounts,
                "high": s.high,
                "medium": s.medium,
                "low": s.low,
                "revenue_at_risk": round(s.revenue_at_risk, 2),
            }
            for s in summaries
        ],
    }


def _write_timings(out_dir: Path, day: str, clock: StageClock) -> None:
    folder = out_dir / ".timings"
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "as_of": day,
        "total_seconds": clock.total_seconds,
        "peak_rss_gib": clock.peak_rss_gib,
        "stages": [t.__dict__ for t in clock.timings],
    }
    tmp = folder / f"{day}.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    tmp.replace(folder / f"{day}.json")
