"""The nightly job's outputs: snapshot, risk lists (CSV/Excel/HTML), portfolio, atomicity."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from kam_ml.actions import ActionKind, NewAction, SQLiteActionStore
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
    assert sorted(p.name for p in out.iterdir()) == [
        ".nightly.lock",
        ".nights",
        ".timings",
        published.name,
        "latest.json",
        "managers.json",
    ]
    assert [p.name for p in (out / ".nights").iterdir()] == [published.resolve().name]


def test_the_lists_carry_each_accounts_last_action_from_the_store(book, tmp_path):
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    manager = explained["manager"].value_counts().index[0]
    own = sorted(explained.loc[explained["manager"] == manager, "account_id"])
    store = SQLiteActionStore(tmp_path / "actions.db")
    t0 = dt.datetime(2026, 11, 2, 23, 30, tzinfo=dt.UTC)
    store.record(NewAction(own[0], ActionKind.called, "Ava"), at=t0)
    note = 'Said "call me in May", <b>not</b> before'
    store.record(
        NewAction(own[0], ActionKind.offered, "Ava", category="shoes", note=note),
        at=t0 + dt.timedelta(hours=1),  # the next day in UTC: the date is UTC's
    )
    store.record(NewAction(own[1], ActionKind.lost, "Ben"), at=t0)
    source = ChampionSource(tracking_uri=book.tracking_uri)
    out = tmp_path / "nightly"
    result = run_nightly(book.tables, out, source, as_of=book.second.as_of, actions=store)
    manifest = json.loads((result.directory / "manifest.json").read_text())
    slug = next(m["slug"] for m in manifest["risk_lists"] if m["manager"] == manager)
    lists = result.directory / "risk_lists"
    csv = pd.read_csv(lists / f"{slug}.csv", keep_default_na=False).set_index("Account")
    expected = {
        own[0]: (f"Offered shoes: {note}", "2026-11-03"),
        own[1]: ("Lost", "2026-11-02"),
        own[2]: ("", ""),
    }
    for account, shown in expected.items():
        assert tuple(csv.loc[account, ["Last action", "Last action date"]]) == shown
    sheet = load_workbook(lists / f"{slug}.xlsx")["Risk list"]
    assert (sheet["N1"].value, sheet["O1"].value) == ("Last action", "Last action date")
    assert sheet.auto_filter.ref.startswith("A1:O")
    rows = {row[1]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[own[0]][13:15] == (f"Offered shoes: {note}", "2026-11-03")
    page = (lists / f"{slug}.html").read_text()
    assert (
        f'<td class="last-action" id="action-{own[0]}" data-value="2026-11-03">'
        f"Offered shoes: {html.escape(note)}<br><small>2026-11-03 · Ava</small></td>"
    ) in page
    assert note not in page


def test_without_a_store_the_lists_have_no_action_columns(book):
    manifest = json.loads((book.second.directory / "manifest.json").read_text())
    slug = manifest["risk_lists"][0]["slug"]
    lists = book.second.directory / "risk_lists"
    assert "Last action" not in pd.read_csv(lists / f"{slug}.csv").columns
    page = (lists / f"{slug}.html").read_text()
    assert page.count('<td class="last-action"') == manifest["risk_lists"][0]["accounts"]
    assert '">–</td>' in page


def test_a_night_carries_the_score_history_and_says_what_changed(book):
    history = pd.read_parquet(book.second.directory / "history.parquet")
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    first, second = str(book.first.as_of.date()), str(book.second.as_of.date())
    assert list(history.columns) == [
        "account_id",
        f"probability_{first}",
        f"band_{first}",
        f"probability_{second}",
        f"band_{second}",
    ]
    assert history["account_id"].tolist() == explained["account_id"].tolist()
    assert np.allclose(history[f"probability_{second}"], explained["churn_probability"], atol=1e-6)
    assert (explained["compared_with"] == first).all()
    manifest = json.loads((book.second.directory / "manifest.json").read_text())
    slug = manifest["risk_lists"][0]["slug"]
    frame = pd.read_csv(book.second.directory / "risk_lists" / f"{slug}.csv")
    assert frame["What changed"].str.startswith(f"Since {first}: ").all()
    assert (frame["Compared with"] == first).all()
    assert set(frame["New on the list"]) <= {"yes", "no"}
    for cell in frame["Changes"]:
        for change in json.loads(cell):
            assert set(change) == {
                "feature",
                "previous_value",
                "value",
                "contribution_change",
                "text",
            }
    page = (book.second.directory / "risk_lists" / f"{slug}.html").read_text()
    assert page.count('<svg class="spark"') == len(frame)
    assert 'id="risk-filters"' in page and 'data-band-changed="' in page


def test_risk_list_csvs_carry_plain_text_no_spreadsheet_evaluates(book, tmp_path):
    import dataclasses

    accounts = book.tables.accounts.copy()
    accounts.loc[accounts.index[:40], "region"] = '=HYPERLINK("http://evil","x")'
    accounts.loc[accounts.index[40:80], "segment"] = 'A"quote <b>'
    tables = dataclasses.replace(book.tables, accounts=accounts)
    source = ChampionSource(tracking_uri=book.tracking_uri)
    result = run_nightly(tables, tmp_path / "nightly", source, as_of=book.second.as_of)
    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False)
        for path in sorted((result.directory / "risk_lists").glob("*.csv"))
    ]
    cells = pd.concat(frames)
    text = cells.select_dtypes(exclude="number").stack()
    assert not text.str.match(r"[=+@\t\r]|-(?![\d.])").any()
    assert (cells["Region"] == "'" + '=HYPERLINK("http://evil","x")').any()
    assert (cells["Segment"] == 'A"quote <b>').any()
    assert not text.str.contains("&quot;|&lt;|&#x27;|&amp;").any()
