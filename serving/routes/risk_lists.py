"""Risk-list web pages: /risk-lists (managers) and /risk-lists/{manager} (the list).

Pages need an API key like the JSON API; a browser passes it once as ``?key=...`` and
gets it back as an HttpOnly cookie, so links between pages work.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from kam_ml.nightly.risk_lists import ManagerSummary
from kam_ml.nightly.snapshot import SnapshotFiles
from kam_ml.reporting.html import render
from serving.deps import SnapshotDep, is_known_api_key, require_api_key
from serving.errors import UnknownManager

router = APIRouter(prefix="/risk-lists", tags=["risk lists"])

KeyQuery = Annotated[
    str | None, Query(description="API key for browsers; stored in a cookie for later pages.")
]


def _authorise(request: Request, key: str | None) -> Response | None:
    """With ``?key=`` valid: redirect to the same page without it, setting the cookie."""
    if key is not None and is_known_api_key(request, key):
        response = RedirectResponse(request.url.remove_query_params("key"), status_code=303)
        response.set_cookie("kam_api_key", key, httponly=True, samesite="strict")
        return response
    require_api_key(request, request.headers.get("x-api-key"))
    return None


@router.get("", response_class=HTMLResponse, summary="Managers with counts and revenue at risk")
def index(request: Request, snapshot: SnapshotDep, key: KeyQuery = None) -> Response:
    redirect = _authorise(request, key)
    if redirect is not None:
        return redirect
    managers = [ManagerSummary(**m) for m in snapshot.managers]
    html = render(
        "risk_index.html",
        managers=managers,
        as_of=snapshot.as_of,
        link_prefix="/risk-lists/",
        link_suffix="",
    )
    return HTMLResponse(html)


@router.get("/{manager}", response_class=HTMLResponse, summary="One manager's risk list")
def manager_page(
    manager: str, request: Request, snapshot: SnapshotDep, key: KeyQuery = None
) -> Response:
    redirect = _authorise(request, key)
    if redirect is not None:
        return redirect
    if manager in ("index", "index.html"):
        return RedirectResponse("/risk-lists", status_code=303)
    slug = manager.removesuffix(".html")
    known = {m["slug"]: m for m in snapshot.managers}
    by_name = {m["manager"]: m["slug"] for m in snapshot.managers}
    slug = by_name.get(slug, slug)
    if slug not in known:
        raise UnknownManager(f"unknown manager: {manager}")
    page = snapshot.directory / SnapshotFiles.risk_list(slug, ".html")
    return FileResponse(page, media_type="text/html")
