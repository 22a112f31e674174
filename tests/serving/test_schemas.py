"""The API's JSON is what its schemas say: routes build it by hand (``json.dumps``, for
speed), so these tests are what keeps ``serving.schemas`` more than documentation."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import BaseModel

from serving.schemas import AccountScore, ActionHistory, ActionOut, ScoresResponse


@pytest.fixture(scope="module")
def account(book) -> str:
    scores = pd.read_parquet(book.second.directory / "scores.parquet")
    return str(scores.sort_values("churn_probability")["account_id"].iloc[-1])  # has reasons


def _exactly(schema: type[BaseModel], body: dict) -> None:
    """``body`` validates and is exactly what the schema would emit: no field missing, no
    extra field, no value the schema would change."""
    assert schema.model_validate(body).model_dump(mode="json") == body


def test_a_nightly_record_is_an_account_score(client, account):
    body = client.get(f"/v1/accounts/{account}").json()
    assert body["source"] == "nightly" and body["reasons"] and body["offers"]
    _exactly(AccountScore, body)


def test_a_batch_of_nightly_records_is_a_scores_response(client, account):
    body = client.post("/v1/scores", json={"account_ids": [account, "NOPE-1"]}).json()
    _exactly(ScoresResponse, body)


def test_a_from_history_record_is_an_account_score(client, account, history_of):
    response = client.post("/v1/scores/from-history", json=history_of(account))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "history"
    _exactly(AccountScore, body)


def test_reason_details_carry_the_peers_the_page_shows(client, account, book):
    body = client.get(f"/v1/accounts/{account}").json()
    details = body["reason_details"]
    assert [d["text"] for d in details] == [r["text"] for r in body["reasons"]]
    means = pd.read_parquet(book.second.directory / "band_means.parquet").set_index("feature")
    for detail, reason in zip(details, body["reasons"], strict=True):
        assert detail["feature"] == reason["feature"]
        assert detail["peer_low_risk"] == pytest.approx(means.at[detail["feature"], "low"])
        assert detail["peer_high_risk"] == pytest.approx(means.at[detail["feature"], "high"])
        assert detail["peer_low_risk"] == pytest.approx(reason["average_by_band"]["low"])
        assert detail["contribution"] > 0
        if detail["value"] is not None:
            above = detail["value"] > detail["peer_low_risk"]
            assert detail["direction"] == ("high" if above else "low")


def test_a_recorded_action_and_a_history_are_what_their_schemas_say(client, account):
    posted = client.post(
        f"/v1/accounts/{account}/actions",
        json={"action": "met", "note": "Lunch; wants the spring preview", "manager": "Ava"},
    )
    assert posted.status_code == 201, posted.text
    _exactly(ActionOut, posted.json())
    history = client.get(f"/v1/accounts/{account}/actions").json()
    _exactly(ActionHistory, history)
    assert history["actions"][0] == posted.json()
