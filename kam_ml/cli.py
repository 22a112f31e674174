"""The ``kam-ml`` command line: thin commands that parse, call one library function, render."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kam_ml.errors import KamMLError

app = typer.Typer(
    help="Churn risk, offers and account value for Key Account Management.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

DataOption = Annotated[
    Path, typer.Option("--data", help="Folder of contract tables, or sqlite:/// URI.")
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="As-of date YYYY-MM-DD (default: last date in the data)."),
]
HorizonOption = Annotated[
    int | None, typer.Option("--horizon-days", help="Churn horizon H in days.")
]
BadRowsOption = Annotated[
    str, typer.Option("--on-bad-rows", help="quarantine (drop and report) or refuse (exit 1).")
]


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a KamMLError into its message and exit code 1: users never see a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KamMLError as error:
            errors.print(f"[bold red]error:[/] {error}", highlight=False)
            raise typer.Exit(code=1) from None

    return wrapper


@app.command("demo-data")
@user_errors
def demo_data(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo tables into.")],
    accounts: Annotated[int, typer.Option("--accounts", min=10)] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
) -> None:
    """Generate a seeded demo account book that follows the data contract."""
    from kam_ml.demo_data import generate_demo_data

    with console.status(f"Generating {accounts:,} demo accounts…"):
        data = generate_demo_data(n_accounts=accounts, seed=seed)
        data.write(out, fmt=_format(fmt))
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
    on_bad_rows: BadRowsOption = "quarantine",
    report: Annotated[
        Path | None, typer.Option("--report", help="Write quarantine files here.")
    ] = None,
) -> None:
    """Check a dataset against the data contract and report broken rules."""
    loaded = _load(data, on_bad_rows, report)
    tables = loaded.tables
    _print_counts(
        f"{data} follows the contract" + ("" if loaded.report.is_clean else " (after quarantine)"),
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
    on_bad_rows: BadRowsOption = "quarantine",
) -> None:
    """Train the churn model, track it in MLflow and promote it if it beats the champion."""
    from kam_ml.definitions import ProblemDefinition
    from kam_ml.pipeline import train_and_register_churn
    from kam_ml.settings import Settings
    from kam_ml.tracking import TrackingStore

    settings = Settings()
    tables = _load(data, on_bad_rows, settings.reports_dir / "quarantine").tables
    definition = ProblemDefinition().with_horizon(horizon_days)
    as_of_date = _as_of(as_of, tables)
    cutoffs = definition.training_cutoff_dates(as_of_date, tables.first_date())
    with _progress() as progress:
        task = progress.add_task("Building features per cutoff", total=len(cutoffs))
        outcome = train_and_register_churn(
            tables,
            as_of_date,
            definition,
            TrackingStore(settings.tracking_uri),
            models_dir=settings.models_dir,
            report_dir=settings.reports_dir / f"churn-{as_of_date.date()}",
            on_cutoff_done=lambda _: progress.advance(task),
        )
    metrics = pd.DataFrame(outcome.result.metrics).T
    table = Table(title=f"Churn model v{outcome.version} on validation cutoffs")
    table.add_column("scorer")
    for column in metrics.columns:
        table.add_column(column, justify="right")
    for scorer, row in metrics.iterrows():
        table.add_row(str(scorer), *(f"{v:.3f}" if pd.notna(v) else "–" for v in row))
    console.print(table)
    verdict = (
        "[green]promoted to champion[/]"
        if outcome.decision.promote
        else "[yellow]kept as challenger[/]"
    )
    console.print(f"kam-churn v{outcome.version} {verdict}: {outcome.decision.reason}")
    console.print(f"Report: {outcome.report_path}")
    if outcome.bundle_path:
        console.print(f"Bundle: {outcome.bundle_path}")
    console.print(
        f"MLflow: {settings.tracking_uri} (run {outcome.run_id}); "
        f"browse with: mlflow ui --backend-store-uri {settings.tracking_uri}"
    )


@app.command()
@user_errors
def score(
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", help="FILE.parquet or FILE.csv")],
    as_of: AsOfOption = None,
    horizon_days: HorizonOption = None,
    model: Annotated[
        str, typer.Option("--model", help="models:/ URI or bundle folder.")
    ] = "models:/kam-churn@champion",
    on_bad_rows: BadRowsOption = "quarantine",
) -> None:
    """Score every active account: calibrated churn probability, risk band and reasons."""
    from kam_ml.model_source import load_churn_bundle
    from kam_ml.outputs import write_table
    from kam_ml.scoring import score_accounts
    from kam_ml.settings import Settings

    settings = Settings()
    bundle = load_churn_bundle(model, settings, horizon_days)
    tables = _load(data, on_bad_rows, settings.reports_dir / "quarantine").tables
    as_of_date = _as_of(as_of, tables)
    with console.status(f"Scoring accounts active at {as_of_date.date()}…"):
        scores = score_accounts(tables, as_of_date, bundle)
    write_table(scores, out)
    bands = scores["risk_band"].value_counts()
    table = Table(title=f"{len(scores):,} accounts scored with kam-churn v{bundle.version}")
    for column in ("band", "accounts", "mean churn probability"):
        table.add_column(column, justify="right")
    for band in ("high", "medium", "low"):
        members = scores["risk_band"] == band
        mean = scores.loc[members, "churn_probability"].mean() if members.any() else float("nan")
        table.add_row(band, f"{bands.get(band, 0):,}", f"{mean:.2f}")
    console.print(table)
    console.print(f"Scores written to {out}")


@app.command()
@user_errors
def nightly(
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", help="Folder of nightly snapshots.")],
    as_of: AsOfOption = None,
    model: Annotated[
        str, typer.Option("--model", help="Churn model: models:/ URI or bundle folder.")
    ] = "models:/kam-churn@champion",
    on_bad_rows: BadRowsOption = "quarantine",
) -> None:
    """Score every active account and write risk lists, a portfolio summary and the API
    snapshot under OUT/<as-of>/."""
    from kam_ml.nightly_cli import run_nightly_command

    run_nightly_command(data, out, as_of, model, on_bad_rows, console)


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    nightly_dir: Annotated[
        Path | None,
        typer.Option("--nightly-dir", help="Nightly output folder (default: $KAM_NIGHTLY_DIR)."),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
) -> None:
    """Serve the scoring API and the risk-list pages (API keys from $KAM_API_KEYS)."""
    from serving.main import serve as run_server

    run_server(host=host, port=port, nightly_dir=nightly_dir, workers=workers)


def _load(source: Path, on_bad_rows: str, report_dir: Path | None) -> Any:
    from kam_ml.validation import load_tables

    if on_bad_rows not in {"quarantine", "refuse"}:
        raise KamMLError(f"--on-bad-rows must be 'quarantine' or 'refuse'; got {on_bad_rows!r}.")
    mode: Literal["quarantine", "refuse"] = "refuse" if on_bad_rows == "refuse" else "quarantine"
    with console.status(f"Loading and validating {source}…"):
        loaded = load_tables(str(source), on_bad_rows=mode)
    if not loaded.report.is_clean:
        errors.print(f"[yellow]Quarantined rows:[/]\n{loaded.report}", highlight=False)
        if report_dir is not None:
            loaded.report.write(report_dir)
            errors.print(f"Quarantine report written to {report_dir}")
    return loaded


def _as_of(as_of: str | None, tables: Any) -> pd.Timestamp:
    if as_of is None:
        return tables.last_date()
    try:
        return pd.Timestamp(as_of).normalize()
    except ValueError:
        raise KamMLError(f"--as-of must be a date like 2026-10-31; got {as_of!r}.") from None


def _format(fmt: str) -> Literal["parquet", "csv"]:
    if fmt not in {"parquet", "csv"}:
        raise KamMLError(f"--format must be 'parquet' or 'csv'; got {fmt!r}.")
    return "csv" if fmt == "csv" else "parquet"


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


def main() -> None:  # pragma: no cover - console script entry
    sys.exit(app())
