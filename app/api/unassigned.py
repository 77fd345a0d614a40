"""Routes of the unassigned findings list and its three actions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from app.api.deps import CallerDep, ContextDep
from app.api.pagination import PageParams, links, page_params
from app.schemas import (
    AssignIn,
    AssignOut,
    Candidate,
    CreateProductIn,
    DisregardIn,
    DisregardOut,
    HostOut,
    Page,
    Reason,
    Severity,
    UnassignedFindingOut,
)
from app.services import unassigned as actions
from app.store import unassigned as store
from app.store.models import UnassignedFinding
from app.store.unassigned import UnassignedFilter

router = APIRouter(prefix="/api/v2/smart_upload/unassigned_findings", tags=["unassigned findings"])

Ordering = Literal[
    "severity",
    "-severity",
    "title",
    "-title",
    "date",
    "-date",
    "host",
    "-host",
    "port",
    "-port",
    "reason",
    "-reason",
    "reporter",
    "-reporter",
    "scan_type",
    "-scan_type",
    "id",
    "-id",
]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid selection"},
    401: {"description": "Missing or invalid DefectDojo token"},
    404: {"description": "Finding or product not found (or not yours)"},
}


async def filters(
    upload: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    scan_type: Annotated[str | None, Query(max_length=128)] = None,
    severity: Severity | None = None,
    host: Annotated[
        str | None, Query(max_length=255, description="Any identifier, substring")
    ] = None,
    reason: Reason | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    q: Annotated[
        str | None, Query(max_length=255, description="Keyword: title, host, description")
    ] = None,
) -> UnassignedFilter:
    """The list's filters (async: a plain function would run in a worker thread)."""
    return UnassignedFilter(
        upload=upload,
        scan_type=scan_type,
        severity=severity,
        host=host,
        reason=reason,
        date_from=date_from,
        date_to=date_to,
        q=q,
    )


def finding_out(row: UnassignedFinding) -> UnassignedFindingOut:
    return UnassignedFindingOut(
        id=row.id,
        upload_id=row.upload_id,
        title=row.title,
        severity=row.severity,
        scan_type=row.scan_type,
        date=row.date,
        reporter=row.reporter,
        host=HostOut(
            ip=row.host_ip, fqdn=row.host_fqdn, netbios=row.host_netbios, mac=row.host_mac
        ),
        port=row.port,
        protocol=row.protocol,
        reason=row.reason,
        candidates=[Candidate.model_validate(c) for c in row.candidates],
        explanation=row.explanation,
        vulnerability_ids=list(row.vulnerability_ids),
        scanner_id=row.scanner_id,
        error=row.error,
    )


class UnassignedPage(Page[UnassignedFindingOut]):
    """A page of the list; past 10,000 matching rows `count` is PostgreSQL's estimate."""

    count_is_estimate: bool = Field(
        False,
        description="True when `count` is an estimate (more than 10,000 rows match); "
        "`next` is exact either way",
    )


@router.get("/", response_model=UnassignedPage, summary="List unassigned findings")
async def list_unassigned(
    request: Request,
    ctx: ContextDep,
    caller: CallerDep,
    page: Annotated[PageParams, Depends(page_params)],
    selected: Annotated[UnassignedFilter, Depends(filters)],
    ordering: Ordering = "-severity",
) -> UnassignedPage:
    """Findings of your uploads that no product took yet (all of them for a superuser)."""
    async with ctx.sessions() as session:
        count, estimated, rows = await store.list_page_counted(
            session,
            filters=selected,
            owner_id=caller.owner_filter,
            ordering=ordering,
            limit=page.limit,
            offset=page.offset,
        )
    following, preceding = links(request, page, count)
    return UnassignedPage(
        count=count,
        next=following,
        previous=preceding,
        results=[finding_out(r) for r in rows],
        count_is_estimate=estimated,
    )


@router.post(
    "/assign/", response_model=AssignOut, summary="Assign to an existing product", responses=ERRORS
)
async def assign(body: AssignIn, ctx: ContextDep, caller: CallerDep) -> AssignOut:
    """Push the selected findings to a product and remember their hosts for it."""
    return await actions.assign(ctx, caller, body, body.product)


@router.post(
    "/create_product/",
    response_model=AssignOut,
    summary="Assign to a new product",
    responses=ERRORS,
)
async def create_product(body: CreateProductIn, ctx: ContextDep, caller: CallerDep) -> AssignOut:
    """Create a product in DefectDojo (and its product type when named and missing), then assign."""
    return await actions.create_product(ctx, caller, body)


@router.post(
    "/disregard/", response_model=DisregardOut, summary="Disregard findings", responses=ERRORS
)
async def disregard(body: DisregardIn, ctx: ContextDep, caller: CallerDep) -> DisregardOut:
    """Remove the selected findings without pushing them; a later upload shows them again."""
    return DisregardOut(disregarded=await actions.disregard(ctx, caller, body))
