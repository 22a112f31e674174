"""The OpenAPI document as the API really answers: one error model for every non-2xx.

FastAPI documents a 422 as its own ``HTTPValidationError {detail: [{loc, msg, type}]}``, but
``serving.errors`` answers ``ErrorResponse {detail, errors}``; a client generated from the
default document crashed with ``KeyError: 'loc'`` on every 422. The errors that no route
raises itself (the key check and body limit of ``serving.guard``, the last-resort 503) are
not visible to FastAPI either. ``contract_openapi`` rewrites the generated document once:
every 4xx/5xx of every operation points at ``ErrorResponse``, and each operation lists the
statuses it can answer with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from serving.schemas import ErrorResponse

__all__ = ["install_contract_openapi"]

_REF = "#/components/schemas/ErrorResponse"
_DEFAULT_ERRORS = ("HTTPValidationError", "ValidationError")
# what an operation with the API key can answer besides its own errors
_SECURED = {
    401: "Missing API key / invalid API key.",
    429: "Too many invalid API keys from this client (Retry-After).",
    503: "Not ready (no snapshot or models loaded), busy, or temporarily unable to serve.",
}
_WITH_BODY = {
    400: "The body is not parseable (e.g. not UTF-8).",
    413: "The body is larger than KAM_MAX_BODY_BYTES.",
}
_INVALID = "A field breaks a rule (every field named in `errors`), or a data-contract rule."


def install_contract_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the rewritten, cached document."""
    app.openapi = _builder(app)  # type: ignore[method-assign]


def _builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = contract_document(document)
        return app.openapi_schema

    return openapi


def contract_document(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with ``ErrorResponse`` on every error answer (changed in place)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorResponse"] = error_schema
    for name in _DEFAULT_ERRORS:
        schemas.pop(name, None)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            _document_errors(operation)
    return document


def _document_errors(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    added: dict[int, str] = {}
    if operation.get("security"):
        added |= _SECURED
    if "requestBody" in operation:
        added |= _WITH_BODY
    if "requestBody" in operation or operation.get("parameters"):
        added[422] = _INVALID
    for code, description in added.items():
        responses.setdefault(str(code), {"description": description})
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        content = response.get("content", {}).get("application/json", {})
        ref = content.get("schema", {}).get("$ref", "")
        if not content or ref.endswith(_DEFAULT_ERRORS):
            response["content"] = {"application/json": {"schema": {"$ref": _REF}}}
