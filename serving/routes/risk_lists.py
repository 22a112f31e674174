"""Risk-list web pages: /risk-lists (managers), /risk-lists/{manager} (the list; with
``.csv`` or ``.xlsx``, its download) and the form every row of a list posts to,
/risk-lists/{manager}/actions.

A manager is found by slug alone (the index links by slug; a slug never moves from night
to night, ``kam_ml.nightly.managers``).

Pages need an API key like the JSON API; a browser passes it once as ``?key=...`` and
gets it back as an HttpOnly, SameSite=Strict cookie, so links between pages and the forms
work (and another site cannot post a form with it).

A list is the nightly job's static page with each row's "Last action" cell filled live from
the actions store, with a plain HTML form to record the next action (no JavaScript): the
form posts here, the action is recorded as through the API, and the browser is sent back
to the row (303). Each form rendered carries a new idempotency key, so a form sent twice
(a double click, a resent request) records one action; the same form sent again with a
different action is refused (409 page).
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kam_ml.actions import (
    ACTION_LABELS,
    CATEGORY_MAX_LENGTH,
    NOTE_MAX_LENGTH,
    ActionStore,
    RecordedAction,
)
from kam_ml.errors import ActionStoreError
from kam_ml.nightly.risk_lists import PORTFOLIO_LINK, ManagerSummary, last_action_html
from kam_ml.nightly.snapshot import SnapshotFiles
from kam_ml.reporting.html import render
from serving.actions import record_action
from serving.deps import (
    ActionsDep,
    OptionalActionsDep,
    SnapshotDep,
    is_known_api_key,
    require_api_key,
)
from serving.errors import ActionKeyConflict, UnknownManager
from serving.schemas import ActionIn
from serving.state import ServedSnapshot

router = APIRouter(prefix="/risk-lists", tags=["risk lists"])
logger = logging.getLogger("serving")

KeyQuery = Annotated[
    str | None, Query(description="API key for browsers; stored in a cookie for later pages.")
]
# a row's "Last action" cell as kam_ml.nightly.risk_lists writes it
_ACTION_CELL = re.compile(
    r'<td class="last-action" id="action-([^"]*)" data-value="[^"]*">.*?</td>', re.S
)
_DOWNLOADS = {
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# a note of 2,000 four-byte characters is 24,000 bytes percent-encoded: room to spare
_MAX_FORM_BYTES = 65_536


def authorise(request: Request, key: str | None) -> Response | None:
    """With ``?key=`` valid: redirect to the same page without it, setting the cookie."""
    if key is not None and is_known_api_key(request, key):
        # a path, not an absolute URL: the Host header is the client's to choose
        rest = request.url.remove_query_params("key").query
        response = RedirectResponse(request.url.path + (f"?{rest}" if rest else ""), 303)
        response.set_cookie(
            "kam_api_key",
            key,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",  # behind TLS (or a proxy that says so)
        )
        return response
    require_api_key(request, request.headers.get("x-api-key"))
    return None


@router.get(
    "",
    response_class=HTMLResponse,
    include_in_schema=False,
    summary="Managers with counts and revenue at risk",
)
def index(request: Request, snapshot: SnapshotDep, key: KeyQuery = None) -> Response:
    redirect = authorise(request, key)
    if redirect is not None:
        return redirect
    managers = [ManagerSummary(**m) for m in snapshot.managers]
    html = render(
        "risk_index.html",
        managers=managers,
        as_of=snapshot.as_of,
        link_prefix="/risk-lists/",
        link_suffix="",
        portfolio_href=PORTFOLIO_LINK,
    )
    return HTMLResponse(html)


@router.get(
    "/{manager}",
    response_class=HTMLResponse,
    include_in_schema=False,
    summary="One manager's risk list",
)
def manager_page(
    manager: str,
    request: Request,
    snapshot: SnapshotDep,
    store: OptionalActionsDep,
    key: KeyQuery = None,
) -> Response:
    redirect = authorise(request, key)
    if redirect is not None:
        return redirect
    if manager in ("index", "index.html"):
        return RedirectResponse("/risk-lists", status_code=303)
    for suffix, media in _DOWNLOADS.items():
        if manager.endswith(suffix) and manager not in _known_slugs(snapshot):
            slug = _slug(snapshot, manager.removesuffix(suffix))
            path = snapshot.directory / SnapshotFiles.risk_list(slug, suffix)
            return FileResponse(path, media_type=media, filename=path.name)
    slug = _slug(snapshot, manager)
    page = (snapshot.directory / SnapshotFiles.risk_list(slug, ".html")).read_text("utf-8")
    return HTMLResponse(_with_actions(page, slug, snapshot, store))


@router.post(
    "/{manager}/actions",
    response_class=HTMLResponse,
    status_code=303,
    include_in_schema=False,
    summary="The risk list's form: record an action for one of its rows, then back to it",
)
async def post_action_form(
    manager: str, request: Request, snapshot: SnapshotDep, store: ActionsDep
) -> Response:
    key = require_api_key(request, request.headers.get("x-api-key"))
    slug = _slug(snapshot, manager)
    raw = await request.body()
    back = f"/risk-lists/{slug}"
    if len(raw) > _MAX_FORM_BYTES:  # refused whole: a cut note would be stored as if complete
        problem = ("form", f"The form is larger than {_MAX_FORM_BYTES:,} bytes.")
        page = render("action_error.html", problems=[problem], back=back, account=None)
        return HTMLResponse(page, status_code=422)
    fields = {
        name: values[0].strip() or None
        for name, values in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()
    }
    account_id = fields.pop("account_id", None) or ""
    fields.setdefault("manager", _manager_name(snapshot, slug))
    try:
        body = ActionIn.model_validate(
            {k: v for k, v in fields.items() if k in ActionIn.model_fields}
        )
        # blocking I/O off the event loop, as in the JSON route
        await run_in_threadpool(record_action, store, snapshot, account_id, body, key)
    except (ValidationError, RequestValidationError) as error:
        problems = [
            (".".join(str(p) for p in e["loc"] if p != "body") or "form", e["msg"])
            for e in error.errors()
        ]
        page = render("action_error.html", problems=problems, back=back, account=account_id)
        return HTMLResponse(page, status_code=422)
    except ActionKeyConflict:
        problem = (
            "form",
            "This form was sent before with another action. Reload the list to record a new one.",
        )
        page = render("action_error.html", problems=[problem], back=back, account=account_id)
        return HTMLResponse(page, status_code=409)
    return RedirectResponse(f"{back}#action-{quote(account_id)}", status_code=303)


def _slug(snapshot: ServedSnapshot, manager: str) -> str:
    """A manager's slug from their slug (with or without ``.html``); 404 if none.

    By slug only, never by name: slugs are stored identities (``OUT/managers.json``), and a
    name can spell another manager's slug ("aisha-silva" the person vs Aisha Silva's URL),
    so a name lookup could open the wrong manager's list."""
    known = _known_slugs(snapshot)
    for candidate in (manager, manager.removesuffix(".html")):
        if candidate in known:
            return candidate
    raise UnknownManager(f"unknown manager: {manager}")


