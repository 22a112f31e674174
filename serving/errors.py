"""Domain errors of the API and the one place they become HTTP responses.

Every ``detail`` string here is stable (tests and clients match on it)::

    ServingError                 -> its status, {"detail": message}
    ├── NotAuthenticated   401   "missing API key" / "invalid API key"
    ├── NotReady           503   "not ready: no nightly snapshot loaded" / "...models..."
    │   └── ActionsUnavailable 503 "actions store unavailable" (logged with the cause)
    ├── UnknownAccount     404   "unknown account: <id>"
    ├── UnknownManager     404   "unknown manager: <name>"
    ├── UnknownPage        404   "unknown page: <path>" (a file of the night not served)
    └── InvalidHistory     422   the data-contract message (table, column, rule, rows)
    KamMLError (from the library) -> 422 with its message (bad input reached the library)
    RequestValidationError        -> 422 {"detail": [{"field", "rule", "message", "input"}]}
    anything else                 -> 503 "temporarily unable to serve" (never a bare 500)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from kam_ml.errors import KamMLError

__all__ = [
    "ActionsUnavailable",
    "InvalidHistory",
    "NotAuthenticated",
    "NotReady",
    "ServingError",
    "UnknownAccount",
    "UnknownManager",
    "UnknownPage",
    "install_error_handlers",
]

logger = logging.getLogger("serving")


class ServingError(Exception):
    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotAuthenticated(ServingError):
    status_code = 401


class NotReady(ServingError):
    status_code = 503


class ActionsUnavailable(NotReady):
    pass


class UnknownAccount(ServingError):
    status_code = 404


class UnknownManager(ServingError):
    status_code = 404


class UnknownPage(ServingError):
    status_code = 404


class InvalidHistory(ServingError):
    status_code = 422


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServingError)
    async def serving_error(_: Request, error: ServingError) -> JSONResponse:
        headers = {"WWW-Authenticate": "APIKey"} if error.status_code == 401 else None
        return JSONResponse({"detail": error.detail}, error.status_code, headers=headers)

    @app.exception_handler(KamMLError)
    async def library_error(_: Request, error: KamMLError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, 422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_problem(e) for e in error.errors()]}, 422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "temporarily unable to serve"}, 503)


def _problem(error: Mapping[str, Any]) -> dict[str, Any]:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    value = error.get("input")
    return {
        "field": ".".join(location) or "body",
        "rule": error.get("type", "invalid"),
        "message": error.get("msg", ""),
        "input": value if isinstance(value, str | int | float | bool | None) else None,
    }
