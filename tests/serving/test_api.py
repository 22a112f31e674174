"""The scoring API over HTTP against a real uvicorn server (see conftest)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.serving.conftest import API_KEY, OTHER_KEY


@pytest.fixture(scope="module")
def scores(book) -> pd.DataFrame:
    return pd.read_parquet(book.second.directory / "scores.parquet")


def test_health_and_ready_need_no_key_and_report_versions_and_date(anonymous, book):
    assert anonymous.get("/health").json() == {"status": "ok"}
    ready = anonymous.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["snapshot_as_of"] == str(book.second.as_of.date())
    assert body["model_versions"]["churn"] == "1"
    assert body["snapshot_accounts"] == book.second.accounts
    assert body["models_trained_as_of"]["churn"] == str(book.second.as_of.date())


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("post", "/v1/scores", {"account_ids": ["x"]}), ("get", "/v1/accounts/x", None)],
)
def test_requests_without_or_with_a_wrong_key_get_401(anonymous, method, path, body):
    kwargs = {"json": body} if body else {}
    missing = getattr(anonymous, method)(path, **kwargs)
    wrong = getattr(anonymous, method)(path, headers={"X-API-Key": "nope"}, **kwargs)
    assert (missing.status_code, missing.json()) == (401, {"detail": "missing API key"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "invalid API key"})


def test_every_configured_key_is_accepted(anonymous, scores):
    account = scores["account_id"].iloc[0]
    for key in (API_KEY, OTHER_KEY):
        assert (
            anonymous.get(f"/v1/accounts/{account}", headers={"X-API-Key": key}).status_code == 200
        )


def test_account_lookup_returns_the_nightly_score_explained(client, scores, book):
    row = scores.sort_values("churn_probability").iloc[-1]  # a high-risk account
    body = client.get(f"/v1/accounts/{row['account_id']}").json()
    assert body["churn_probability"] == pytest.approx(row["churn_probability"], abs=1e-6)
    assert body["risk_band"] == row["risk_band"] == "high"
    assert [r["text"] for r in body["reasons"]] == list(row["reasons"])
    assert body["reasons"], "a high-risk account has reasons"
    first = body["reasons"][0]
    assert set(first["average_by_band"]) == {"low", "medium", "high"}
    assert body["model_versions"] == {"churn": "1", "offers": "1", "value": "1"}
    assert body["offers"] and {"category", "label", "score", "reason"} <= set(body["offers"][0])
    # the CRM matches on the code; people read the label
    assert all(o["label"] == o["category"].replace("_", " ").capitalize() for o in body["offers"])
    assert body["expected_value_12m"] > 0
    assert body["features_as_of"] == str(book.second.as_of.date())
    assert body["revenue_at_risk"] > 0
    assert body["source"] == "nightly"


def test_batch_reports_unknown_ids_without_failing_the_rest(client, scores):
    known = scores["account_id"].iloc[:3].tolist()
    response = client.post("/v1/scores", json={"account_ids": [known[0], "NOPE-1", *known[1:]]})
    assert response.status_code == 200
    body = response.json()
    assert [s["account_id"] for s in body["scores"]] == known
    assert body["unknown_account_ids"] == ["NOPE-1"]


def test_unknown_account_is_a_404_with_a_stable_detail(client):
    response = client.get("/v1/accounts/NOPE-1")
    assert (response.status_code, response.json()) == (404, {"detail": "unknown account: NOPE-1"})


def test_a_batch_of_1000_is_served_and_1001_is_refused(client, scores):
    ids = (scores["account_id"].tolist() * 2)[:1000]
    assert len(client.post("/v1/scores", json={"account_ids": ids}).json()["scores"]) == 1000
    response = client.post("/v1/scores", json={"account_ids": ids + ["one-more"]})
    assert response.status_code == 422
    [problem] = response.json()["errors"]
    assert (problem["field"], problem["rule"]) == ("account_ids", "too_long")
    assert response.json()["detail"].startswith("account_ids: List should have at most 1000")


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"account_ids": []}, "account_ids", "too_short"),
        ({}, "account_ids", "missing"),
        ({"account_ids": "A1"}, "account_ids", "list_type"),
        ({"account_ids": [1]}, "account_ids.0", "string_type"),
        ({"account_ids": ["A1"], "extra": 1}, "extra", "extra_forbidden"),
    ],
)
def test_bad_bodies_get_422_naming_the_field_and_the_rule(client, body, field, rule):
    response = client.post("/v1/scores", json=body)
    assert response.status_code == 422
    problems = response.json()["errors"]
    assert {"field": field, "rule": rule} in [
        {"field": p["field"], "rule": p["rule"]} for p in problems
    ]
    assert all(p["message"] for p in problems)


def test_malformed_json_is_a_422_not_a_500(client):
    response = client.post(
        "/v1/scores", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "json_invalid"


def test_from_history_equals_the_nightly_score_for_the_same_history(client, scores, history_of):
    picked = scores.sort_values("churn_probability").iloc[[0, len(scores) // 2, -1]]
    for account in picked["account_id"]:
        nightly = client.get(f"/v1/accounts/{account}").json()
        response = client.post("/v1/scores/from-history", json=history_of(account))
        assert response.status_code == 200, response.text
        fresh = response.json()
        assert fresh["source"] == "history"
        assert fresh["churn_probability"] == pytest.approx(nightly["churn_probability"], abs=1e-9)
        for field in (
            "risk_band",
            "reasons",
            "reason_details",
            "offers",
            "expected_value_12m",
            "revenue_at_risk",
            "features_as_of",
        ):
            assert fresh[field] == nightly[field], field


def test_from_history_names_the_broken_contract_rule(client, scores, history_of):
    body = history_of(scores["account_id"].iloc[0])
    body["orders"][0]["amount"] = -5.0
    response = client.post("/v1/scores/from-history", json=body)
    assert response.status_code == 422
    assert "orders.amount must be >= 0: 1 row breaks it" in response.json()["detail"]


def test_from_history_of_an_inactive_account_is_a_422_saying_so(client, scores, history_of):
    body = history_of(scores["account_id"].iloc[0])
    body["account"]["signup_date"] = "2014-06-01"
    body["interactions"] = []
    for order in body["orders"]:  # every order years before the snapshot's date
        order.update(order_date="2015-01-15T00:00:00", returned=False, return_date=None)
    response = client.post("/v1/scores/from-history", json=body)
    assert response.status_code == 422
    assert "is not active at" in response.json()["detail"]


def test_from_history_at_another_date_than_the_night_is_a_422_saying_why(
    client, scores, history_of
):
    body = history_of(scores["account_id"].iloc[0])
    body["as_of"] = "2040-01-01"
    response = client.post("/v1/scores/from-history", json=body)
    assert response.status_code == 422
    assert "is not the nightly snapshot's date" in response.json()["detail"]


def test_from_history_type_errors_name_the_row_and_field(client, scores, history_of):
    body = history_of(scores["account_id"].iloc[0])
    body["orders"][1]["order_date"] = "yesterday"
    response = client.post("/v1/scores/from-history", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "orders.1.order_date"


def test_metrics_count_requests_and_expose_the_model_version(client, anonymous):
    client.get("/v1/accounts/NOPE-2")
    text = anonymous.get("/metrics").text
    assert (
        'kam_http_requests_total{method="GET",route="/v1/accounts/{account_id}",status="404"}'
        in text
    )
    assert "kam_http_request_duration_seconds_bucket" in text
    assert 'kam_model_info{model="churn",version="1"} 1.0' in text


def test_openapi_docs_describe_every_response_field(anonymous):
    assert anonymous.get("/docs").status_code == 200
    schemas = anonymous.get("/openapi.json").json()["components"]["schemas"]
    ours = [n for n in schemas if n not in ("HTTPValidationError", "ValidationError")]
    assert {"AccountScore", "ScoresResponse", "Reason", "HistoryRequest", "Readiness"} <= set(ours)
    for name in ours:
        for field, spec in schemas[name].get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/v1/accounts/%00%ff", {}),
        (
            "post",
            "/v1/scores",
            {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}},
        ),
        ("post", "/v1/scores/from-history", {"json": {"account": {}, "orders": []}}),
        ("post", "/v1/scores/from-history", {"json": []}),
        ("get", "/risk-lists/%2e%2e%2fmanifest.json", {}),
        ("put", "/v1/scores", {"json": {}}),
        (
            "post",
            "/v1/accounts/%00%ff/actions",
            {"content": b"\xff\xfe", "headers": {"content-type": "application/json"}},
        ),
        ("post", "/risk-lists/x%2f..%2f/actions", {"content": b"\xff\xfe%zz&&=="}),
    ],
)
def test_hostile_requests_never_get_a_500(client, method, path, kwargs):
    response = client.request(method.upper(), path, **kwargs)
    assert response.status_code < 500, response.text


def test_history_is_the_series_of_the_accounts_scores_across_nights(client, book):
    first = pd.read_parquet(book.first.directory / "explained.parquet").set_index("account_id")
    second = pd.read_parquet(book.second.directory / "explained.parquet").set_index("account_id")
    account = second.index[0]
    body = client.get(f"/v1/accounts/{account}/history").json()
    assert body["account_id"] == account
    assert [n["as_of"] for n in body["nights"]] == [
        str(book.first.as_of.date()),
        str(book.second.as_of.date()),
    ]
    for night, frame in zip(body["nights"], (first, second), strict=True):
        assert night["churn_probability"] == pytest.approx(
            frame.at[account, "churn_probability"], abs=1e-6
        )
        assert night["risk_band"] == frame.at[account, "risk_band"]
    assert client.get("/v1/accounts/NOPE-1/history").json() == {"detail": "unknown account: NOPE-1"}


def test_account_says_what_changed_since_the_night_compared_with(client, book):
    second = pd.read_parquet(book.second.directory / "explained.parquet")
    row = second.loc[second["changes"].map(len) > 0].iloc[0]
    body = client.get(f"/v1/accounts/{row['account_id']}").json()
    day = str(book.first.as_of.date())
    assert body["compared_with"] == day
    assert body["what_changed"].startswith(f"Since {day}: ")
    assert body["new_on_list"] is False
    assert body["previous_risk_band"] == row["previous_risk_band"]
    assert [c["feature"] for c in body["changes"]] == [c["feature"] for c in row["changes"]]
    assert body["moved_by"] == [
        {k: c[k] for k in ("feature", "text", "contribution_change")} for c in body["changes"]
    ]
    for change in body["changes"]:
        assert set(change) == {"feature", "previous_value", "value", "contribution_change", "text"}
        assert change["previous_value"] != change["value"]
