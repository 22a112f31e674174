"""``kam-ml nightly``: run the nightly job with a progress line per stage and a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from rich.console import Console
from rich.table import Table

from kam_ml.champions import ChampionSource
from kam_ml.errors import KamMLError
from kam_ml.nightly import run_nightly
from kam_ml.settings import Settings
from kam_ml.stages import StageClock, StageTiming

__all__ = ["run_nightly_command"]


def run_nightly_command(
    data: Path,
    out: Path,
    as_of: str | None,
    model: str,
    on_bad_rows: str,
    console: Console,
) -> None:
    settings = Settings()
    if on_bad_rows not in {"quarantine", "refuse"}:
        raise KamMLError(f"--on-bad-rows must be 'quarantine' or 'refuse'; got {on_bad_rows!r}.")
    mode: Literal["quarantine", "refuse"] = "refuse" if on_bad_rows == "refuse" else "quarantine"
    try:
        as_of_date = pd.Timestamp(as_of).normalize() if as_of else None
    except ValueError:
        raise KamMLError(f"--as-of must be a date like 2026-10-31; got {as_of!r}.") from None
    source = ChampionSource(
        tracking_uri=settings.tracking_uri, models_dir=settings.models_dir, churn_uri=model
    )

    def done(timing: StageTiming) -> None:
        console.print(
            f"  {timing.stage:<24} {timing.seconds:7.1f} s   cpu {timing.cpu_seconds:7.1f} s   "
            f"peak {timing.peak_rss_gib:5.2f} GiB"
        )

    console.print(f"Nightly run from {data} into {out}")
    result = run_nightly(
        str(data), out, source, as_of=as_of_date, on_bad_rows=mode, clock=StageClock(done)
    )
    table = Table(title=f"{result.accounts:,} accounts scored as of {result.as_of.date()}")
    for column in ("risk band", "accounts"):
        table.add_column(column, justify="right")
    for band, count in result.bands.items():
        table.add_row(band, f"{count:,}")
    console.print(table)
    versions = ", ".join(f"{k} v{v}" for k, v in result.model_versions.items() if v)
    console.print(f"Models: {versions}")
    console.print(f"Risk lists ({result.managers} managers): {result.risk_lists}")
    console.print(f"Portfolio summary: {result.portfolio}")
    console.print(f"API snapshot: {result.directory}")
