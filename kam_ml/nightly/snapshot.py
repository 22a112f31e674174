"""The nightly snapshot on disk: ``OUT/<as-of>/``, its one writer, its one reader, and how a
night is published and found.

Layout of one night (everything the API and the managers read; names in ``SnapshotFiles``)::

    manifest.json          as-of, model versions, counts, risk-list summaries, the order
                           history's first day (written last)
    scores.parquet         exactly what ``kam-ml score`` writes (reasons and reason_details)
    features.parquet       the feature rows the scores were computed from
    contributions.parquet  per-account, per-feature contributions to the log-odds (+ account_id)
    explained.parquet      one row per account: scores, reasons (texts, values, and
                           ``reason_details``: feature, value, direction, peer_low_risk,
                           peer_high_risk, contribution, text), offers, change (API rows);
                           nights from before reason_details are still read (``serving``
                           rebuilds them from band_means); what changed since the
                           previous night (``changes``, ``what_changed``, ``compared_with``)
    history.parquet        each account's probability and band on the last nights
                           (``kam_ml.nightly.history``; absent in nights from before it)
    band_means.parquet     each feature's average among low/medium/high-risk accounts
    population.parquet     the population statistics offers are scored with (when used)
    categories.parquet     the offer catalogue (the API scores posted histories with it)
    quarantine/            the rows validation dropped (only when it dropped some)
    risk_lists/            <slug>.csv/.xlsx/.html per manager, and index.html
    portfolio/             portfolio.html, portfolio.xlsx and plots

``write_snapshot`` writes the data files and ``write_manifest`` the manifest. The risk lists
and the portfolio have their own writers: ``kam_ml.nightly.risk_lists`` names its files with
``SnapshotFiles``; ``kam_ml.nightly.portfolio`` is handed ``SnapshotFiles.PORTFOLIO`` and
names the files inside it itself (``PORTFOLIO_PAGE`` must agree; a test checks that).
``read_snapshot`` is the only reader, for the API and for the next night alike, so a renamed
file or a changed column is one edit.

A night is built in a hidden staging folder, renamed to an immutable version
``OUT/.nights/<as-of>.<version>/`` and published by pointing the symlink ``OUT/<as-of>`` at
it, swapped with one ``os.replace`` (atomic on POSIX): a reader opening ``OUT/<as-of>/``
sees the whole previous version or the whole new one, never none, so a crash at any point
of a same-date rerun leaves the night served (the old two-rename publication left no
folder at all between its renames). The version replaced is deleted after the swap; a
crash before that leaves it to ``recover``. Then ``OUT/latest.json`` is pointed at the night:
the API serves the night published last (``latest_night``), not the alphabetically last
folder, and says when the night ``latest.json`` names is not the one it could load
(``published_as_of``).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from kam_ml.data.quarantine import QuarantineReport
from kam_ml.errors import KamMLError
from kam_ml.parquet import read_parquet, write_parquet

if TYPE_CHECKING:
    from kam_ml.offers.population import PopulationStats

__all__ = [
    "SNAPSHOT_FORMAT",
    "VERSIONS",
    "Snapshot",
    "SnapshotFiles",
    "SnapshotParts",
    "manifest_digest",
    "latest_night",
    "night_directories",
    "previous_night",
    "publish",
    "published_as_of",
    "read_snapshot",
    "recover",
    "staging_directory",
    "write_manifest",
    "write_snapshot",
]

SNAPSHOT_FORMAT: Final = 1
# OUT/latest.json names the night last published ({"as_of": "2026-10-31"}); see latest_night
LATEST: Final = "latest.json"
# the immutable versions OUT/<as-of> links point at: OUT/.nights/<as-of>.<version>/
VERSIONS: Final = ".nights"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SnapshotFiles:
    """The name of every file and folder of one night, relative to the night's folder.

    Writers and readers join these to a night's folder; nobody else spells a file name, so
    the layout can change here alone.
    """

    MANIFEST: Final = "manifest.json"
    SCORES: Final = "scores.parquet"
    FEATURES: Final = "features.parquet"
    CONTRIBUTIONS: Final = "contributions.parquet"
    EXPLAINED: Final = "explained.parquet"
    HISTORY: Final = "history.parquet"
    BAND_MEANS: Final = "band_means.parquet"
    POPULATION: Final = "population.parquet"
    CATEGORIES: Final = "categories.parquet"
    QUARANTINE: Final = "quarantine"
    RISK_LISTS: Final = "risk_lists"
    RISK_LIST_INDEX: Final = "risk_lists/index.html"
    RISK_LIST_SUFFIXES: Final = (".csv", ".xlsx", ".html")
    PORTFOLIO: Final = "portfolio"
    PORTFOLIO_PAGE: Final = "portfolio/portfolio.html"

    @staticmethod
    def risk_list(slug: str, suffix: str = ".html") -> str:
        """``risk_lists/<slug><suffix>``: one manager's list, ``suffix`` one of
        ``RISK_LIST_SUFFIXES`` (``manager_slugs`` never gives ``index``, the index page)."""
        return f"{SnapshotFiles.RISK_LISTS}/{slug}{suffix}"

    @staticmethod
    def link(page: str, target: str) -> str:
        """The relative link from the night's file ``page`` to its file ``target``
        (``risk_lists/index.html`` -> ``../portfolio/portfolio.html``): pages link to each
        other this way, so they work opened from disk and served under the API alike."""
        return posixpath.relpath(target, posixpath.dirname(page) or ".")


@dataclass(frozen=True, eq=False)
class SnapshotParts:
    """What one night stores besides its risk lists, portfolio and manifest.

    ``contributions`` has no id column: its rows are aligned with ``scores`` (the scoring
    path keeps the feature frame's order), and the writer adds ``account_id`` from there.
    ``band_means`` is indexed by feature, as ``kam_ml.scoring.explained.band_means`` returns
    it. ``quarantine`` is written only when validation dropped rows.
    """

    scores: pd.DataFrame
    features: pd.DataFrame
    contributions: pd.DataFrame
    explained: pd.DataFrame
    band_means: pd.DataFrame
    categories: pd.DataFrame
    population: PopulationStats | None = None
    quarantine: QuarantineReport | None = None
    history: pd.DataFrame | None = None


@dataclass(frozen=True)
class Snapshot:
    """One published night: its manifest, read and checked, and a reader for every part.

    Parts are read when asked for, not when the night is opened: a night holds up to a
    million accounts, the API never needs the contributions and the next night needs only
    two columns of the explained scores. Read what you need right after opening: a rerun
    for the same date replaces the folder, and the frames already read stay as they were.
    """

    directory: Path
    manifest: dict[str, Any]
    digest: str

    @property
    def as_of(self) -> str:
        return str(self.manifest["as_of"])

    def scores(self) -> pd.DataFrame:
        return read_parquet(self.directory / SnapshotFiles.SCORES)

    def features(self) -> pd.DataFrame:
        return read_parquet(self.directory / SnapshotFiles.FEATURES)

    def explained(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The API rows; ``columns`` reads only those (the list columns are most of the file)."""
        return read_parquet(self.directory / SnapshotFiles.EXPLAINED, columns=columns)

    def history(self) -> pd.DataFrame | None:
        """Each account's score on the last nights (None for a night from before histories)."""
        path = self.directory / SnapshotFiles.HISTORY
        return read_parquet(path) if path.is_file() else None

    def band_means(self) -> pd.DataFrame:
        """Per feature (the index), its mean among low/medium/high-risk accounts."""
        return read_parquet(self.directory / SnapshotFiles.BAND_MEANS).set_index("feature")

    def contributions(self, account_ids: Sequence[str] | pd.Series | None = None) -> pd.DataFrame:
        """Per-feature contributions, one row per account of ``account_ids`` in that order
        (default: the order the night's scores were written in), without the id column.

        Raises ``KamMLError`` for an id the night did not score: a silent misalignment
        would explain one account's change with another account's reasons.
        """
        frame = read_parquet(self.directory / SnapshotFiles.CONTRIBUTIONS)
        if account_ids is None:
            return frame.drop(columns="account_id")
        position = pd.Index(frame["account_id"]).get_indexer(pd.Index(account_ids))
        if (position < 0).any():
            missing = pd.Index(account_ids)[position < 0]
            examples = ", ".join(map(str, missing[:3]))
            raise KamMLError(
                f"{self.directory / SnapshotFiles.CONTRIBUTIONS} has no row for "
                f"{len(missing):,} of the accounts asked for (e.g. {examples}). The night is "
                "incomplete; rerun kam-ml nightly for it."
            )
        return frame.iloc[position].drop(columns="account_id").reset_index(drop=True)

    def categories(self) -> pd.DataFrame | None:
        """The offer catalogue (None for a night written before catalogues were stored)."""
        path = self.directory / SnapshotFiles.CATEGORIES
        return read_parquet(path) if path.is_file() else None

    def population(self) -> PopulationStats | None:
        """The offers' population statistics (None when the night had no offers model)."""
        path = self.directory / SnapshotFiles.POPULATION
        if not path.is_file():
            return None
        from kam_ml.offers.population import PopulationStats  # only nights with offers pay

        return PopulationStats.from_parquet(path)


def write_snapshot(staging: Path, parts: SnapshotParts) -> None:
    """Write the data files of one night into ``staging`` (the manifest comes last, from
    ``write_manifest``, once the risk lists and the portfolio are written too)."""
    staging = Path(staging)
    write_parquet(parts.scores, staging / SnapshotFiles.SCORES)
    write_parquet(parts.features, staging / SnapshotFiles.FEATURES)
    ids = parts.scores["account_id"].to_numpy(dtype=object)
    write_parquet(parts.contributions.assign(account_id=ids), staging / SnapshotFiles.CONTRIBUTIONS)
    write_parquet(parts.explained, staging / SnapshotFiles.EXPLAINED)
    write_parquet(parts.band_means.reset_index(), staging / SnapshotFiles.BAND_MEANS)
    write_parquet(parts.categories, staging / SnapshotFiles.CATEGORIES)
    if parts.history is not None:
        write_parquet(parts.history, staging / SnapshotFiles.HISTORY)
    if parts.population is not None:
        parts.population.to_parquet(staging / SnapshotFiles.POPULATION)
    if parts.quarantine is not None and not parts.quarantine.is_clean:
        parts.quarantine.write(staging / SnapshotFiles.QUARANTINE)


def write_manifest(staging: Path, manifest: Mapping[str, Any]) -> Path:
    """Write the manifest, the last file of a night: ``night_directories`` counts a folder
    as a night only once it exists."""
    path = Path(staging) / SnapshotFiles.MANIFEST
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return path


def manifest_digest(directory: Path) -> str:
    """sha256 of a night's manifest: the API's cheap "is this still the night I serve?"."""
    return hashlib.sha256((Path(directory) / SnapshotFiles.MANIFEST).read_bytes()).hexdigest()


def read_snapshot(directory: Path) -> Snapshot:
    """Open a published night: read and check its manifest (the parts are read on demand)."""
    directory = Path(directory)
    path = directory / SnapshotFiles.MANIFEST
    if not path.is_file():
        raise KamMLError(
            f"{directory} is not a published nightly snapshot: no {SnapshotFiles.MANIFEST}."
        )
    raw = path.read_bytes()
    manifest = json.loads(raw)
    if manifest.get("format") != SNAPSHOT_FORMAT:
        raise KamMLError(
            f"{path} has snapshot format {manifest.get('format')!r}; this kam-ml reads format "
            f"{SNAPSHOT_FORMAT}. Rerun kam-ml nightly with this version."
        )
    return Snapshot(directory, manifest, hashlib.sha256(raw).hexdigest())


def night_directories(out_dir: Path) -> list[Path]:
    """Published nights under ``out_dir``, oldest first (a night is published once its
    manifest exists)."""
    if not Path(out_dir).is_dir():
        return []
    nights = [
        p
        for p in Path(out_dir).iterdir()
        if _DATE.match(p.name) and (p / SnapshotFiles.MANIFEST).is_file()
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
    """Publish a complete staging folder as ``out_dir/<as_of>``; returns that path.

    The folder becomes the immutable version ``.nights/<as_of>.<version>`` (a rename), and
    the link ``<as_of>`` is swapped to it in one ``os.replace``: until the swap readers see
    the previous version whole, after it the new one. The replaced version is deleted last.
    A night folder of an older kam-ml (a directory, not a link) is first moved into the
    versions; ``recover`` relinks it if the process dies in between.
    """
    out_dir = Path(out_dir)
    final = out_dir / as_of
    versions = out_dir / VERSIONS
    versions.mkdir(exist_ok=True)
    if final.is_dir() and not final.is_symlink():  # published before versions existed
        final.rename(versions / f"{as_of}.0-legacy")
    version = versions / f"{as_of}.{time.time_ns()}-{os.getpid()}"
    staging.rename(version)
    link = out_dir / f".{as_of}.link-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(Path(VERSIONS) / version.name, target_is_directory=True)
    os.replace(link, final)
    _drop_unlinked_versions(out_dir, as_of)  # the version replaced
    _mark_latest(out_dir, as_of)
    return final


def _mark_latest(out_dir: Path, as_of: str) -> None:
    """Record ``as_of`` as the night last published (temp + rename: never half written)."""
    tmp = out_dir / f".{LATEST}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps({"as_of": as_of}) + "\n", encoding="utf-8")
    tmp.replace(out_dir / LATEST)


def latest_night(out_dir: Path) -> Path | None:
    """The night to serve: the one ``LATEST`` names, i.e. the last one published.

    Not the newest folder name: a night published once with a wrong date (2031, say) would
    otherwise hide every correct night after it. The newest night is the fallback only when
    ``LATEST`` is missing (folders written before it existed), unreadable, or names a night
    that is no longer published (``published_as_of`` tells the API to say so).
    """
    nights = night_directories(out_dir)
    if not nights:
        return None
    named = published_as_of(out_dir)
    return next((night for night in nights if night.name == named), nights[-1])


def published_as_of(out_dir: Path) -> str | None:
    """The as-of date ``LATEST`` names (None when it is missing or unreadable)."""
    try:
        named = json.loads((Path(out_dir) / LATEST).read_text(encoding="utf-8"))["as_of"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(named)


def recover(out_dir: Path) -> None:
    """Clean up after crashed runs; call it holding the folder's lock (``kam_ml.nightly.lock``).

    Drops abandoned staging folders and half-made links, relinks a night whose link is
    missing (a crash while moving an older kam-ml's folder into the versions), deletes
    versions no link points at (a crash after the swap), and restores a night an older
    kam-ml's rerun moved aside. A staging folder whose process still runs is left alone
    even so: a run of a kam-ml from before the lock may be writing it.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    for path in sorted(out_dir.iterdir()):
        name = path.name
        if name.startswith(".") and ".replaced-" in name:
            final = out_dir / name[1:].split(".replaced-")[0]
            if final.exists():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.rename(final)
        elif name.startswith(".") and ".staging-" in name and not _live_writer(name):
            shutil.rmtree(path, ignore_errors=True)
        elif name.startswith(".") and ".link-" in name and path.is_symlink():
            path.unlink()
    versions = out_dir / VERSIONS
    if not versions.is_dir():
        return
    days = sorted({p.name.split(".", 1)[0] for p in versions.iterdir() if "." in p.name})
    for day in days:
        final = out_dir / day
        if not final.exists() and not final.is_symlink():
            newest = max(p for p in versions.iterdir() if p.name.startswith(f"{day}."))
            final.symlink_to(Path(VERSIONS) / newest.name, target_is_directory=True)
        _drop_unlinked_versions(out_dir, day)


def _drop_unlinked_versions(out_dir: Path, day: str) -> None:
    """Delete the versions of ``day`` its link does not point at."""
    final = Path(out_dir) / day
    current = final.resolve() if final.is_symlink() else None
    for path in (Path(out_dir) / VERSIONS).iterdir():
        if path.name.startswith(f"{day}.") and path.resolve() != current:
            shutil.rmtree(path, ignore_errors=True)


def _live_writer(staging_name: str) -> bool:
    """Whether the process a staging folder is named after (``.<day>.staging-<pid>``) runs,
    other than this one (whose own leftovers are its to replace)."""
    pid = staging_name.rsplit("-", 1)[-1]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
