"""The risk-list pages served by the API: key handling, index and one manager's list."""

from __future__ import annotations

import httpx
import pandas as pd

from tests.serving.conftest import API_KEY


def test_pages_need_a_key_and_a_key_in_the_url_becomes_a_cookie(anonymous, base_url):
    assert anonymous.get("/risk-lists").status_code == 401
    with httpx.Client(base_url=base_url, follow_redirects=True) as browser:
        page = browser.get(f"/risk-lists?key={API_KEY}")
        assert page.status_code == 200
        assert "key=" not in str(page.url)
        assert browser.get("/risk-lists").status_code == 200  # the cookie carries the key
    assert anonymous.get("/risk-lists?key=wrong").status_code == 401


def test_index_lists_every_manager_with_counts_and_links(client, book):
    manifest = book.second.directory / "manifest.json"
    managers = pd.read_json(manifest, typ="series")["risk_lists"]
    html = client.get("/risk-lists").text
    for manager in managers:
        assert f'href="/risk-lists/{manager["slug"]}"' in html
        assert f'data-value="{manager["accounts"]}"' in html


def test_manager_page_shows_that_managers_accounts_ranked_by_revenue_at_risk(client, book):
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    manager = explained["manager"].value_counts().index[0]
    own = explained.loc[explained["manager"] == manager].sort_values(
        "revenue_at_risk", ascending=False
    )
    html = client.get(f"/risk-lists/{manager}").text  # by name or by slug
    positions = [html.index(f'data-account="{a}"') for a in own["account_id"]]
    assert positions == sorted(positions)
    others = explained.loc[explained["manager"] != manager, "account_id"]
    assert not any(f'data-account="{a}"' in html for a in others.iloc[:50])
    assert 'id="portfolio-chart"' in html


def test_manager_page_names_offers_and_says_what_their_percentage_means(client, book):
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    manager = explained["manager"].value_counts().index[0]
    html = client.get(f"/risk-lists/{manager}").text
    assert (
        "Offers: the percentage is the chance the account buys this category in the next "
        "90 days." in html
    )
    own = explained.loc[explained["manager"] == manager]
    codes = {str(c) for offers in own["offers"] for c in offers}
    labels = {str(n) for names in own["offer_labels"] for n in names}
    assert labels and all("_" not in n and n[0].isupper() for n in labels)
    for label in labels:
        assert f"<li>{label} (" in html
    assert not any(f"<li>{code} (" in html for code in codes if "_" in code)


def test_unknown_manager_is_a_404(client):
    response = client.get("/risk-lists/nobody-at-all")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "unknown manager: nobody-at-all"},
    )
