"""A published night holds exactly the files ``SnapshotFiles`` names, and reads back whole."""

from __future__ import annotations

import pandas as pd

from kam_ml.nightly.risk_lists import risk_list_rows
from kam_ml.nightly.snapshot import SnapshotFiles, read_snapshot


def test_every_file_of_a_night_is_named_by_snapshot_files(book):
    night = read_snapshot(book.second.directory)
    top = {p.name for p in night.directory.iterdir()}
    named = {
        SnapshotFiles.MANIFEST,
        SnapshotFiles.SCORES,
        SnapshotFiles.FEATURES,
        SnapshotFiles.CONTRIBUTIONS,
        SnapshotFiles.EXPLAINED,
        SnapshotFiles.HISTORY,
        SnapshotFiles.BAND_MEANS,
        SnapshotFiles.POPULATION,
        SnapshotFiles.CATEGORIES,
        SnapshotFiles.RISK_LISTS,
        SnapshotFiles.PORTFOLIO,
    }
    assert top == named  # the demo book is clean: no quarantine folder
    lists = {
        p.relative_to(night.directory).as_posix() for p in night.directory.glob("risk_lists/*")
    }
    expected = {
        SnapshotFiles.risk_list(m["slug"], suffix)
        for m in night.manifest["risk_lists"]
        for suffix in SnapshotFiles.RISK_LIST_SUFFIXES
    }
    assert lists == expected | {SnapshotFiles.RISK_LIST_INDEX}
    assert (night.directory / SnapshotFiles.PORTFOLIO_PAGE).is_file()
    assert book.second.risk_lists == night.directory / SnapshotFiles.RISK_LIST_INDEX
    assert book.second.portfolio == night.directory / SnapshotFiles.PORTFOLIO_PAGE


def test_a_published_night_reads_back_aligned_by_account(book):
    night = read_snapshot(book.second.directory)
    explained, scores = night.explained(), night.scores()
    assert explained["account_id"].tolist() == scores["account_id"].tolist()
    contributions = night.contributions(explained["account_id"].iloc[::-1])
    pd.testing.assert_frame_equal(
        contributions, night.contributions().iloc[::-1].reset_index(drop=True)
    )
    assert set(night.band_means().columns) == {"low", "medium", "high"}
    assert night.population() is not None  # the book has an offers champion
    assert night.manifest["previous_night"] == read_snapshot(book.first.directory).as_of


def test_risk_lists_leave_the_band_means_as_they_found_them(book):
    night = read_snapshot(book.second.directory)
    means = night.band_means()
    before = means.copy()
    risk_list_rows(night.explained(), means)
    assert means.attrs == {}
    pd.testing.assert_frame_equal(means, before)
