"""What the API serves, swapped atomically when a new night or a new champion appears.

``ServingState.refresh`` (run at start-up and then in a background thread every few
seconds) loads a new snapshot or new models completely *before* replacing the reference
to the old one; a request reads the reference once, so requests in flight finish on the
object they started with and none fails during a reload.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from kam_ml.nightly.snapshot import (
    latest_night,
    manifest_digest,
    published_as_of,
    read_snapshot,
)
from kam_ml.registry.bundle import BundleTrust
from kam_ml.registry.champions import ChampionSource, ScoringModels, load_champions
from serving.records import RecordTable
from serving.settings import ServingSettings

__all__ = ["ServedSnapshot", "ServingState"]

logger = logging.getLogger("serving")


@dataclass(frozen=True)
class ServedSnapshot:
    """One nightly snapshot in memory: records by id, risk-list summaries, catalogue."""

    directory: Path
    manifest: dict[str, Any]
    manifest_digest: str
    records: RecordTable
    band_means: pd.DataFrame
    categories: pd.DataFrame | None
    population: Any | None

    @property
    def as_of(self) -> str:
        return str(self.manifest["as_of"])

    @property
    def managers(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("risk_lists", []))

    @cached_property
    def rows_by_manager(self) -> dict[str, list[int]]:
        """Each manager's rows, highest revenue at risk first (ties: account id), as the
        risk lists rank them; built once per night, on first use."""
        c = self.records.columns
        rows: dict[str, list[int]] = {}
        for i, manager in enumerate(c["manager"]):
            if isinstance(manager, str):
                rows.setdefault(manager, []).append(i)
        risk, ids = c["revenue_at_risk"], c["account_id"]
        for manager_rows in rows.values():
            manager_rows.sort(key=lambda i: (-(risk[i] or 0.0), ids[i]))
        return rows

    @cached_property
    def band_change_rows(self) -> list[int]:
        """Rows whose band differs from the night compared with, highest probability first."""
        c = self.records.columns
        changed = [
            i
            for i, (band, before) in enumerate(
                zip(c["risk_band"], c["previous_risk_band"], strict=True)
            )
            if before is not None and before != band
        ]
        probability, ids = c["churn_probability"], c["account_id"]
        return sorted(changed, key=lambda i: (-(probability[i] or 0.0), ids[i]))

    @cached_property
    def known_categories(self) -> frozenset[str] | None:
        """The night's catalogue categories (None for a night stored without them)."""
        if self.categories is None:
            return None
        return frozenset(self.categories["category"].astype(str))


@dataclass
class ServingState:
    settings: ServingSettings
    snapshot: ServedSnapshot | None = None
    models: ScoringModels | None = None
    champion_version: str | None = None
    problems: list[str] = field(default_factory=list)
    # the night OUT/latest.json names (the one published last), and why it is not the one
    # served when it is not: /ready reports both, so an older night is never served silently
    published_as_of: str | None = None
    snapshot_problems: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _trying: str | None = None  # the night folder the last snapshot refresh looked at

    @property
    def source(self) -> ChampionSource:
        return ChampionSource(
            tracking_uri=self.settings.tracking_uri,
            models_dir=self.settings.models_dir,
            churn_uri=self.settings.churn_model,
            trust=BundleTrust.from_settings(self.settings),
            artifact_root=self.settings.artifact_root,
        )

    def refresh(self) -> list[str]:
        """Load whatever changed; returns what was reloaded ("snapshot", "models")."""
        with self._lock:  # one refresh at a time; readers never wait on it
            changed, problems = [], []
            try:
                if self._refresh_models():
                    changed.append("models")
            except Exception as error:  # keep serving the old models
                problems.append(f"models: {error}")
                logger.warning("model reload failed: %s", error)
            failed: str | None = None
            try:
                if self._refresh_snapshot():
                    changed.append("snapshot")
            except Exception as error:  # keep serving the old snapshot
                problems.append(f"snapshot: {error}")
                logger.warning("snapshot reload failed: %s", error)
                failed = str(error)
            self.snapshot_problems = self._night_problems(failed)
            if self.settings.nightly_dir is None:
                problems.append("no nightly directory configured (KAM_NIGHTLY_DIR)")
            elif self.snapshot is None and not problems:
                problems.append(f"no published night in {self.settings.nightly_dir}")
            self.problems = problems
            return changed

    def _refresh_models(self) -> bool:
        version = self.source.churn_version()
        if self.models is not None and version == self.champion_version:
            return False
        models = load_champions(self.source)
        self.models, self.champion_version = models, version
        logger.info("loaded models %s", models.versions())
        for problem in models.problems:
            logger.warning("scoring without %s", problem)
        for warning in models.warnings:
            logger.warning("%s", warning)
        return True

    def _refresh_snapshot(self) -> bool:
        if self.settings.nightly_dir is None:
            return False
        self.published_as_of = published_as_of(self.settings.nightly_dir)
        latest = latest_night(self.settings.nightly_dir)
        if latest is None:
            return False
        self._trying = latest.name
        digest = manifest_digest(latest)
        current = self.snapshot
        if (
            current is not None
            and current.directory == latest
            and current.manifest_digest == digest
        ):
            return False
        self.snapshot = _load(latest)
        logger.info("serving nightly snapshot %s", latest)
        return True

    def _night_problems(self, failed: str | None) -> list[str]:
        """Why the night served is not the night published last (empty when it is)."""
        served = self.snapshot.as_of if self.snapshot is not None else None
        serving = f"; serving {served}" if served else ""
        if failed is not None:
            return [f"the night {self._trying} could not be loaded: {failed}{serving}"]
        published = self.published_as_of
        if published is not None and served is not None and published != served:
            return [f"latest.json names {published}, which is not a published night{serving}"]
        return []


def _load(directory: Path) -> ServedSnapshot:
    """Everything a request may need from one night, read before it replaces the old one
    (the digest is the one of the manifest read, so a night replaced meanwhile reloads)."""
    snapshot = read_snapshot(directory)
    means = snapshot.band_means()
    records = RecordTable.from_explained(
        snapshot.explained(), means, snapshot.as_of, "nightly", history=snapshot.history()
    )
    categories, population = snapshot.categories(), snapshot.population()
    return ServedSnapshot(
        directory, snapshot.manifest, snapshot.digest, records, means, categories, population
    )
