"""The JSON feeds: managers, a manager's risk list, tonight's band changes."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def explained(book) -> pd.DataFrame:
    return pd.read_parquet(book.second.directory / "scores.parquet")


def test_managers_and_a_risk_list_ranked_by_revenue_at_risk(client, book):
    managers = client.get("/v1/risk-lists").json()
    assert managers["as_of"] == str(book.second.as_of.date())
    first = managers["managers"][0]
    listed = client.get(f"/v1/risk-lists/{first['slug']}", params={"limit": 5}).json()
    assert listed["manager"] == first["manager"] and listed["total"] == first["accounts"]
    assert len(listed["accounts"]) == min(5, first["accounts"])
    risks = [a["revenue_at_risk"] or 0.0 for a in listed["accounts"]]
    assert risks == sorted(risks, reverse=True)
    assert {a["manager"] for a in listed["accounts"]} == {first["manager"]}
    rest = client.get(f"/v1/risk-lists/{first['slug']}", params={"limit": 5, "offset": 5}).json()
    shown = [a["account_id"] for a in listed["accounts"] + rest["accounts"]]
    assert len(set(shown)) == len(shown)


def test_an_unknown_manager_is_a_404_naming_it(client):
    response = client.get("/v1/risk-lists/nobody-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown manager: nobody-here"}


def test_band_changes_are_the_accounts_whose_band_moved(client, explained):
    ids = explained["account_id"].tolist()[:1000]
    scores = client.post("/v1/scores", json={"account_ids": ids}).json()["scores"]
    moved = pd.DataFrame(
        [s for s in scores if s["previous_risk_band"] not in (None, s["risk_band"])],
        columns=["account_id", "risk_band"],
    )
    body = client.get("/v1/band-changes", params={"limit": 1000}).json()
    assert body["total"] == len(moved) > 0
    assert {c["account_id"] for c in body["changes"]} == set(moved["account_id"])
    for change in body["changes"]:
        assert change["previous_risk_band"] != change["risk_band"]
    high = client.get("/v1/band-changes", params={"band": "high"}).json()
    assert all(c["risk_band"] == "high" for c in high["changes"])
    assert high["total"] == int((moved["risk_band"] == "high").sum())


def test_feed_limits_are_bounded(client):
    assert client.get("/v1/band-changes", params={"limit": 1001}).status_code == 422
    assert client.get("/v1/band-changes", params={"band": "purple"}).status_code == 422
