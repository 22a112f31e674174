"""What a request passes before a route reads it (``serving.guard``), on a real server:
the key before the body, the body and batch limits, the failed-key throttle, the history
concurrency limit, security headers, and errors that leave the connection usable."""

from __future__ import annotations

import logging

import httpx
import pandas as pd
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from serving.access_log import KeyRedactor
from serving.app import create_app
from serving.guard import PAGE_POLICY, FailedKeyThrottle, RequestGuard
from serving.settings import NO_KEYS
from tests.serving.conftest import API_KEY, running

HEADERS = {"X-API-Key": API_KEY, "content-type": "application/json"}


@pytest.fixture(scope="module")
def history(book, history_of) -> dict:
    """The from-history body of the night's first account."""
    scores = pd.read_parquet(book.second.directory / "scores.parquet")
    return history_of(scores["account_id"].iloc[0])


def test_a_body_without_a_key_is_refused_before_it_is_parsed(anonymous):
    # parsed first, this would be a 422 for the broken JSON
    response = anonymous.post(
        "/v1/scores", content=b'{"account_ids": [', headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()) == (401, {"detail": "missing API key"})
    wrong = anonymous.post("/v1/scores", content=b"{", headers={"X-API-Key": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"detail": "invalid API key"})


def test_bodies_over_the_limit_get_413_declared_or_streamed(book):
    with running(book.settings(max_body_bytes=4096)) as url, httpx.Client(base_url=url) as http:
        big = b'{"account_ids": ["' + b"x" * 10_000 + b'"]}'
        declared = http.post("/v1/scores", content=big, headers=HEADERS)
        assert declared.status_code == 413, declared.text
        assert "larger than 4,096 bytes" in declared.json()["detail"]
        streamed = http.post("/v1/scores", content=iter([big[:3000], big[3000:]]), headers=HEADERS)
        assert streamed.status_code == 413, streamed.text
        small = http.post("/v1/scores", json={"account_ids": ["x"]}, headers=HEADERS)
        assert small.status_code == 200  # the same connection still works


def test_the_batch_and_history_limits_from_the_settings_hold(book, history):
    settings = book.settings(max_batch=10, max_history_rows=5)
    with running(settings) as url, httpx.Client(base_url=url, headers=HEADERS) as http:
        batch = http.post("/v1/scores", json={"account_ids": [f"A{i}" for i in range(11)]})
        assert batch.status_code == 422
        assert "at most 10 ids per request (KAM_MAX_BATCH); got 11" in batch.json()["detail"]
        assert http.post("/v1/scores", json={"account_ids": ["A"] * 10}).status_code == 200
        rows = len(history["orders"]) + len(history["interactions"])
        assert rows > 5
        refused = http.post("/v1/scores/from-history", json=history)
        assert refused.status_code == 422
        detail = refused.json()["detail"]
        assert f"at most 5 rows per history (KAM_MAX_HISTORY_ROWS); got {rows}" in detail


def test_a_client_guessing_keys_is_refused_for_a_while_even_with_the_right_key(book):
    settings = book.settings(failed_key_limit=3, failed_key_window_seconds=300)
    with running(settings) as url, httpx.Client(base_url=url) as http:
        guesses = [
            http.get("/v1/accounts/x", headers={"X-API-Key": f"guess-{i}"}) for i in range(3)
        ]
        assert [g.status_code for g in guesses] == [401, 401, 401]
        refused = http.get("/v1/accounts/x", headers={"X-API-Key": API_KEY})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert http.post(
            "/v1/scores", json={"account_ids": ["x"]}, headers=HEADERS
        ).status_code == (429)
        assert "kam_failed_api_keys_total 3.0" in http.get("/metrics").text


def test_the_throttle_forgets_failures_that_left_the_window():
    now = [0.0]
    throttle = FailedKeyThrottle(limit=2, window_seconds=10, clock=lambda: now[0])
    throttle.record_failure("a")
    throttle.record_failure("a")
    assert throttle.retry_after("a") == 10 and throttle.retry_after("b") is None
    now[0] = 10.5
    assert throttle.retry_after("a") is None


