"""The OpenAPI document is the contract a generated client relies on: one error model,
an apiKey security scheme, readable operation ids, and ids with ``/`` routed."""

from __future__ import annotations

import json
import re

import pytest

ERROR_REF = "#/components/schemas/ErrorResponse"


@pytest.fixture
def document(anonymous) -> dict:
    return anonymous.get("/openapi.json").json()


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_error_answer_is_documented_as_the_one_error_model(document):
    assert "HTTPValidationError" not in json.dumps(document)
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")) and path != "/ready":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)


def test_the_api_key_is_a_security_scheme_on_every_v1_operation(document):
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key from KAM_API_KEYS.",
    }
    for path, method, operation in _operations(document):
        if path.startswith("/v1/"):
            assert operation["security"] == [{"ApiKey": []}], (method, path)
            assert {"401", "429", "503"} <= set(operation["responses"]), (method, path)
            assert not any(
                p["name"].lower() == "x-api-key" for p in operation.get("parameters", [])
            )


def test_operation_ids_are_readable(document):
    ids = {(m, p): o["operationId"] for p, m, o in _operations(document)}
    assert ids[("post", "/v1/scores")] == "score_accounts"
    assert ids[("post", "/v1/scores/from-history")] == "score_history"
    assert ids[("get", "/v1/accounts/{account_id}")] == "get_account"
    assert all("_v1_" not in i and not i.endswith(("_get", "_post")) for i in ids.values())


def test_html_pages_are_not_in_the_json_contract(document):
    assert not any(p.startswith(("/risk-lists", "/portfolio")) for p in document["paths"])


def test_a_validation_422_names_each_field_in_errors(client):
    response = client.post("/v1/scores", json={"account_ids": [], "extra": 1})
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and "(and 1 more)" in body["detail"]
    assert {(e["field"], e["rule"]) for e in body["errors"]} == {
        ("account_ids", "too_short"),
        ("extra", "extra_forbidden"),
    }


@pytest.mark.parametrize("path", ["/v1/accounts/A%2F1", "/v1/accounts/A/1"])
def test_an_account_id_with_a_slash_reaches_the_route(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown account: A/1"}
    history = client.get(f"{path}/history")
    assert history.json() == {"detail": "unknown account: A/1"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_and_every_asset_they_load_come_from_this_server(anonymous, page):
    response = anonymous.get(page)
    assert response.status_code == 200
    html = response.text
    assert "cdn." not in html and "googleapis" not in html and "https://" not in html
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert anonymous.get(asset).status_code == 200, asset
    assert anonymous.get("/openapi.json").status_code == 200


def test_the_documented_examples_follow_the_contract(client, document):
    schemas = document["components"]["schemas"]
    [history] = schemas["HistoryRequest"]["examples"]
    scored = client.post("/v1/scores/from-history", json=history)
    assert scored.status_code == 200, scored.text
    assert scored.json()["account_id"] == history["account"]["account_id"]
    assert len({o["order_id"] for o in history["orders"]}) < len(history["orders"])
    assert any(o.get("returned") for o in history["orders"])
    ids = schemas["ScoresRequest"]["properties"]["account_ids"]["examples"][0]
    assert client.post("/v1/scores", json={"account_ids": ids}).status_code == 200
    [action] = schemas["ActionIn"]["examples"]
    recorded = client.post(f"/v1/accounts/{ids[0]}/actions", json=action)
    assert recorded.status_code in (201, 404, 503), recorded.text


def test_as_of_other_than_the_snapshot_date_is_a_422_naming_the_allowed_date(client, document):
    history = document["components"]["schemas"]["HistoryRequest"]["examples"][0]
    as_of = client.get("/ready").json()["snapshot_as_of"]
    response = client.post("/v1/scores/from-history", json={**history, "as_of": "2026-09-30"})
    assert response.status_code == 422
    assert f"is not the nightly snapshot's date {as_of}" in response.json()["detail"]
    assert response.json().get("errors") is None
