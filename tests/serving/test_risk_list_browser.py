"""The risk-list pages in a real headless Chromium (Debian's ``chromium``), served by uvicorn.

``--dump-dom`` gives the DOM after the page's scripts ran; sorting is driven through the
page's ``#sort=<column>`` links, which click the column header like a user would. The
action form is filled in, clicked and reloaded over the DevTools protocol (``cdp.Browser``).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from kam_ml.nightly.slugs import manager_slugs
from tests.serving.cdp import Browser
from tests.serving.conftest import API_KEY

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
)


def chromium(tmp_path: Path, *args: str) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def rows(dom: str) -> list[tuple[str, float]]:
    """(account, churn probability) of each risk-list row, in page order."""
    pattern = re.compile(
        r'<tr class="band-\w+" data-account="([^"]+)"[^>]*>(?:.*?<td[^>]*>.*?</td>){3}'
        r'\s*<td class="num" data-value="([^"]*)">',
        re.S,
    )
    return [(account, float(p)) for account, p in pattern.findall(dom)]


@pytest.fixture(scope="module")
def manager(book) -> tuple[str, pd.DataFrame]:
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    name = explained["manager"].value_counts().index[0]
    own = explained.loc[explained["manager"] == name]
    return name, own.sort_values(["revenue_at_risk", "account_id"], ascending=[False, True])


def test_index_page_loads_and_lists_the_managers(base_url, book, tmp_path):
    dom = chromium(tmp_path, "--dump-dom", f"{base_url}/risk-lists?key={API_KEY}")
    assert "<h1>Risk lists</h1>" in dom
    assert dom.count('<a href="/risk-lists/') == book.second.managers


def test_manager_page_shows_the_expected_accounts_in_rank_order(base_url, manager, tmp_path):
    name, own = manager
    slug = manager_slugs([name])[name]  # demo names never collide
    dom = chromium(tmp_path, "--dump-dom", f"{base_url}/risk-lists/{slug}?key={API_KEY}")
    assert f"<h1>{name}</h1>" in dom
    assert [a for a, _ in rows(dom)] == own["account_id"].tolist()
    assert 'id="portfolio-chart"' in dom


@pytest.mark.parametrize(("fragment", "descending"), [("#sort=3", False), ("#sort=3-desc", True)])
def test_clicking_a_column_header_sorts_the_list(base_url, manager, tmp_path, fragment, descending):
    name, own = manager
    slug = manager_slugs([name])[name]  # demo names never collide
    dom = chromium(tmp_path, "--dump-dom", f"{base_url}/risk-lists/{slug}?key={API_KEY}{fragment}")
    shown = rows(dom)
    assert sorted(a for a, _ in shown) == sorted(own["account_id"])
    probabilities = [p for _, p in shown]
    assert probabilities == sorted(probabilities, reverse=descending)
    assert 'aria-sort="descending"' in dom if descending else 'aria-sort="ascending"' in dom


def shown_rows(dom: str) -> list[str]:
    """The accounts of the rows the page's filters leave visible, in page order."""
    rows = re.findall(r'<tr class="band-\w+" data-account="([^"]+)"([^>]*)>', dom)
    return [account for account, attributes in rows if "hidden" not in attributes]


@pytest.mark.parametrize(
    ("fragment", "keep"),
    [
        ("#band=high", lambda own: own["risk_band"] == "high"),
        (
            "#band=medium&band-changed=1",
            lambda own: (
                (own["risk_band"] == "medium")
                & own["previous_risk_band"].notna()
                & (own["previous_risk_band"] != "medium")
            ),
        ),
        ("#new=1", lambda own: own["new_on_list"]),
    ],
)
def test_filtering_the_list_by_band_new_or_changed_band(
    base_url, manager, tmp_path, fragment, keep
):
    name, own = manager
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    dom = chromium(tmp_path, "--dump-dom", f"{base_url}/risk-lists/{slug}?key={API_KEY}{fragment}")
    assert 'id="risk-filters"' in dom
    expected = own.loc[keep(own), "account_id"].tolist()
    assert shown_rows(dom) == expected
    assert len(re.findall(r'<tr class="band-', dom)) == len(own)  # hidden, not removed
    if len(expected) < len(own):
        assert f"{len(expected)} of {len(own)} accounts shown" in dom


def test_a_screenshot_of_the_risk_list_is_taken(base_url, manager, tmp_path):
    name, _ = manager
    slug = manager_slugs([name])[name]  # demo names never collide
    shot = tmp_path / "risk-list.png"
    chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1400,1000",
        "--hide-scrollbars",
        f"{base_url}/risk-lists/{slug}?key={API_KEY}",
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered table, not a blank page
    keep = os.environ.get("KAM_SCREENSHOT_DIR")  # to look at it: KAM_SCREENSHOT_DIR=/tmp/shots
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "risk-list.png")


def test_recording_an_action_with_the_form_puts_it_on_the_row(base_url, book, manager, tmp_path):
    """Pick an action, type a category and a note, click Record; after the redirect and a
    reload, the row's last action is the one recorded, dated today (UTC)."""
    name, own = manager
    slug = manager_slugs([name])[name]  # demo names never collide
    account = str(own["account_id"].iloc[-1])  # the last row: the page must scroll to it
    category = str(pd.read_parquet(book.second.directory / "categories.parquet")["category"][0])
    note = "Met at the show <Paris> & liked the new line"
    form = f"#action-{account} form"
    with Browser(CHROMIUM, tmp_path / "profile-actions") as tab:
        tab.go(f"{base_url}/risk-lists/{slug}?key={API_KEY}")
        assert tab.evaluate("location.pathname") == f"/risk-lists/{slug}"
        tab.evaluate(
            f"(() => {{ const s = document.querySelector('{form} select[name=action]');"
            " s.value = 'offered'; s.dispatchEvent(new Event('change')); })()"
        )
        tab.type_into(f"{form} input[name=category]", category)
        tab.type_into(f"{form} input[name=note]", note)
        tab.click(f"{form} button", then_load=True)
        assert tab.evaluate("location.pathname + location.hash") == (
            f"/risk-lists/{slug}#action-{account}"
        )
        tab.reload()
        cell = tab.evaluate(f"document.getElementById('action-{account}').innerHTML")
        text = tab.evaluate(f"document.getElementById('action-{account}').innerText")
    today = str(dt.datetime.now(dt.UTC).date())
    assert cell.startswith(
        f"Offered {category}: {html.escape(note, quote=False)}<br><small>{today} · "
    )
    assert f"Offered {category}: {note}" in text
