"""The ``kam-ml`` command line: thin commands that parse, call one library function, render.

Bad input exits 1 with a message and no traceback, whoever notices it: typer while parsing
the options (an unknown ``--on-bad-rows``, a malformed ``--as-of``, ``--accounts 5``), or the
library, whose ``KamMLError`` the ``user_errors`` wrapper prints. Every option is parsed once,
here, into the type the library takes.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from kam_ml.errors import KamMLError

if TYPE_CHECKING:
    from kam_ml.data.validation import OnBadRows
    from kam_ml.nightly.database import PublishedScores
    from kam_ml.offers.rules import RankBy


class _Commands(TyperGroup):
    """Typer's command group, except that a usage error exits 1 instead of click's 2.

    To the person or scheduler running ``kam-ml``, ``--as-of 31/10/2026`` and a data folder
    without an orders table are the same kind of mistake, so they get the same exit code.
    Click reports every usage error (bad value, unknown option, missing ``--data``) by
    exiting 2 after printing it; nothing else in kam-ml exits 2.
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except SystemExit as exit_:
            if exit_.code == 2:
                raise SystemExit(1) from None
            raise


app = typer.Typer(
    cls=_Commands,
    help="Churn risk, offers and account value for Key Account Management.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


class BadRowsMode(StrEnum):
    """``--on-bad-rows``; the values are ``kam_ml.data.validation.OnBadRows``."""

    _value_: OnBadRows
    quarantine = "quarantine"
    refuse = "refuse"


class DemoGenerator(StrEnum):
    """``--generator`` of ``demo-data``: the demo's story or the buy-till-you-die book."""

    demo = "demo"
    btyd = "btyd"


class TableFormat(StrEnum):
    """``--format`` of the demo tables; the values are what ``DemoData.write`` takes."""

    _value_: Literal["parquet", "csv"]
    parquet = "parquet"
    csv = "csv"


class OfferRanking(StrEnum):
    """``--rank-offers-by``; the values are ``kam_ml.offers.rules.RankBy``."""

    _value_: RankBy
    relevance = "relevance"
    expected_value = "expected_value"


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# pandas' nanosecond timestamps span 1677-09-21 to 2262-04-11, and the training cutoffs reach
# years before an as-of date, label and 12-month value windows past it: keep well inside.
_AS_OF_RANGE = (dt.date(1900, 1, 1), dt.date(2199, 12, 31))


def parse_as_of(value: str) -> pd.Timestamp:
    """``--as-of`` as midnight of an ISO date; the one parser behind every command's option.

    Only YYYY-MM-DD: "31/10/2026" means different days to different readers, and words such
    as "yesterday" would depend on the machine's clock, which a rerun must not.
    """
    if not _ISO_DATE.fullmatch(value):
        raise typer.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD (2026-10-31).")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a calendar date: {error}.") from None
    first, last = _AS_OF_RANGE
    if not first <= day <= last:
        raise typer.BadParameter(f"{value!r} is out of range: use a date from {first} to {last}.")
    return pd.Timestamp(day)


def parse_scores_file(value: str) -> Path:
    """``score --out``: its suffix picks the format, so check it before scoring, not after."""
    path = Path(value)
    if path.suffix.lower() not in {".parquet", ".csv"}:
        raise typer.BadParameter(f"{value!r} must end in .parquet or .csv (the format).")
    return path


# ``--data`` stays a str: Path("sqlite:///book.db") would collapse the URI's "//".
DataOption = Annotated[
    str,
    typer.Option(
        "--data",
        metavar="FOLDER|URI",
        help="Folder of contract tables, or a database URI: sqlite:///book.db, "
        "postgresql://user:password@host/db (passwords are never printed).",
    ),
]
AsOfOption = Annotated[
    pd.Timestamp | None,
    typer.Option(
        "--as-of",
        parser=parse_as_of,
        metavar="YYYY-MM-DD",
        help="As-of date YYYY-MM-DD (default: last date in the data).",
    ),
]
HorizonOption = Annotated[
    int | None, typer.Option("--horizon-days", min=1, help="Churn horizon H in days.")
]
PublishOption = Annotated[
    str | None,
    typer.Option(
        "--publish",
        metavar="URI",
        help="Also write the night's scores to this PostgreSQL database's kam_scores table "
        "(postgresql://user:password@host/db; default: $KAM_PUBLISH_URL).",
    ),
]
BadRowsOption = Annotated[
    BadRowsMode,
    typer.Option("--on-bad-rows", help="quarantine (drop and report) or refuse (exit 1)."),
]


