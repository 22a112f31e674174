"""The nightly snapshot's one writer and one reader: what goes in comes back out, by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kam_ml.data.quarantine import QuarantineReport, RuleViolation
from kam_ml.errors import KamMLError
from kam_ml.nightly.snapshot import (
    SNAPSHOT_FORMAT,
    VERSIONS,
    SnapshotFiles,
    SnapshotParts,
    latest_night,
    manifest_digest,
    night_directories,
    publish,
    read_snapshot,
    recover,
    staging_directory,
    write_manifest,
    write_snapshot,
)
from kam_ml.offers.population import population_stats
from kam_ml.pandas_compat import TEXT
from tests.offer_builders import DEFINITION, PAST, T, book

IDS = ["A1", "A2", "A3"]


def _parts(population: bool = True, quarantine: QuarantineReport | None = None) -> SnapshotParts:
    """Three accounts' parts with the awkward cells a real night has: NaN, None, empty lists."""
    scores = pd.DataFrame(
        {
            "account_id": IDS,
            "churn_probability": [0.9, 0.3, 0.1],
            "risk_band": ["high", "medium", "low"],
            "reasons": [["No order for 64 days"], [], ["Two complaints"]],
        }
    )
    features = pd.DataFrame(
        {"account_id": IDS, "days_since_last_order": [64.0, 20.0, np.nan], "orders_90d": [0, 2, 5]}
    )
    contributions = pd.DataFrame(
        {"days_since_last_order": [1.5, -0.2, 0.0], "orders_90d": [0.3, -0.1, -0.8]}
    )
    explained = scores.assign(
        manager=["Zoë Ng", "Zoë Ng", None],
        offers=[["bags", "shoes"], [], ["watches"]],
        previous_probability=[0.8, np.nan, 0.1],
    )
    means = pd.DataFrame(
        {"low": [10.0, 4.0], "medium": [30.0, 2.0], "high": [70.0, np.nan]},
        index=pd.Index(["days_since_last_order", "orders_90d"], name="feature"),
    )
    categories = pd.DataFrame({"category": ["bags", "shoes", "watches"], "margin_rate": 0.3})
    stats = population_stats(book(PAST), T, DEFINITION) if population else None
    return SnapshotParts(
        scores=scores,
        features=features,
        contributions=contributions,
        explained=explained,
        band_means=means,
        categories=categories,
        population=stats,
        quarantine=quarantine,
    )


def _night(tmp_path: Path, parts: SnapshotParts, as_of: str = "2026-03-31") -> Path:
    night = tmp_path / as_of
    night.mkdir()
    write_snapshot(night, parts)
    write_manifest(night, {"format": SNAPSHOT_FORMAT, "as_of": as_of, "risk_lists": []})
    return night


