"""A client generated from the live server's /openapi.json (openapi-python-client, as an
integrator would) calls every operation and parses every answer, a 404 and a 422 included:
the error model in the document is the one the server sends (no ``KeyError: 'loc'``)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.serving.conftest import API_KEY

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def kam_client(base_url: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"
    spec.write_text(httpx.get(f"{base_url}/openapi.json").text, "utf-8")
    config = root / "config.yml"  # no ruff post-hooks: the test needs nothing but the generator
    config.write_text("package_name_override: kam_client\npost_hooks: []\n", "utf-8")
    subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(root / "kam_client"),
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("kam_client")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "kam_client" or m.startswith("kam_client.")]:
            del sys.modules[name]


def _op(module: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"kam_client.api.{module}")


def test_a_generated_client_calls_every_operation(kam_client, base_url, book, history_of, request):
    models = importlib.import_module("kam_client.models")
    client = kam_client.AuthenticatedClient(
        base_url=base_url, token=API_KEY, prefix="", auth_header_name="X-API-Key"
    )
    request.addfinalizer(lambda: client.get_httpx_client().close())  # its pooled sockets
    account = str(pd.read_parquet(book.second.directory / "scores.parquet")["account_id"].iloc[0])

    scored = _op("scores.score_accounts").sync(
        client=client, body=models.ScoresRequest(account_ids=[account, "NOPE"])
    )
    assert [s.account_id for s in scored.scores] == [account]
    assert scored.unknown_account_ids == ["NOPE"]
    one = _op("scores.get_account").sync(client=client, account_id=account)
    assert one.account_id == account and isinstance(one.churn_probability, float)
    history = _op("scores.get_account_history").sync(client=client, account_id=account)
    assert history.nights
    from_history = _op("scores.score_history").sync(
        client=client, body=models.HistoryRequest.from_dict(history_of(account))
    )
    assert from_history.account_id == account
    recorded = _op("actions.record_action").sync_detailed(
        client=client, account_id=account, body=models.ActionIn(action=models.ActionKind.CALLED)
    )
    assert recorded.status_code in (201, 503)
    retried = [
        _op("actions.record_action").sync_detailed(
            client=client,
            account_id=account,
            body=models.ActionIn(action=models.ActionKind.MET),
            idempotency_key="generated-client-1",
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in retried] in ([201, 200], [503, 503])
    if retried[0].status_code == 201:  # the replay parses as the same action
        assert retried[1].parsed.id == retried[0].parsed.id
        assert retried[1].parsed.idempotency_key == "generated-client-1"
    listed = _op("actions.list_actions").sync_detailed(client=client, account_id=account)
    assert listed.status_code in (200, 503)
    managers = _op("feeds.list_managers").sync(client=client)
    slug = managers.managers[0].slug
    risk_list = _op("feeds.get_risk_list").sync(client=client, manager_slug=slug, limit=3)
    assert risk_list.slug == slug and len(risk_list.accounts) <= 3
    changes = _op("feeds.list_band_changes").sync(client=client, limit=5)
    assert changes.total >= len(changes.changes)
    assert _op("operations.get_health").sync_detailed(client=client).status_code == 200
    assert _op("operations.get_readiness").sync(client=client).status == "ready"
    assert _op("operations.get_metrics").sync_detailed(client=client).status_code == 200

    missing = _op("scores.get_account").sync(client=client, account_id="NOPE/1")
    assert isinstance(missing, models.ErrorResponse)
    assert missing.detail == "unknown account: NOPE/1"
    invalid = _op("scores.score_accounts").sync(
        client=client, body=models.ScoresRequest(account_ids=[])
    )
    assert isinstance(invalid, models.ErrorResponse)
    assert [(e.field, e.rule) for e in invalid.errors] == [("account_ids", "too_short")]
