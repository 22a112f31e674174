"""JSON feeds for CRMs: the managers, a manager's risk list and tonight's band changes.

The HTML risk lists are for people; a CRM that shows "your accounts at risk" or alerts on
"moved to high tonight" reads these. Lists are bounded (``limit``, ``offset``) and ranked
as the nightly ranks them, from indexes built once per night (``ServedSnapshot``).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from serving.deps import ApiKeyDep, SnapshotDep
from serving.errors import UnknownManager
from serving.schemas import BandChanges, ManagerList, RiskList

router = APIRouter(prefix="/v1", tags=["feeds"])

Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many accounts (1-1,000).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Skip this many first.")]


def _json(body: object) -> Response:
    return Response(json.dumps(body), media_type="application/json")


@router.get(
    "/risk-lists",
    response_model=ManagerList,
    operation_id="list_managers",
    summary="Every manager with counts by band and revenue at risk (tonight)",
)
async def list_managers(snapshot: SnapshotDep, _: ApiKeyDep) -> Response:
    keys = ("manager", "slug", "accounts", "high", "medium", "low", "revenue_at_risk")
    managers = [{k: m[k] for k in keys} for m in snapshot.managers]
    return _json({"as_of": snapshot.as_of, "managers": managers})


@router.get(
    "/risk-lists/{manager_slug}",
    response_model=RiskList,
    responses={404: {"description": "unknown manager: <slug>"}},
    operation_id="get_risk_list",
    summary="One manager's risk list as JSON, highest revenue at risk first",
)
async def get_risk_list(
    manager_slug: Annotated[str, Path(max_length=300, description="The manager's slug.")],
    snapshot: SnapshotDep,
    _: ApiKeyDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    summary = next((m for m in snapshot.managers if m["slug"] == manager_slug), None)
    if summary is None:
        raise UnknownManager(f"unknown manager: {manager_slug}")
    rows = snapshot.rows_by_manager.get(str(summary["manager"]), [])
    records = snapshot.records
    return _json(
        {
            "as_of": snapshot.as_of,
            "manager": summary["manager"],
            "slug": summary["slug"],
            "total": len(rows),
            "accounts": [records.record(i) for i in rows[offset : offset + limit]],
        }
    )


@router.get(
    "/band-changes",
    response_model=BandChanges,
    operation_id="list_band_changes",
    summary="Accounts whose risk band changed tonight, highest churn probability first",
)
async def list_band_changes(
    snapshot: SnapshotDep,
    _: ApiKeyDep,
    band: Annotated[
        Literal["low", "medium", "high"] | None, Query(description="Only those now in this band.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    c = snapshot.records.columns
    rows = [i for i in snapshot.band_change_rows if band is None or c["risk_band"][i] == band]
    changes = [
        {
            "account_id": c["account_id"][i],
            "manager": c["manager"][i],
            "previous_risk_band": c["previous_risk_band"][i],
            "risk_band": c["risk_band"][i],
            "previous_probability": c["previous_probability"][i],
            "churn_probability": c["churn_probability"][i],
            "compared_with": c["compared_with"][i],
            "what_changed": c["what_changed"][i],
        }
        for i in rows[offset : offset + limit]
    ]
    return _json({"as_of": snapshot.as_of, "total": len(rows), "changes": changes})