def _shown(text: object) -> str:
    """``text`` as the terminal may show it: every URI's password as ``***``."""
    from kam_ml.uris import hide_passwords

    return hide_passwords(str(text))


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a KamMLError, or a file the system refuses (permission, full disk, a folder
    where a file should be), into its message and exit code 1: users never see a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KamMLError as error:
            errors.print(f"[bold red]error:[/] {_shown(error)}", highlight=False)
            raise typer.Exit(code=1) from None
        except OSError as error:
            where = f" ({error.filename})" if error.filename else ""
            message = f"{error.strerror or error}{where}"
            errors.print(f"[bold red]error:[/] {_shown(message)}", highlight=False)
            raise typer.Exit(code=1) from None

    return wrapper


@app.command("demo-data")
@user_errors
def demo_data(
    out: Annotated[
        Path,
        typer.Option("--out", file_okay=False, help="Folder to write the demo tables into."),
    ],
    accounts: Annotated[int, typer.Option("--accounts", min=10)] = 2000,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.parquet,
    generator: Annotated[
        DemoGenerator,
        typer.Option("--generator", help="demo: dissatisfaction churn; btyd: BG/NBD-like book."),
    ] = DemoGenerator.demo,
    stress: Annotated[
        bool,
        typer.Option("--stress", help="btyd only: 9 months, one category, no interactions."),
    ] = False,
) -> None:
    """Generate a seeded demo account book that follows the data contract."""
    from kam_ml.demo.btyd_book import BookShape, generate_btyd_book
    from kam_ml.demo.generate import generate_demo_data

    if stress and generator is not DemoGenerator.btyd:
        raise typer.BadParameter("--stress needs --generator btyd.")
    with console.status(f"Generating {accounts:,} demo accounts…"):
        if generator is DemoGenerator.btyd:
            shape = BookShape.stress() if stress else BookShape()
            data = generate_btyd_book(n_accounts=accounts, seed=seed, shape=shape)
        else:
            data = generate_demo_data(n_accounts=accounts, seed=seed)
        data.write(out, fmt=fmt.value)
    _print_counts(
        "Demo data written to " + str(out),
        {
            "accounts": data.accounts,
            "orders": data.orders,
            "interactions": data.interactions,
            "categories": data.categories,
        },
    )


@app.command()
@user_errors
def validate(
    data: DataOption,
    on_bad_rows: BadRowsOption = BadRowsMode.quarantine,
    report: Annotated[
        Path | None,
        typer.Option("--report", file_okay=False, help="Write quarantine files here."),
    ] = None,
) -> None:
    """Check a dataset against the data contract and report broken rules."""
    loaded = _load(data, on_bad_rows, report, None)
    tables = loaded.tables
    _print_counts(
        f"{_shown(data)} follows the contract"
        + ("" if loaded.report.is_clean else " (after quarantine)"),
        {
            "accounts": tables.accounts,
            "orders": tables.orders,
            "interactions": tables.interactions,
            "categories": tables.categories,
        },
    )