def test_histories_beyond_the_concurrency_limit_get_503_with_retry_after(book, history):
    settings = book.settings(max_concurrent_histories=1)
    app = create_app(settings)
    body = history
    with running(settings, app=app) as url, httpx.Client(base_url=url, headers=HEADERS) as http:
        with app.state.history_slots.slot("histories"):  # another history is being scored
            busy = http.post("/v1/scores/from-history", json=body)
            lookup = http.post("/v1/scores", json={"account_ids": ["x"]})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert busy.json()["detail"].startswith("busy: 1 histories already being scored")
        assert lookup.status_code == 200  # lookups are not held up by the limit
        assert http.post("/v1/scores/from-history", json=body).status_code == 200


@pytest.mark.parametrize(
    "body",
    [b'{"account_ids": "\\ud800"}', b'{"account_ids": ["ok"], "x\\ud800": 1}', b'{"a": NaN}'],
)
def test_a_refused_body_gets_a_valid_422_and_the_connection_stays_usable(base_url, body):
    with httpx.Client(base_url=base_url, headers=HEADERS) as http:
        for _ in range(5):
            bad = http.post("/v1/scores", content=body)
            assert bad.status_code == 422, bad.text
            assert bad.json()["detail"]  # valid JSON, however odd the input
            assert http.post("/v1/scores", json={"account_ids": ["x"]}).status_code == 200


def test_an_unexpected_error_is_a_503_that_keeps_the_connection(book):
    async def broken(_):  # a route with a bug, behind the real guard
        raise RuntimeError("bug")

    guard = Middleware(RequestGuard, max_body_bytes=1024, check_key=lambda request: None)
    app = Starlette(routes=[Route("/v1/broken", broken)], middleware=[guard])  # as create_app
    with running(book.settings(), app=app) as url, httpx.Client(base_url=url) as http:
        for _ in range(5):
            response = http.get("/v1/broken")
            assert response.status_code == 503
            assert response.json() == {"detail": "temporarily unable to serve"}
        assert http.get("/v1/missing").status_code == 404  # same connection, next request


@pytest.mark.parametrize("path", ["/v1/accounts/x", "/risk-lists", "/ready"])
def test_answers_carry_security_headers_and_private_ones_are_never_cached(client, path):
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    private = path != "/ready"
    assert (headers.get("cache-control") == "no-store") is private
    assert (headers.get("content-security-policy") == PAGE_POLICY) is (path == "/risk-lists")


def test_the_login_redirect_ignores_the_host_header_and_marks_the_cookie_secure_over_https(
    anonymous,
):
    plain = anonymous.get(
        f"/risk-lists?key={API_KEY}&sort=risk",
        headers={"Host": "evil.example"},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == "/risk-lists?sort=risk"
    assert "secure" not in plain.headers["set-cookie"].lower()
    proxied = anonymous.get(
        f"/risk-lists?key={API_KEY}",
        headers={"X-Forwarded-Proto": "https"},  # uvicorn trusts proxy headers from loopback
        follow_redirects=False,
    )
    assert "secure" in proxied.headers["set-cookie"].lower()


def test_ready_shows_no_paths_or_exception_text_and_fails_without_keys(book, anonymous):
    assert "/" not in anonymous.get("/ready").json()["snapshot_directory"]
    with running(book.settings(api_keys=" , ")) as url:
        ready = httpx.get(f"{url}/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "not ready" and NO_KEYS in ready.json()["problems"]
    with running(book.settings(nightly_dir=book.root / "no-nights-here")) as url:
        empty = httpx.get(f"{url}/ready").json()
    assert empty["status"] == "not ready"
    assert empty["problems"] and not any(str(book.root) in p for p in empty["problems"])


def test_keys_in_query_strings_never_reach_the_access_log():
    assert any(isinstance(f, KeyRedactor) for f in logging.getLogger("uvicorn.access").filters)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', None, None
    )
    record.args = ("127.0.0.1:5", "GET", "/risk-lists?sort=x&key=s3cret&KEY=other", "1.1", 303)
    KeyRedactor().filter(record)
    line = record.getMessage()
    assert "s3cret" not in line and "other" not in line
    assert "/risk-lists?sort=x&key=***&KEY=***" in line