def as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text columns (and index) as a snapshot reads text (``TEXT``);
    on pandas 2, text built from Python lists is ``object`` in memory."""
    text = [c for c in frame if pd.api.types.infer_dtype(frame[c], skipna=True) == "string"]
    frame = frame.astype(dict.fromkeys(text, TEXT))
    if pd.api.types.infer_dtype(frame.index, skipna=True) == "string":
        frame.index = frame.index.astype(TEXT)
    return frame


def test_every_part_written_is_read_back_unchanged(tmp_path):
    parts = _parts()
    snapshot = read_snapshot(_night(tmp_path, parts))
    assert snapshot.as_of == "2026-03-31"
    pd.testing.assert_frame_equal(snapshot.scores(), as_read(parts.scores))
    pd.testing.assert_frame_equal(snapshot.features(), as_read(parts.features))
    pd.testing.assert_frame_equal(snapshot.explained(), as_read(parts.explained))
    pd.testing.assert_frame_equal(snapshot.band_means(), as_read(parts.band_means))
    pd.testing.assert_frame_equal(snapshot.contributions(), as_read(parts.contributions))
    pd.testing.assert_frame_equal(snapshot.categories(), as_read(parts.categories))
    population = snapshot.population()
    assert parts.population is not None and population is not None
    pd.testing.assert_frame_equal(population.to_frame(), parts.population.to_frame())


def test_explained_columns_and_contributions_follow_the_requested_accounts(tmp_path):
    parts = _parts(population=False)
    snapshot = read_snapshot(_night(tmp_path, parts))
    assert list(snapshot.explained(columns=["account_id", "churn_probability"])) == [
        "account_id",
        "churn_probability",
    ]
    reordered = snapshot.contributions(["A3", "A1"])
    pd.testing.assert_frame_equal(
        reordered, parts.contributions.iloc[[2, 0]].reset_index(drop=True)
    )


def test_contributions_for_an_account_the_night_did_not_score_are_refused(tmp_path):
    snapshot = read_snapshot(_night(tmp_path, _parts(population=False)))
    with pytest.raises(KamMLError, match=r"has no row for 1 of the accounts asked for \(e.g. A9\)"):
        snapshot.contributions(["A1", "A9"])


def test_optional_parts_are_none_when_the_night_has_none(tmp_path):
    night = _night(tmp_path, _parts(population=False))
    assert not (night / SnapshotFiles.POPULATION).exists()
    assert read_snapshot(night).population() is None
    (night / SnapshotFiles.CATEGORIES).unlink()  # a night from before catalogues were stored
    assert read_snapshot(night).categories() is None


def test_quarantine_is_written_only_when_rows_were_dropped(tmp_path):
    clean = _night(tmp_path, _parts(population=False, quarantine=QuarantineReport()), "2026-03-30")
    assert not (clean / SnapshotFiles.QUARANTINE).exists()
    violation = RuleViolation("orders", "amount", "must be >= 0", 1, ("O-17",))
    dropped = pd.DataFrame({"order_id": ["O-17"], "amount": [-5.0], "row": [3], "rule": ["x"]})
    report = QuarantineReport((violation,), {"orders": dropped})
    night = _night(tmp_path, _parts(population=False, quarantine=report))
    written = sorted(p.name for p in (night / SnapshotFiles.QUARANTINE).iterdir())
    assert written == ["orders_quarantined.csv", "quarantine_summary.csv"]


def test_a_folder_is_a_night_once_its_manifest_is_written(tmp_path):
    night = tmp_path / "2026-03-31"
    night.mkdir()
    write_snapshot(night, _parts(population=False))
    assert night_directories(tmp_path) == []
    with pytest.raises(KamMLError, match="not a published nightly snapshot: no manifest.json"):
        read_snapshot(night)
    manifest = {"format": SNAPSHOT_FORMAT, "as_of": "2026-03-31"}
    path = write_manifest(night, manifest)
    assert night_directories(tmp_path) == [night]
    assert path.read_text(encoding="utf-8") == json.dumps(manifest, indent=2)
    assert read_snapshot(night).digest == manifest_digest(night)


def test_a_manifest_of_another_format_is_refused(tmp_path):
    night = _night(tmp_path, _parts(population=False))
    write_manifest(night, {"format": 99, "as_of": "2026-03-31"})
    with pytest.raises(KamMLError, match="snapshot format 99; this kam-ml reads format 1"):
        read_snapshot(night)


def test_risk_list_files_sit_in_the_risk_lists_folder():
    assert SnapshotFiles.risk_list("zo-ng") == "risk_lists/zo-ng.html"
    assert [SnapshotFiles.risk_list("zo-ng", s) for s in SnapshotFiles.RISK_LIST_SUFFIXES] == [
        "risk_lists/zo-ng.csv",
        "risk_lists/zo-ng.xlsx",
        "risk_lists/zo-ng.html",
    ]
    assert SnapshotFiles.RISK_LIST_INDEX.startswith(f"{SnapshotFiles.RISK_LISTS}/")
    assert SnapshotFiles.PORTFOLIO_PAGE.startswith(f"{SnapshotFiles.PORTFOLIO}/")


def _published(out: Path, as_of: str) -> Path:
    staging = staging_directory(out, as_of)
    write_manifest(staging, {"format": SNAPSHOT_FORMAT, "as_of": as_of, "risk_lists": []})
    return publish(staging, out, as_of)


def test_the_night_served_is_the_one_published_last_not_the_newest_name(tmp_path):
    out = tmp_path / "nightly"
    assert latest_night(out) is None
    _published(out, "2026-10-30")
    _published(out, "2031-06-01")  # a night with a wrong date ...
    assert latest_night(out) == out / "2031-06-01"
    tonight = _published(out, "2026-10-31")  # ... hides no correct night published after it
    assert latest_night(out) == tonight
    assert [p.name for p in night_directories(out)][-1] == "2031-06-01"


def test_without_a_readable_pointer_the_newest_night_is_served(tmp_path):
    out = tmp_path / "nightly"
    _published(out, "2026-10-31")
    _published(out, "2026-10-30")
    (out / "latest.json").write_text("{not json")
    assert latest_night(out) == out / "2026-10-31"
    (out / "latest.json").write_text('{"as_of": "2026-10-29"}')  # a night since deleted
    assert latest_night(out) == out / "2026-10-31"
    (out / "latest.json").unlink()  # folders published before the pointer existed
    assert latest_night(out) == out / "2026-10-31"


def test_a_night_is_an_immutable_version_behind_a_link_swapped_in_one_step(tmp_path):
    out = tmp_path / "nightly"
    first = _published(out, "2026-10-31")
    version = first.resolve()
    assert first.is_symlink() and version.parent == out / VERSIONS
    again = _published(out, "2026-10-31")  # a same-date rerun: a new version, the old gone
    assert again == first and again.resolve() != version and not version.exists()
    assert [p.name for p in (out / VERSIONS).iterdir()] == [again.resolve().name]
    assert night_directories(out) == [first] and latest_night(out) == first


def test_a_night_folder_of_an_older_kam_ml_is_moved_into_the_versions_on_rerun(tmp_path):
    out = tmp_path / "nightly"
    legacy = out / "2026-10-31"
    legacy.mkdir(parents=True)
    write_manifest(legacy, {"format": SNAPSHOT_FORMAT, "as_of": "2026-10-31", "risk_lists": []})
    assert night_directories(out) == [legacy]  # read as it is
    published = _published(out, "2026-10-31")
    assert published.is_symlink() and read_snapshot(published).as_of == "2026-10-31"
    assert len(list((out / VERSIONS).iterdir())) == 1


def test_recover_relinks_a_night_and_drops_debris_but_not_a_live_writers_staging(tmp_path):
    import os

    out = tmp_path / "nightly"
    night = _published(out, "2026-10-31")
    version = night.resolve()
    night.unlink()  # a crash while an older folder was being moved into the versions
    (out / VERSIONS / "2026-10-31.1-999").mkdir()  # a version no link will point at
    live = out / f".2026-11-01.staging-{os.getppid()}"  # a process that is running
    gone = out / ".2026-11-01.staging-999999999"
    live.mkdir()
    gone.mkdir()
    recover(out)
    assert night.resolve() == version and latest_night(out) == night
    assert sorted(p.name for p in (out / VERSIONS).iterdir()) == [version.name]
    assert live.is_dir() and not gone.exists()
