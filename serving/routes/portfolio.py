"""The portfolio summary page served by the API: /portfolio/portfolio.html, its plots and its
Excel file, the nightly job's own files (keyed like the risk-list pages).

The portfolio page links to the risk lists' index relatively, as files on disk do
(``../risk_lists/index.html``); served here, that one link is pointed at ``/risk-lists``,
where the API serves the index. The risk-list pages reach this page with their own relative
link (``../portfolio/portfolio.html`` from ``/risk-lists`` and ``/risk-lists/<slug>``).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from kam_ml.nightly.snapshot import SnapshotFiles
from serving.deps import SnapshotDep
from serving.errors import UnknownPage
from serving.routes.risk_lists import KeyQuery, authorise

router = APIRouter(prefix="/portfolio", tags=["risk lists"])

PAGE = PurePosixPath(SnapshotFiles.PORTFOLIO_PAGE).name
_INDEX_ON_DISK = SnapshotFiles.link(SnapshotFiles.PORTFOLIO_PAGE, SnapshotFiles.RISK_LIST_INDEX)
_MEDIA = {".html": "text/html; charset=utf-8", ".png": "image/png"}
_MEDIA[".xlsx"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("", include_in_schema=False)
def portfolio_root() -> Response:
    return RedirectResponse(f"/portfolio/{PAGE}", status_code=303)


@router.get(
    "/{name}",
    include_in_schema=False,
    summary="The portfolio summary page, its plots and its Excel file",
)
def portfolio_file(
    name: str, request: Request, snapshot: SnapshotDep, key: KeyQuery = None
) -> Response:
    redirect = authorise(request, key)
    if redirect is not None:
        return redirect
    folder = snapshot.directory / SnapshotFiles.PORTFOLIO
    path = folder / name
    suffix = PurePosixPath(name).suffix
    # one level, a known kind and an existing file: nothing else of the night is reachable
    if name.startswith(".") or "/" in name or suffix not in _MEDIA or not path.is_file():
        raise UnknownPage(f"unknown page: portfolio/{name}")
    if name == PAGE:
        page = path.read_text("utf-8")
        return HTMLResponse(page.replace(f'href="{_INDEX_ON_DISK}"', 'href="/risk-lists"'))
    return FileResponse(
        path, media_type=_MEDIA[suffix], filename=name if suffix == ".xlsx" else None
    )
