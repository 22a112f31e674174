"""One night's pages read as one product: the index, every manager's list and the portfolio
link to each other, on disk and through the API; the CSV carries the structured reasons;
the Excel lists print landscape with whole headers; the value tiers name their ranges."""

from __future__ import annotations

import json
import posixpath
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from kam_ml.nightly.risk_lists import DETAILS_HEADER
from kam_ml.scoring.explained import REASON_DETAIL_FIELDS


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "img" and values.get("src"):
            self.images.append(str(values["src"]))


def links(page: Path) -> tuple[list[str], list[str]]:
    parser = _Links()
    parser.feed(page.read_text("utf-8"))
    return parser.hrefs, parser.images


def resolve(page: Path, href: str, night: Path) -> str:
    """``href`` of ``page`` as a path relative to the night folder."""
    here = posixpath.dirname(page.relative_to(night).as_posix())
    return posixpath.normpath(posixpath.join(here, href))


def test_every_page_links_to_the_others_and_every_link_is_a_file_of_the_night(book):
    night = book.second.directory
    manifest = json.loads((night / "manifest.json").read_text())
    index, portfolio = night / "risk_lists" / "index.html", night / "portfolio" / "portfolio.html"
    lists = [night / "risk_lists" / f"{m['slug']}.html" for m in manifest["risk_lists"]]
    targets: dict[Path, set[str]] = {}
    for page in [index, portfolio, *lists]:
        hrefs, images = links(page)
        resolved = {resolve(page, h, night) for h in hrefs}
        for target in resolved | {resolve(page, i, night) for i in images}:
            assert (night / target).is_file(), f"{page.name} links to missing {target}"
        targets[page] = resolved
    assert {f"risk_lists/{p.name}" for p in lists} | {"portfolio/portfolio.html"} <= targets[index]
    assert "risk_lists/index.html" in targets[portfolio]
    for page in lists:
        assert {"risk_lists/index.html", "portfolio/portfolio.html"} <= targets[page]
        slug = page.stem
        assert {f"risk_lists/{slug}.xlsx", f"risk_lists/{slug}.csv"} <= targets[page]


def test_the_api_serves_the_same_pages_and_their_links_resolve_there(client, book):
    manifest = json.loads((book.second.directory / "manifest.json").read_text())
    slug = manifest["risk_lists"][0]["slug"]
    index = client.get("/risk-lists")
    assert 'href="../portfolio/portfolio.html"' in index.text
    # a relative link resolves against the page's URL, as a browser does
    portfolio = client.get(str(index.url.join("../portfolio/portfolio.html")))
    assert portfolio.status_code == 200 and "<h1>Portfolio summary</h1>" in portfolio.text
    assert 'href="/risk-lists"' in portfolio.text  # pointed at the API's index
    hrefs = _Links()
    hrefs.feed(portfolio.text)
    for src in hrefs.images + [h for h in hrefs.hrefs if not h.startswith("/")]:
        assert client.get(str(portfolio.url.join(src))).status_code == 200, src
    page = client.get(f"/risk-lists/{slug}")
    for href in ("index.html", "../portfolio/portfolio.html", f"{slug}.xlsx", f"{slug}.csv"):
        assert f'href="{href}"' in page.text
        response = client.get(str(page.url.join(href)), follow_redirects=True)
        assert response.status_code == 200, href
    csv = client.get(f"/risk-lists/{slug}.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content == (book.second.directory / "risk_lists" / f"{slug}.csv").read_bytes()


def test_the_api_serves_no_other_file_of_the_night(client, anonymous):
    assert anonymous.get("/portfolio/portfolio.html").status_code == 401
    for name in ("..%2Fmanifest.json", ".hidden.png", "missing.png", "plots.parquet"):
        response = client.get(f"/portfolio/{name}")
        assert response.status_code == 404, name
    assert client.get("/portfolio/missing.png").json() == {
        "detail": "unknown page: portfolio/missing.png"
    }


def test_the_csv_carries_the_structured_reasons_as_json(book):
    night = book.second.directory
    manifest = json.loads((night / "manifest.json").read_text())
    explained = pd.read_parquet(night / "explained.parquet").set_index("account_id")
    seen = 0
    for manager in manifest["risk_lists"][:5]:
        frame = pd.read_csv(night / "risk_lists" / f"{manager['slug']}.csv", dtype={"Account": str})
        for account, cell in zip(frame["Account"], frame[DETAILS_HEADER], strict=True):
            details = json.loads(cell)
            stored = list(explained.at[account, "reason_details"])
            assert [d["feature"] for d in details] == [d["feature"] for d in stored]
            for shown, kept in zip(details, stored, strict=True):
                assert set(shown) == set(REASON_DETAIL_FIELDS)
                assert shown["direction"] in ("high", "low") and shown["text"] == kept["text"]
                assert shown["contribution"] == kept["contribution"]
            seen += len(details)
    assert seen > 0


def test_the_excel_list_keeps_whole_headers_wraps_reasons_and_prints_landscape(book):
    manifest = json.loads((book.second.directory / "manifest.json").read_text())
    slug = manifest["risk_lists"][0]["slug"]
    sheet = load_workbook(book.second.directory / "risk_lists" / f"{slug}.xlsx")["Risk list"]
    for cell in sheet[1]:
        width = sheet.column_dimensions[cell.column_letter].width
        assert width >= len(str(cell.value)) + 2 or cell.alignment.wrap_text, cell.value
    headers = {c.value: c.column_letter for c in sheet[1]}
    reasons = headers["Reasons (account vs avg low / medium / high risk)"]
    assert sheet[f"{reasons}2"].alignment.wrap_text
    assert sheet[f"{headers['Offers']}2"].alignment.wrap_text
    accounts = [c.value for c in sheet[headers["Account"]][1:]]
    assert sheet.column_dimensions[headers["Account"]].width >= max(map(len, accounts))
    setup = sheet.page_setup
    assert (setup.orientation, setup.fitToWidth, setup.fitToHeight) == ("landscape", 1, 0)
    assert sheet.print_title_rows == "$1:$1"


def test_the_portfolio_labels_value_tiers_with_their_ranges(book):
    page = (book.second.directory / "portfolio" / "portfolio.html").read_text()
    for tier in ("Bottom 50% (&lt; ", "Next 30% (", "Top 20% (≥ "):
        assert f"<tr><td>{tier}" in page
    sheet = load_workbook(book.second.directory / "portfolio" / "portfolio.xlsx")
    tiers = [row[0] for row in sheet["Value x risk (accounts)"].iter_rows(values_only=True)]
    assert tiers[0] == "Value tier (revenue last 12m)"
    assert [t.split(" (")[0] for t in tiers[1:]] == ["Bottom 50%", "Next 30%", "Top 20%"]