@app.command()
@user_errors
def train(
    data: DataOption,
    as_of: AsOfOption = None,
    horizon_days: HorizonOption = None,
    on_bad_rows: BadRowsOption = BadRowsMode.quarantine,
    refit: Annotated[
        bool,
        typer.Option(
            "--refit/--no-refit",
            help="After the gate, refit each model on every labelled cutoff (default); "
            "--no-refit registers the held-out fit, for experiments.",
        ),
    ] = True,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Train even when a champion was trained on exactly this data with the same "
            "settings (by default such a model is not trained again).",
        ),
    ] = False,
) -> None:
    """Train the churn, offer and value models, track them in MLflow and promote each one
    that beats its champion; the registered versions are refit on every labelled cutoff.
    A model whose champion was trained on the same data and settings is not trained again."""
    from kam_ml.churn.job import train_and_register_churn
    from kam_ml.data.tables import data_fingerprint
    from kam_ml.problem.definition import ProblemDefinition
    from kam_ml.registry.bundle import BundleTrust
    from kam_ml.registry.tracking import TrackingStore, quiet_mlflow, require_artifact_root
    from kam_ml.settings import Settings

    quiet_mlflow()
    settings = Settings()
    # a store that could not keep the models stops us before any work
    require_artifact_root(settings.tracking_uri, settings.artifact_root)
    tables = _load(data, on_bad_rows, settings.reports_dir / "quarantine", as_of).tables
    definition = ProblemDefinition().with_horizon(horizon_days)
    as_of_date = _as_of(as_of, tables)
    store = TrackingStore(
        settings.tracking_uri,
        trust=BundleTrust.from_settings(settings),
        artifact_root=settings.artifact_root,
    )
    fingerprint = data_fingerprint(tables, as_of_date)

    @functools.cache  # asked once per model: the message is printed once
    def unchanged(name: str) -> bool:
        """Say so, and skip ``name``, when its champion saw this very data and settings."""
        from kam_ml.registry.gate import trained_on_the_same

        version = (
            None
            if force
            else trained_on_the_same(store, name, fingerprint, definition, refit=refit)
        )
        if version is not None:
            console.print(
                f"{name}: champion v{version} was trained on this very data (as of "
                f"{fingerprint['as_of']}, sha256 {str(fingerprint['sha256'])[:12]}…) with the "
                "same settings; not trained again (--force trains anyway)"
            )
        return version is not None

    if all(map(unchanged, ("kam-churn", "kam-offers", "kam-value"))):
        console.print("Nothing to train: the data and settings are unchanged.")
        return
    if unchanged("kam-churn"):
        _train_offers_and_value(
            tables, as_of_date, definition, store, settings, refit=refit, unchanged=unchanged
        )
        return
    layout = definition.training_layout(as_of_date, tables.first_date())
    console.print(layout.describe(), highlight=False)
    with _progress() as progress:
        task = progress.add_task("Building features per cutoff", total=len(layout.cutoffs))
        outcome = train_and_register_churn(
            tables,
            as_of_date,
            definition,
            store,
            models_dir=settings.models_dir,
            report_dir=settings.reports_dir / f"churn-{as_of_date.date()}",
            on_cutoff_done=lambda _: progress.advance(task),
            refit=refit,
        )
    _print_outcome(
        outcome,
        "Churn model v{version} vs baselines (validation cutoffs)",
        {m: m for m in ("roc_auc", "pr_auc", "top_decile_lift", "brier", "log_loss")},
    )
    _train_offers_and_value(
        tables, as_of_date, definition, store, settings, refit=refit, unchanged=unchanged
    )
    shown = _shown(settings.tracking_uri)
    console.print(
        f"MLflow: {shown} (run {outcome.run_id}); "
        f"browse with: mlflow ui --backend-store-uri {shown}"
    )


def _train_offers_and_value(
    tables: Any,
    as_of_date: pd.Timestamp,
    definition: Any,
    store: Any,
    settings: Any,
    *,
    refit: bool,
    unchanged: Callable[[str], bool],
) -> None:
    """The offer ranker and the value model, each through its own gate (see ``train``);
    each is skipped, with the reason, when the book cannot train it (one category for
    offers, too little history for value) or ``unchanged(name)`` (its champion saw this
    data and settings; ``unchanged`` says so)."""
    from kam_ml.offers.job import offers_skipped, train_and_register_offers
    from kam_ml.registry.gate import Skipped
    from kam_ml.value.job import train_and_register_value, value_cutoffs

    skipped = offers_skipped(tables)
    if skipped is not None:
        _print_outcome(skipped, "", {})
    elif not unchanged("kam-offers"):
        cutoffs = definition.training_cutoff_dates(as_of_date, tables.first_date())
        with _progress() as progress:
            task = progress.add_task("Building offer pairs per cutoff", total=len(cutoffs))
            offers = train_and_register_offers(
                tables,
                as_of_date,
                definition,
                store,
                models_dir=settings.models_dir,
                report_dir=settings.reports_dir / f"offers-{as_of_date.date()}",
                on_cutoff_done=lambda _: progress.advance(task),
                refit=refit,
            )
        _print_offers(offers)
    planned = value_cutoffs(tables, as_of_date, definition)
    if isinstance(planned, Skipped):  # too little history for the 12-month window
        _print_outcome(planned, "", {})
        return
    if unchanged("kam-value"):
        return
    with _progress() as progress:
        task = progress.add_task("Building value features per cutoff", total=len(planned))
        value = train_and_register_value(
            tables,
            as_of_date,
            definition,
            store,
            models_dir=settings.models_dir,
            report_dir=settings.reports_dir / f"value-{as_of_date.date()}",
            on_cutoff_done=lambda _: progress.advance(task),
            refit=refit,
        )
    _print_outcome(
        value,
        "Value model v{version} vs last 12 months (validation cutoffs, stayers)",
        {m: m for m in ("mae", "rmse", "spearman", "bias")},
    )


