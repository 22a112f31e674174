"""The risk-list pages served by the API: key handling, index, one manager's list, and the
form on every row that records an action."""

from __future__ import annotations

import html
import re

import httpx
import pandas as pd
import pytest

from kam_ml.nightly.slugs import manager_slugs
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
    html = client.get(f"/risk-lists/{_slug(manager)}").text  # by slug, never by name
    positions = [html.index(f'data-account="{a}"') for a in own["account_id"]]
    assert positions == sorted(positions)
    others = explained.loc[explained["manager"] != manager, "account_id"]
    assert not any(f'data-account="{a}"' in html for a in others.iloc[:50])
    assert 'id="portfolio-chart"' in html


def test_manager_page_names_offers_and_says_what_their_percentage_means(client, book):
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    manager = explained["manager"].value_counts().index[0]
    html = client.get(f"/risk-lists/{_slug(manager)}").text
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


def _slug(name: str) -> str:
    return manager_slugs([name])[name]  # demo names never collide


def _row(page: str, account: str) -> str:
    start = page.index(f'data-account="{account}"')
    return page[start : page.index("</tr>", start)]


@pytest.fixture(scope="module")
def listed(book) -> tuple[str, list[str]]:
    """A manager with at least four accounts and them, from the second smallest list up
    (the browser tests use the biggest list)."""
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    counts = explained["manager"].value_counts()
    name = counts.loc[counts >= 4].index[-1]
    return name, sorted(explained.loc[explained["manager"] == name, "account_id"])


def test_every_row_has_a_form_posting_to_the_list_and_a_last_action_cell(client, listed):
    name, accounts = listed
    page = client.get(f"/risk-lists/{_slug(name)}").text
    assert '<th data-type="text">Last action</th>' in page
    for account in accounts:
        row = _row(page, account)
        assert f'<form class="action-form" method="post" action="/risk-lists/{_slug(name)}/' in row
        assert f'<input type="hidden" name="account_id" value="{account}">' in row
        assert '<option value="won_back">Won back</option>' in row
    assert '<datalist id="categories">' in page


def test_posting_the_form_records_the_action_and_returns_to_the_row(base_url, listed):
    name, accounts = listed
    account, slug = accounts[0], _slug(name)
    note = '<script>alert("x")</script> & co'
    with httpx.Client(base_url=base_url) as browser:
        browser.get(f"/risk-lists/{slug}?key={API_KEY}", follow_redirects=True)  # the cookie
        response = browser.post(
            f"/risk-lists/{slug}/actions",
            data={"account_id": account, "action": "called", "category": "", "note": note},
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"/risk-lists/{slug}#action-{account}"
        page = browser.get(f"/risk-lists/{slug}").text
        history = browser.get(f"/v1/accounts/{account}/actions").json()["actions"]
    row = _row(page, account)
    day = history[0]["recorded_at"][:10]
    assert f"Called: {html.escape(note)}<br><small>{day} · {html.escape(name)}</small>" in row
    assert f'data-value="{day}"' in row
    assert note not in page  # only escaped
    assert (history[0]["action"], history[0]["note"], history[0]["recorded_by"]) == (
        "called",
        note,
        name,  # the page records the list's manager
    )


def test_a_form_sent_twice_records_one_action_and_another_action_on_it_is_a_409(base_url, listed):
    name, accounts = listed
    account, slug = accounts[2], _slug(name)
    with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}) as browser:
        page = browser.get(f"/risk-lists/{slug}").text
        keys = re.findall(r'name="idempotency_key" value="([^"]+)"', _row(page, account))
        again = browser.get(f"/risk-lists/{slug}").text
        assert len(keys) == 1 and keys[0] not in again  # a new key per form rendered
        form = {"account_id": account, "action": "met", "idempotency_key": keys[0]}
        sent = [browser.post(f"/risk-lists/{slug}/actions", data=form) for _ in range(2)]
        assert [r.status_code for r in sent] == [303, 303]
        other = browser.post(f"/risk-lists/{slug}/actions", data={**form, "action": "lost"})
        assert other.status_code == 409 and "Reload the list" in other.text
        history = browser.get(f"/v1/accounts/{account}/actions").json()["actions"]
    assert [(a["action"], a["idempotency_key"]) for a in history] == [("met", keys[0])]


def test_a_bad_form_is_a_422_page_naming_the_field_and_linking_back(base_url, listed):
    name, accounts = listed
    slug = _slug(name)
    with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}) as browser:
        response = browser.post(
            f"/risk-lists/{slug}/actions",
            data={"account_id": accounts[1], "action": "offered", "category": ""},
        )
        assert response.status_code == 422
        assert "<strong>category</strong>" in response.text
        assert f'href="/risk-lists/{slug}"' in response.text
        unknown = browser.post(
            f"/risk-lists/{slug}/actions",
            data={"account_id": accounts[1], "action": "offered", "category": "yachts<"},
        )
        assert unknown.status_code == 422 and "yachts&lt;" in unknown.text
        assert browser.get(f"/v1/accounts/{accounts[1]}/actions").json()["actions"] == []


def test_the_form_needs_the_key_and_a_known_account(anonymous, base_url, listed):
    name, accounts = listed
    path = f"/risk-lists/{_slug(name)}/actions"
    body = {"account_id": accounts[2], "action": "met"}
    assert anonymous.post(path, data=body).status_code == 401
    with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}) as browser:
        response = browser.post(path, data=body | {"account_id": "NOPE-7"})
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "unknown account: NOPE-7"},
        )
        assert browser.post("/risk-lists/nobody/actions", data=body).status_code == 404


def test_an_oversized_or_garbled_form_records_nothing(base_url, listed):
    name, accounts = listed
    path = f"/risk-lists/{_slug(name)}/actions"
    with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}) as browser:
        huge = browser.post(
            path, data={"account_id": accounts[3], "action": "met", "note": "x" * 70_000}
        )
        assert huge.status_code == 422 and "The form is larger than 65,536 bytes." in huge.text
        garbled = browser.post(
            path,
            content=b"account_id=" + accounts[3].encode() + b"&action=%ff%fe",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert garbled.status_code == 422 and "<strong>action</strong>" in garbled.text
        assert browser.get(f"/v1/accounts/{accounts[3]}/actions").json()["actions"] == []
        emoji = "🙂" * 2000  # the longest note, and 24,000 bytes once percent-encoded
        whole = browser.post(path, data={"account_id": accounts[3], "action": "met", "note": emoji})
        assert whole.status_code == 303
        assert (
            browser.get(f"/v1/accounts/{accounts[3]}/actions").json()["actions"][0]["note"] == emoji
        )
