"""The nightly snapshot on disk: ``OUT/<as-of>/`` and how it is published and found.

Layout of one night (everything the API and the managers read)::

    manifest.json          as-of, model versions, counts, file list (written last)
    scores.parquet         exactly what ``kam-ml score`` writes
    features.parquet       the feature rows the scores were computed from
    contributions.parquet  per-account, per-feature contributions to the log-odds
    explained.parquet      one row per account: scores, reasons, offers, change (API rows)
    band_means.parquet     each feature's average among low/medium/high-risk accounts
    population.parquet     the population statistics offers are scored with (when used)
    categories.parquet     the offer catalogue (the API scores posted histories with it)
    risk_lists/            <manager>.csv/.xlsx/.html and index.html
    portfolio/             portfolio.html, portfolio.xlsx and plots

A night is built in a hidden staging folder next to its final place and published with a
rename, so a crash leaves earlier nights (and, for a rerun, the same night) intact.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kam_ml.errors import KamMLError

__all__ = [
    "MANIFEST",
    "Snapshot",
    "load_snapshot",
    "night_directories",
    "previous_night",
    "publish",
    "recover",
    "staging_directory",
]

MANIFEST = "manifest.json"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Snapshot:
    """One published night, loaded: the API's and the risk lists' source."""

    directory: Path
    manifest: dict[str, Any]
    explained: pd.DataFrame
    band_means: pd.DataFrame

    @property
    def as_of(self) -> str:
        return str(self.manifest["as_of"])


def night_directories(out_dir: Path) -> list[Path]:
    """Published nights under ``out_dir``, oldest first (a night is published once its
    manifest exists)."""
    if not Path(out_dir).is_dir():
        return []
    nights = [
        p for p in Path(out_dir).iterdir() if _DATE.match(p.name) and (p / MANIFEST).is_file()
    ]
    return sorted(nights, key=lambda p: p.name)


def previous_night(out_dir: Path, as_of: str) -> Path | None:
    earlier = [p for p in night_directories(out_dir) if p.name < as_of]
    return earlier[-1] if earlier else None


def staging_directory(out_dir: Path, as_of: str) -> Path:
    staging = Path(out_dir) / f".{as_of}.staging-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def publish(staging: Path, out_dir: Path, as_of: str) -> Path:
    """Move a complete staging folder to ``out_dir/<as_of>``.

    A first publication is one atomic rename. A rerun moves the old night aside, renames
    the new one in and then deletes the old: if the process dies between the two renames,
    the old night is still whole in ``.<as_of>.replaced-*`` and the next run restores it
    before starting.
    """
    final = Path(out_dir) / as_of
    if final.exists():
        aside = Path(out_dir) / f".{as_of}.replaced-{os.getpid()}"
        final.rename(aside)
        staging.rename(final)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        staging.rename(final)
    return final


def recover(out_dir: Path) -> None:
    """Restore a night a crashed rerun moved aside, and drop abandoned staging folders."""
    if not Path(out_dir).is_dir():
        return
    for path in sorted(Path(out_dir).iterdir()):
        name = path.name
        if name.startswith(".") and ".replaced-" in name:
            final = Path(out_dir) / name[1:].split(".replaced-")[0]
            if final.exists():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.rename(final)
        elif name.startswith(".") and ".staging-" in name:
            shutil.rmtree(path, ignore_errors=True)


def load_snapshot(directory: Path) -> Snapshot:
    """Read the parts of a night the API serves from."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise KamMLError(f"{directory} is not a published nightly snapshot: no {MANIFEST}.")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    explained = pd.read_parquet(directory / "explained.parquet")
    means = pd.read_parquet(directory / "band_means.parquet")
    return Snapshot(directory, manifest, explained, means)
