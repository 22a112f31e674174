"""POST and GET /v1/accounts/{id}/actions over real HTTP: round trip, newest first, who
recorded it, 422 naming the field, 404 for an account not in the night, 401 without a key,
one action per idempotency key (header or body; 200 on a retry, 409 on a different action),
and a store on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading

import httpx
import pandas as pd
import pytest

from tests.serving.conftest import API_KEY, OTHER_KEY, running


@pytest.fixture(scope="module")
def accounts(book) -> list[str]:
    """Accounts of the served night, from the end of the id order (the page tests use others)."""
    explained = pd.read_parquet(book.second.directory / "explained.parquet")
    return sorted(explained["account_id"])[-12:]


@pytest.fixture(scope="module")
def category(book) -> str:
    return str(pd.read_parquet(book.second.directory / "categories.parquet")["category"].iloc[0])


def test_actions_round_trip_newest_first(client, accounts, category):
    account = accounts[0]
    before = dt.datetime.now(dt.UTC)
    bodies = [
        {"action": "called", "note": "No answer; left a voicemail.", "manager": "Ava Martínez"},
        {"action": "offered", "category": category, "note": "Liked it", "manager": "Ava Martínez"},
        {"action": "won_back"},
    ]
    recorded = []
    for body in bodies:
        response = client.post(f"/v1/accounts/{account}/actions", json=body)
        assert response.status_code == 201, response.text
        recorded.append(response.json())
    after = dt.datetime.now(dt.UTC)
    for body, out in zip(bodies, recorded, strict=True):
        assert out["account_id"] == account
        assert {k: out[k] for k in body} == body
        at = dt.datetime.fromisoformat(out["recorded_at"])
        assert at.utcoffset() == dt.timedelta(0) and before <= at <= after
    assert recorded[0]["recorded_by"] == "Ava Martínez"
    history = client.get(f"/v1/accounts/{account}/actions")
    assert history.status_code == 200
    assert history.json() == {"account_id": account, "actions": recorded[::-1]}


def test_without_a_manager_the_key_is_named_by_its_fingerprint_never_itself(anonymous, accounts):
    response = anonymous.post(
        f"/v1/accounts/{accounts[1]}/actions",
        json={"action": "met"},
        headers={"X-API-Key": OTHER_KEY},
    )
    assert response.status_code == 201, response.text
    expected = "API key " + hashlib.sha256(OTHER_KEY.encode()).hexdigest()[:8]
    assert response.json()["recorded_by"] == expected
    assert response.json()["manager"] is None
    assert OTHER_KEY not in response.text


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"action": "emailed"}, "action", "enum"),
        ({}, "action", "missing"),
        ({"action": "offered"}, "category", "value_error"),
        ({"action": "offered", "category": "no-such-category"}, "category", "unknown_category"),
        ({"action": "called", "note": "x" * 2001}, "note", "string_too_long"),
        ({"action": "called", "manager": ""}, "manager", "string_too_short"),
        ({"action": "called", "outcome": "saved"}, "outcome", "extra_forbidden"),
        ({"action": "called", "note": 5}, "note", "string_type"),
        ({"action": "called", "note": "bell\u0007"}, "note", "invalid_action"),
    ],
)
def test_a_bad_action_is_a_422_naming_the_field(client, accounts, body, field, rule):
    account = accounts[2]
    response = client.post(f"/v1/accounts/{account}/actions", json=body)
    assert response.status_code == 422, response.text
    problems = response.json()["errors"]
    assert [(p["field"], p["rule"]) for p in problems] == [(field, rule)]
    assert problems[0]["message"]
    assert client.get(f"/v1/accounts/{account}/actions").json()["actions"] == []


def test_an_unknown_category_names_it_and_some_known_ones(client, accounts, category):
    response = client.post(
        f"/v1/accounts/{accounts[2]}/actions",
        json={"action": "offered", "category": "yachts"},
    )
    (problem,) = response.json()["errors"]
    assert problem["field"] == "category"
    assert problem["message"].startswith("Category 'yachts' is not in tonight's catalogue of")


def test_a_note_of_exactly_2000_characters_is_kept_whole(client, accounts):
    note = "é" * 2000
    response = client.post(
        f"/v1/accounts/{accounts[3]}/actions", json={"action": "called", "note": note}
    )
    assert response.status_code == 201, response.text
    assert client.get(f"/v1/accounts/{accounts[3]}/actions").json()["actions"][0]["note"] == note


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_account_not_in_the_served_night_is_a_404(client, method):
    response = client.request(method, "/v1/accounts/NOPE-9/actions", json={"action": "called"})
    assert (response.status_code, response.json()) == (404, {"detail": "unknown account: NOPE-9"})


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_actions_need_a_key(anonymous, accounts, method):
    path = f"/v1/accounts/{accounts[4]}/actions"
    response = anonymous.request(method, path, json={"action": "called"})
    assert (response.status_code, response.json()) == (401, {"detail": "missing API key"})


def test_twenty_posts_at_once_are_all_kept(base_url, accounts):
    account, start, codes = accounts[5], threading.Barrier(20), []

    def post(i: int) -> None:
        with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=60) as http:
            start.wait()
            response = http.post(
                f"/v1/accounts/{account}/actions", json={"action": "called", "note": f"n{i}"}
            )
            codes.append(response.status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [201] * 20
    with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}) as http:
        actions = http.get(f"/v1/accounts/{account}/actions").json()["actions"]
    assert sorted(a["note"] for a in actions) == sorted(f"n{i}" for i in range(20))
    ids = [a["id"] for a in actions]
    times = [a["recorded_at"] for a in actions]
    assert sorted(zip(times, ids, strict=True), reverse=True) == list(zip(times, ids, strict=True))


def test_the_openapi_spec_documents_the_actions_routes(anonymous):
    spec = anonymous.get("/openapi.json").json()
    path = spec["paths"]["/v1/accounts/{account_id}/actions"]
    assert path["post"]["operationId"] == "record_action"
    assert path["get"]["operationId"] == "list_actions"
    assert {"200", "201", "401", "404", "409", "422", "503"} <= set(path["post"]["responses"])
    replayed = path["post"]["responses"]["200"]
    assert replayed["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ActionOut"
    }
    assert "Idempotent-Replayed" in replayed["headers"]
    (header,) = [p for p in path["post"]["parameters"] if p["in"] == "header"]
    assert (header["name"], header["schema"]["anyOf"][0]["maxLength"]) == ("Idempotency-Key", 255)
    action = spec["components"]["schemas"]["ActionIn"]["properties"]["action"]
    kinds = spec["components"]["schemas"][action["$ref"].rsplit("/", 1)[-1]]["enum"]
    assert kinds == ["called", "met", "offered", "won_back", "lost"]


def test_a_broken_store_is_a_503_and_the_list_still_shows(book, accounts, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings = book.settings(actions_url=f"sqlite:///{blocker}/actions.db")
    with (
        running(settings) as url,
        httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}) as http,
    ):
        response = http.post(f"/v1/accounts/{accounts[6]}/actions", json={"action": "called"})
        assert (response.status_code, response.json()) == (
            503,
            {"detail": "actions store unavailable"},
        )
        assert http.get(f"/v1/accounts/{accounts[6]}/actions").status_code == 503
        manager = json.loads((book.second.directory / "manifest.json").read_text())["risk_lists"]
        page = http.get(f"/risk-lists/{manager[0]['slug']}")
        assert page.status_code == 200 and 'class="action-form"' in page.text


def test_the_same_idempotency_key_twice_over_http_stores_one_action(client, accounts):
    account, key = accounts[7], "crm-activity-00017"
    path, body = f"/v1/accounts/{account}/actions", {"action": "called", "note": "retry me"}
    first = client.post(path, json=body, headers={"Idempotency-Key": key})
    again = client.post(path, json=body, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json() == first.json() and first.json()["idempotency_key"] == key
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    in_body = client.post(path, json={**body, "idempotency_key": key})  # the body's field
    assert (in_body.status_code, in_body.json()["id"]) == (200, first.json()["id"])
    assert client.get(path).json()["actions"] == [first.json()]


def test_a_used_key_with_a_different_action_is_a_409_and_stores_nothing(client, accounts):
    account, key = accounts[8], "crm-activity-00018"
    path = f"/v1/accounts/{account}/actions"
    first = client.post(path, json={"action": "met"}, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    other = client.post(path, json={"action": "lost"}, headers={"Idempotency-Key": key})
    assert other.status_code == 409
    assert other.json() == {
        "detail": f"idempotency key already used for action {first.json()['id']}, a "
        "different action: a retry repeats it exactly, a new action needs a new key"
    }
    assert client.get(path).json()["actions"] == [first.json()]


@pytest.mark.parametrize(
    ("headers", "body", "field", "rule"),
    [
        (
            {"Idempotency-Key": "a"},
            {"idempotency_key": "b"},
            "idempotency_key",
            "idempotency_key_mismatch",
        ),
        ({"Idempotency-Key": "k" * 256}, {}, "header.Idempotency-Key", "string_too_long"),
        ({}, {"idempotency_key": ""}, "idempotency_key", "string_too_short"),
        ({}, {"idempotency_key": "tab\there"}, "idempotency_key", "invalid_action"),
    ],
)
def test_a_bad_idempotency_key_is_a_422_naming_it(client, accounts, headers, body, field, rule):
    path = f"/v1/accounts/{accounts[9]}/actions"
    response = client.post(path, json={"action": "called", **body}, headers=headers)
    assert response.status_code == 422, response.text
    assert [(p["field"], p["rule"]) for p in response.json()["errors"]] == [(field, rule)]
    assert client.get(path).json()["actions"] == []


def test_eight_clients_racing_on_one_key_get_one_action(base_url, accounts):
    account, start, answers = accounts[10], threading.Barrier(8), []

    def post() -> None:
        with httpx.Client(base_url=base_url, headers={"X-API-Key": API_KEY}, timeout=60) as http:
            start.wait()
            response = http.post(
                f"/v1/accounts/{account}/actions",
                json={"action": "met", "note": "race"},
                headers={"Idempotency-Key": "race-1"},
            )
            answers.append((response.status_code, response.json()["id"]))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _ in answers) == [200] * 7 + [201]
    assert len({action_id for _, action_id in answers}) == 1


def test_actions_on_postgresql_through_the_api(book, accounts, postgres):
    url = postgres.create_database("actions_api")
    settings = book.settings(actions_url=url.replace("postgresql://", "postgresql+psycopg://"))
    with (
        running(settings) as base,
        httpx.Client(base_url=base, headers={"X-API-Key": API_KEY}) as http,
    ):
        path = f"/v1/accounts/{accounts[11]}/actions"
        first = http.post(path, json={"action": "met"}, headers={"Idempotency-Key": "pg-1"})
        again = http.post(path, json={"action": "met"}, headers={"Idempotency-Key": "pg-1"})
        plain = http.post(path, json={"action": "called", "note": "é ☎"})
        assert (first.status_code, again.status_code, plain.status_code) == (201, 200, 201)
        assert again.json() == first.json()
        assert http.get(path).json()["actions"] == [plain.json(), first.json()]
        manager = json.loads((book.second.directory / "manifest.json").read_text())["risk_lists"]
        assert http.get(f"/risk-lists/{manager[0]['slug']}").status_code == 200