def _print_offers(offers: Any) -> None:
    """The offer ranker's metrics at its own k, or why it was skipped."""
    from kam_ml.registry.gate import Skipped

    if isinstance(offers, Skipped):
        _print_outcome(offers, "", {})
        return
    k = offers.result.k
    metrics = ("ndcg", "recall", "precision", "map", "hit_rate", "coverage")
    _print_outcome(
        offers,
        f"Offer ranker v{{version}} vs baselines at k = {k} (validation cutoffs)",
        {f"{m}_at_{k}": m for m in metrics},
    )


def _print_outcome(outcome: Any, title: str, columns: dict[str, str]) -> None:
    """A metrics table (``columns``: metric key -> header; ``title`` may name ``{version}``),
    the gate's verdict, the grade and paths; or why the model was skipped."""
    from rich.markup import escape

    from kam_ml.registry.gate import Skipped

    if isinstance(outcome, Skipped):
        errors.print(f"[yellow]{outcome.name} skipped:[/] {outcome.reason}", highlight=False)
        return
    table = Table(title=title.format(version=outcome.version))
    table.add_column("scorer")
    for header in columns.values():
        table.add_column(header, justify="right")
    for scorer, values in outcome.result.metrics.items():
        cells = [values.get(c, float("nan")) for c in columns]
        table.add_row(
            scorer,
            *(("–" if pd.isna(v) else f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3f}") for v in cells),
        )
    console.print(table)
    verdict = (
        "[green]promoted to champion[/]"
        if outcome.decision.promote
        else "[yellow]kept as challenger[/]"
    )
    console.print(f"{outcome.name} v{outcome.version} {verdict}: {outcome.decision.reason}")
    fitted = outcome.refit_cutoffs
    if fitted:
        console.print(
            f"Refit on all {len(fitted)} labelled cutoffs ({fitted[0].date()} to "
            f"{fitted[-1].date()}); the metrics above are the held-out fit's"
        )
    card = " (model card: the run's card/ artifact)" if outcome.card is not None else ""
    basis = escape(outcome.grade.basis)
    console.print(f"Grade: [bold]{outcome.grade.letter}[/] — {basis}{card}")
    console.print(f"Report: {outcome.report_path}")
    if outcome.bundle_path:
        console.print(f"Bundle: {outcome.bundle_path}")


@app.command()
@user_errors
def score(
    data: DataOption,
    out: Annotated[
        Path,
        typer.Option(
            "--out", parser=parse_scores_file, metavar="FILE", help="FILE.parquet or FILE.csv"
        ),
    ],
    as_of: AsOfOption = None,
    horizon_days: HorizonOption = None,
    model: Annotated[
        str, typer.Option("--model", help="models:/ URI or bundle folder.")
    ] = "models:/kam-churn@champion",
    on_bad_rows: BadRowsOption = BadRowsMode.quarantine,
    k: Annotated[int, typer.Option("--k", min=1, help="Offers per account.")] = 3,
    rank_offers_by: Annotated[
        OfferRanking,
        typer.Option("--rank-offers-by", help="relevance or expected_value (x spend x margin)."),
    ] = OfferRanking.relevance,
    exclude_bought_days: Annotated[
        int,
        typer.Option(
            "--exclude-bought-days",
            min=0,
            help="Leave out offers of categories the account bought in the last N days "
            "(0 keeps them).",
        ),
    ] = 30,
) -> None:
    """Score every active account: churn probability, risk band, reasons, the next-best
    offers, expected 12-month value and revenue at risk (offers and value when trained)."""
    from kam_ml.offers.job import scoring_models_for
    from kam_ml.offers.rules import OfferRules
    from kam_ml.registry.bundle import BundleTrust
    from kam_ml.registry.champions import ChampionSource, load_champions
    from kam_ml.registry.tracking import quiet_mlflow
    from kam_ml.reporting.files import write_table
    from kam_ml.scoring.score import score_accounts
    from kam_ml.settings import Settings

    quiet_mlflow()
    settings = Settings()
    rules = OfferRules(
        rank_by=rank_offers_by.value, exclude_bought_within_days=exclude_bought_days or None
    )
    source = ChampionSource(
        tracking_uri=settings.tracking_uri,
        models_dir=settings.models_dir,
        churn_uri=model,
        trust=BundleTrust.from_settings(settings),
        artifact_root=settings.artifact_root,
    )
    models = load_champions(source, horizon_days=horizon_days)
    tables = _load(data, on_bad_rows, settings.reports_dir / "quarantine", as_of).tables
    models = scoring_models_for(tables, models)  # one category: nothing to rank
    for problem in models.problems:
        errors.print(f"[yellow]scoring without[/] {problem}", highlight=False)
    for warning in models.warnings:
        errors.print(f"[yellow]warning:[/] {warning}", highlight=False)
    as_of_date = _as_of(as_of, tables)
    with console.status(f"Scoring accounts active at {as_of_date.date()}…"):
        scores = score_accounts(tables, as_of_date, models, k_offers=k, offer_rules=rules)
    write_table(scores, out)
    bands = scores["risk_band"].value_counts()
    versions = ", ".join(f"kam-{n} v{v}" for n, v in models.versions().items() if v is not None)
    table = Table(
        title=f"{len(scores):,} accounts scored as of {as_of_date.date()} with {versions}"
    )
    for column in ("band", "accounts", "mean churn probability"):
        table.add_column(column, justify="right")
    for band in ("high", "medium", "low"):
        members = scores["risk_band"] == band
        # an empty band has no mean: a dash, as in the metric tables, not "nan"
        mean = f"{scores.loc[members, 'churn_probability'].mean():.2f}" if members.any() else "–"
        table.add_row(band, f"{bands.get(band, 0):,}", mean)
    console.print(table)
    if models.value is not None:
        console.print(f"Revenue at risk: {scores['revenue_at_risk'].sum():,.0f}")
    if models.offers is not None:
        offered = int(scores["offers"].map(len).gt(0).sum())
        console.print(f"Top {k} offers written for {offered:,} accounts")
    console.print(f"Scores written to {out}")


@app.command()
@user_errors
def nightly(
    data: DataOption,
    out: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Folder of nightly snapshots.")
    ],
    as_of: AsOfOption = None,
    model: Annotated[
        str, typer.Option("--model", help="Churn model: models:/ URI or bundle folder.")
    ] = "models:/kam-churn@champion",
    on_bad_rows: BadRowsOption = BadRowsMode.quarantine,
    publish_to: PublishOption = None,
    buckets: Annotated[
        int,
        typer.Option(
            "--buckets",
            min=1,
            help="Score the accounts in this many buckets (by a hash of account_id), one at a "
            "time: the same outputs, the scoring stage's memory divided by about N.",
        ),
    ] = 1,
) -> None:
    """Score every active account and write risk lists, a portfolio summary and the API
    snapshot under OUT/<as-of>/; the lists carry the managers' last actions
    ($KAM_ACTIONS_URL, default OUT/actions.db). With --publish (or $KAM_PUBLISH_URL) the
    night's scores then replace that night's rows of the database's kam_scores table."""
    from kam_ml.actions import default_actions_url, open_action_store
    from kam_ml.nightly.job import run_nightly
    from kam_ml.nightly.stages import StageClock, StageTiming
    from kam_ml.registry.bundle import BundleTrust
    from kam_ml.registry.champions import ChampionSource
    from kam_ml.registry.tracking import quiet_mlflow
    from kam_ml.settings import Settings

    quiet_mlflow()
    settings = Settings()
    actions = open_action_store(
        settings.actions_url or default_actions_url(out), tracking_uri=settings.tracking_uri
    )
    source = ChampionSource(
        tracking_uri=settings.tracking_uri,
        models_dir=settings.models_dir,
        churn_uri=model,
        trust=BundleTrust.from_settings(settings),
        artifact_root=settings.artifact_root,
    )

    def done(timing: StageTiming) -> None:
        console.print(
            f"  {timing.stage:<24} {timing.seconds:7.1f} s   cpu {timing.cpu_seconds:7.1f} s   "
            f"peak {timing.peak_rss_gib:5.2f} GiB"
        )

    console.print(f"Nightly run from {_shown(data)} into {out}")
    result = run_nightly(
        data,
        out,
        source,
        as_of=as_of,
        on_bad_rows=on_bad_rows.value,
        clock=StageClock(done),
        today=_today(),
        actions=actions,
        publish_to=publish_to or settings.publish_url,
        buckets=buckets,
    )
    table = Table(title=f"{result.accounts:,} accounts scored as of {result.as_of.date()}")
    for column in ("risk band", "accounts"):
        table.add_column(column, justify="right")
    for band, count in result.bands.items():
        table.add_row(band, f"{count:,}")
    console.print(table)
    versions = ", ".join(f"{k} v{v}" for k, v in result.model_versions.items() if v)
    console.print(f"Models: {versions}")
    for problem in result.model_problems:
        errors.print(f"[yellow]scored without[/] {problem}", highlight=False)
    for warning in result.model_warnings:
        errors.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"Risk lists ({result.managers} managers): {result.risk_lists}")
    console.print(f"Portfolio summary: {result.portfolio}")
    console.print(f"API snapshot: {result.directory}")
    quarantine = result.directory / "quarantine"
    if quarantine.is_dir():
        errors.print(f"[yellow]Quarantined rows:[/] {quarantine}/quarantine_summary.csv")
    console.print(f"Last actions from: {_shown(actions.url)}")
    if result.database is not None:
        _print_published(result.database)