def _known_slugs(snapshot: ServedSnapshot) -> set[str]:
    return {str(m["slug"]) for m in snapshot.managers}


def _manager_name(snapshot: ServedSnapshot, slug: str) -> str:
    return next(str(m["manager"]) for m in snapshot.managers if m["slug"] == slug)


def _with_actions(page: str, slug: str, snapshot: ServedSnapshot, store: ActionStore | None) -> str:
    """The static page with every row's last action read now and a form to add one."""
    accounts = [html.unescape(a) for a in _ACTION_CELL.findall(page)]
    if not accounts or store is None:  # a night from before actions, or no store: as it was
        return page
    try:
        last = store.last_actions(accounts)
    except ActionStoreError as error:  # the list is still worth reading without them
        logger.error("reading last actions failed: %s", error)
        last = {}
    target = html.escape(f"/risk-lists/{slug}/actions")

    def cell(match: re.Match[str]) -> str:
        account = html.unescape(match.group(1))
        return _action_cell(account, last.get(account), target)

    page = _ACTION_CELL.sub(cell, page)
    categories = sorted(snapshot.known_categories or ())
    options = "".join(f'<option value="{html.escape(c)}">' for c in categories)
    return page.replace("</body>", f'<datalist id="categories">{options}</datalist>\n</body>', 1)


def _action_cell(account: str, last: RecordedAction | None, target: str) -> str:
    escaped = html.escape(account)
    day = "" if last is None else str(last.recorded_at.date())
    options = "".join(
        f'<option value="{kind.value}">{label}</option>' for kind, label in ACTION_LABELS.items()
    )
    return (
        f'<td class="last-action" id="action-{escaped}" data-value="{day}">'
        f"{last_action_html(last)}"
        f'<form class="action-form" method="post" action="{target}">'
        f'<input type="hidden" name="account_id" value="{escaped}">'
        f'<input type="hidden" name="idempotency_key" value="{uuid.uuid4()}">'
        f'<select name="action" aria-label="Action" required>'
        f'<option value="">Action…</option>{options}</select>'
        f'<input name="category" list="categories" maxlength="{CATEGORY_MAX_LENGTH}"'
        f' placeholder="category" aria-label="Category">'
        f'<input name="note" maxlength="{NOTE_MAX_LENGTH}" placeholder="note"'
        f' aria-label="Note">'
        f'<button type="submit">Record</button></form></td>'
    )
