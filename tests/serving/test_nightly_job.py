"""The nightly job's outputs: snapshot, risk lists (CSV/Excel/HTML), portfolio, atomicity."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from openpyxl import load_workbook

from kam_ml.nightly.job import run_nightly
from kam_ml.nightly.snapshot import night_directories
from kam_ml.registry.champions import ChampionSource, load_champions
from kam_ml.scoring.score import score_accounts


def test_scores_parquet_is_what_kam_ml_score_writes(book):
    nightly = pd.read_parquet(book.second.directory / "scores.parquet")
    models = load_champions(ChampionSource(tracking_uri=book.tracking_uri))
    direct = score_accounts(book.tables, book.second.as_of, models)
    pd.testing.assert_frame_equal(
        nightly.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False
    )


def test_a_night_holds_the_snapshot_risk_lists_and_portfolio(book):
    night = book.second.directory
    manifest = json.loads((night / "manifest.json").read_text())
    assert manifest["as_of"] == str(book.second.as_of.date())
    assert manifest["previous_night"] == str(book.first.as_of.date())
    for name in ("scores", "features", "contributions", "explained", "band_means", "categories"):
        assert (night / f"{name}.parquet").is_file(), name
    for manager in manifest["risk_lists"]:
        for suffix in (".csv", ".xlsx", ".html"):
            assert (night / "risk_lists" / f"{manager['slug']}{suffix}").is_file()
    for name in ("portfolio.html", "portfolio.xlsx", "value_risk_matrix.png"):
        assert (night / "portfolio" / name).is_file()
    assert sum(m["accounts"] for m in manifest["risk_lists"]) == manifest["accounts"]


def test_risk_list_csv_is_ranked_by_revenue_at_risk_with_reasons_and_change(book):
    manifest = json.loads((book.second.directory / "manifest.json").read_text())
    slug = manifest["risk_lists"][0]["slug"]
    frame = pd.read_csv(book.second.directory / "risk_lists" / f"{slug}.csv")
    assert frame["Revenue at risk"].is_monotonic_decreasing
    assert frame["Rank"].tolist() == list(range(1, len(frame) + 1))
    at_risk = frame.loc[frame["Risk band"] == "high"]
    assert (
        at_risk["Reasons (account vs avg low / medium / high risk)"]
        .str.contains(r"\(avg low .* · medium .* · high .*\)")
        .all()
    )
    assert frame["Change since last night"].notna().all()  # every account was scored the day before


def test_risk_list_workbook_is_formatted(book):
    manifest = json.loads((book.second.directory / "manifest.json").read_text())
    slug = manifest["risk_lists"][0]["slug"]
    sheet = load_workbook(book.second.directory / "risk_lists" / f"{slug}.xlsx")["Risk list"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:M")
    assert sheet["A1"].font.b
    assert sheet.column_dimensions["L"].width == 80
    assert sheet["E2"].number_format == "0.00%"
    [rule] = list(sheet.conditional_formatting)
    assert str(rule.sqref).startswith("E2:E")
    assert rule.rules[0].type == "colorScale"


def test_portfolio_kpis_are_within_range(book):
    sheet = load_workbook(book.second.directory / "portfolio" / "portfolio.xlsx")
    assert {"Overall", "By manager", "By region", "By segment"} <= set(sheet.sheetnames)
    overall = list(sheet["Overall"].iter_rows(min_row=2, values_only=True))[0]
    retention = overall[2]
    assert 0.3 < retention < 1.0
    html = (book.second.directory / "portfolio" / "portfolio.html").read_text()
    assert "Value x risk" in html and "value_risk_matrix.png" in html


def _digests(directory):
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_a_rerun_for_the_same_date_reproduces_the_same_files(book, tmp_path):
    out = tmp_path / "nightly"
    source = ChampionSource(tracking_uri=book.tracking_uri)
    first = run_nightly(book.tables, out, source, as_of=book.second.as_of)
    before = _digests(first.directory)
    second = run_nightly(book.tables, out, source, as_of=book.second.as_of)
    assert _digests(second.directory) == before


def test_a_crash_leaves_the_published_night_intact(book, tmp_path, monkeypatch):
    out = tmp_path / "nightly"
    source = ChampionSource(tracking_uri=book.tracking_uri)
    published = run_nightly(book.tables, out, source, as_of=book.second.as_of).directory
    before = _digests(published)

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("kam_ml.nightly.job.write_portfolio", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        run_nightly(book.tables, out, source, as_of=book.second.as_of)
    assert _digests(published) == before
    assert night_directories(out) == [published]
    monkeypatch.undo()
    run_nightly(book.tables, out, source, as_of=book.second.as_of)  # cleans up the debris
    assert sorted(p.name for p in out.iterdir()) == [".timings", published.name]