@app.command()
@user_errors
def publish(
    night: Annotated[
        Path,
        typer.Option(
            "--night", file_okay=False, help="A published night: the nightly OUT/<as-of> folder."
        ),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to", metavar="URI", help="PostgreSQL database: postgresql://user:password@host/db."
        ),
    ],
) -> None:
    """Write an already published night's scores to the database's kam_scores table again
    (replacing that night's rows), without scoring."""
    from kam_ml.nightly.database import publish_night

    with console.status(f"Publishing {night} to {_shown(to)}…"):
        published = publish_night(night, to)
    _print_published(published)


def _print_published(published: PublishedScores) -> None:
    """One line for ``PublishedScores``: how many rows went where."""
    replaced = f", replacing {published.replaced:,}" if published.replaced else ""
    console.print(
        f"Scores of {published.as_of} in kam_scores at {published.target}: "
        f"{published.rows:,} rows{replaced}",
        highlight=False,
    )


@app.command("db-upgrade")
@user_errors
def db_upgrade(
    uri: Annotated[
        str | None,
        typer.Option(
            "--uri",
            metavar="URI",
            help="The MLflow database: postgresql+psycopg://..., sqlite:///mlflow.db "
            "(default: $MLFLOW_TRACKING_URI). Passwords are never printed.",
        ),
    ] = None,
) -> None:
    """Upgrade the schema of an MLflow database after upgrading MLflow (mlflow db upgrade);
    an empty database gets the whole schema. Back the database up first."""
    from kam_ml.registry.tracking import upgrade_schema
    from kam_ml.settings import Settings

    target = uri or Settings().tracking_uri
    with console.status(f"Upgrading the MLflow schema of {_shown(target)}…"):
        revision = upgrade_schema(target)
    console.print(f"MLflow schema of {_shown(target)} is up to date (revision {revision})")


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    nightly_dir: Annotated[
        Path | None,
        typer.Option(
            "--nightly-dir",
            file_okay=False,
            help="Nightly output folder (default: $KAM_NIGHTLY_DIR).",
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
) -> None:
    """Serve the scoring API and the risk-list pages (API keys from $KAM_API_KEYS)."""
    from serving.server import serve as run_server

    run_server(host=host, port=port, nightly_dir=nightly_dir, workers=workers)


def _today() -> pd.Timestamp:
    """The day of the run (UTC, as the contract's times are): no fact can be dated after it."""
    return pd.Timestamp(dt.datetime.now(dt.UTC).date())


def _load(
    source: str, on_bad_rows: BadRowsMode, report_dir: Path | None, as_of: pd.Timestamp | None
) -> Any:
    """Load and validate; rows dated after ``as_of`` (or, without one, after today) are
    quarantined, so they can neither move the default as-of date nor reach a feature."""
    from kam_ml.data.validation import load_tables

    not_after = _today() if as_of is None else as_of
    with console.status(f"Loading and validating {_shown(source)}…"):
        loaded = load_tables(source, on_bad_rows=on_bad_rows.value, not_after=not_after)
    if not loaded.report.is_clean:
        errors.print(f"[yellow]Quarantined rows:[/]\n{loaded.report}", highlight=False)
        if report_dir is not None:
            loaded.report.write(report_dir)
            errors.print(f"Quarantine report written to {report_dir}")
    return loaded


def _as_of(as_of: pd.Timestamp | None, tables: Any) -> pd.Timestamp:
    """The parsed ``--as-of``, or the last plausible date in the data when it was not given
    (the last one not after today: later rows were quarantined by ``_load``), printed."""
    if as_of is not None:
        return as_of
    last = tables.last_date()
    console.print(f"As of {last.date()}: the last date in the data (none may be after today)")
    return last


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _print_counts(title: str, frames: dict[str, pd.DataFrame]) -> None:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, frame in frames.items():
        table.add_row(name, f"{len(frame):,}")
    console.print(table)
