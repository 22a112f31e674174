"""schemathesis over every operation of the live server's OpenAPI document: no 5xx, and
every answer (errors included) has a documented status, content type and schema.

The loop over operations is written out (``get_all_operations`` + hypothesis) rather than
``schemathesis.pytest.from_fixture``, whose plugin does not run under this pytest."""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serving.conftest import API_KEY

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def test_every_operation_answers_as_documented(base_url: str) -> None:
    document = httpx.get(f"{base_url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(
                base_url=base_url, headers={"X-API-Key": API_KEY}, checks=CHECKS, timeout=30
            )

        check()
        tested.append(operation.label)
    assert len(tested) == sum(len(ops) for ops in document["paths"].values())
