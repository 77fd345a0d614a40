"""Routes of the unassigned findings list and its three actions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as FastApiPath
from fastapi.responses import JSONResponse
from pydantic import Field

from app.api.deps import CallerDep, ContextDep
from app.api.pagination import PageParams, links, page_params
from app.errors import BadRequest, NotFound
from app.schemas import (
    ActionJobOut,
    AssignIn,
    AssignOut,
    CreateProductIn,
    DisregardIn,
    DisregardOut,
    Page,
    Reason,
    Severity,
    UnassignedFindingOut,
)
from app.services import action_jobs
from app.services.action_jobs import Queued
from app.store import actions as jobs
from app.store import unassigned as store
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
    for name, value in (("scan_type", scan_type), ("host", host), ("q", q)):
        if value is not None and "\x00" in value:
            raise BadRequest(
                f"the {name} filter cannot be used: it holds a NUL character, which "
                "PostgreSQL text cannot hold"
            )
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


_encode = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, allow_nan=False, separators=(",", ":")
).encode


def page_json(
    *,
    count: int,
    following: str | None,
    preceding: str | None,
    rows: Sequence[Sequence[Any]],
    estimated: bool,
) -> bytes:
    """A page of the list as `UnassignedPage`'s JSON, byte for byte, from rows of the
    store's LIST_COLUMNS: without building, validating and serialising a pydantic model per
    finding, the list's most frequent answer costs a fraction of the CPU."""
    results = [
        {
            "id": id_,
            "upload_id": upload_id,
            "title": title,
            "severity": severity,
            "scan_type": scan_type,
            "date": None if date is None else date.isoformat(),
            "reporter": reporter,
            "host": {"ip": ip, "fqdn": fqdn, "netbios": netbios, "mac": mac},
            "port": port,
            "protocol": protocol,
            "reason": reason,
            "candidates": [
                {"product_id": c["product_id"], "product_name": c["product_name"]}
                for c in candidates
            ],
            "explanation": explanation,
            "vulnerability_ids": vulnerability_ids,
            "scanner_id": scanner_id,
            "error": error,
        }
        for (
            id_, upload_id, title, severity, scan_type, date, reporter, ip, fqdn, netbios, mac,
            port, protocol, reason, candidates, explanation, vulnerability_ids, scanner_id,
            error, *_,
        ) in rows
    ]  # fmt: skip
    page = {
        "count": count,
        "next": following,
        "previous": preceding,
        "results": results,
        "count_is_estimate": estimated,
    }
    return _encode(page).encode()


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
) -> Response:
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
    # the documented model is UnassignedPage; the answer is its JSON, built directly
    body = page_json(
        count=count, following=following, preceding=preceding, rows=rows, estimated=estimated
    )
    return Response(body, media_type="application/json")


WaitParam = Annotated[
    bool | None,
    Query(
        description="false: always run as a job (202); true: always within the request; "
        "default: a job when the selection holds more findings than the threshold"
    ),
]
ActionId = Annotated[int, FastApiPath(ge=1, le=2**63 - 1, description="The action job's id")]
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ActionJobOut,
        "description": "Large selection (or `wait=false`): runs as a job; follow Location",
        "headers": {
            "Location": {
                "description": "The job: GET it for status, progress and result",
                "schema": {"type": "string"},
            }
        },
    },
    409: {"description": "An upload of the selection is still being processed"},
}


def _accepted(request: Request, queued: Queued) -> JSONResponse:
    job = action_jobs.job_out(queued.job, root_path=request.scope.get("root_path", ""))
    return JSONResponse(job.model_dump(mode="json"), status_code=202, headers={"Location": job.url})


@router.post(
    "/assign/",
    response_model=AssignOut,
    summary="Assign to an existing product",
    responses={**ERRORS, **ACCEPTED},
)
async def assign(
    body: AssignIn, request: Request, ctx: ContextDep, caller: CallerDep, wait: WaitParam = None
) -> AssignOut | JSONResponse:
    """Push the selected findings to a product and remember their hosts for it (as a job
    when the selection is large)."""
    answer = await action_jobs.assign(ctx, caller, body, wait=wait)
    return _accepted(request, answer) if isinstance(answer, Queued) else answer


@router.post(
    "/create_product/",
    response_model=AssignOut,
    summary="Assign to a new product",
    responses={**ERRORS, **ACCEPTED},
)
async def create_product(
    body: CreateProductIn,
    request: Request,
    ctx: ContextDep,
    caller: CallerDep,
    wait: WaitParam = None,
) -> AssignOut | JSONResponse:
    """Create a product in DefectDojo (and its product type when named and missing), then
    assign (as a job when the selection is large; the product is created first either way)."""
    answer = await action_jobs.create_product(ctx, caller, body, wait=wait)
    return _accepted(request, answer) if isinstance(answer, Queued) else answer


@router.post(
    "/disregard/",
    response_model=DisregardOut,
    summary="Disregard findings",
    responses={**ERRORS, **ACCEPTED},
)
async def disregard(
    body: DisregardIn, request: Request, ctx: ContextDep, caller: CallerDep, wait: WaitParam = None
) -> DisregardOut | JSONResponse:
    """Remove the selected findings without pushing them; a later upload shows them again
    (as a job, in batches, when the selection is large)."""
    answer = await action_jobs.disregard(ctx, caller, body, wait=wait)
    return _accepted(request, answer) if isinstance(answer, Queued) else answer


@router.get(
    "/actions/{action_id}/",
    response_model=ActionJobOut,
    summary="One action job: status, progress and result",
    responses={404: {"description": "No such action job of yours"}},
)
async def get_action(
    action_id: ActionId, request: Request, ctx: ContextDep, caller: CallerDep
) -> ActionJobOut:
    """Status, progress (findings done of those selected) and, once ended, the answer of an
    action that runs as a job."""
    async with ctx.sessions() as session:
        job = await jobs.get_for_owner(session, job_id=action_id, owner_id=caller.owner_filter)
    if job is None:
        raise NotFound(f"no action job with id {action_id}")
    return action_jobs.job_out(job, root_path=request.scope.get("root_path", ""))


@router.get(
    "/actions/",
    response_model=Page[ActionJobOut],
    summary="Your action jobs, newest first",
)
async def list_actions(
    request: Request,
    ctx: ContextDep,
    caller: CallerDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[ActionJobOut]:
    """Your action jobs (all of them for a superuser), newest first, DefectDojo-style pages."""
    async with ctx.sessions() as session:
        count, rows = await jobs.list_page(
            session, owner_id=caller.owner_filter, limit=page.limit, offset=page.offset
        )
    following, preceding = links(request, page, count)
    root = request.scope.get("root_path", "")
    return Page[ActionJobOut](
        count=count,
        next=following,
        previous=preceding,
        results=[action_jobs.job_out(row, root_path=root) for row in rows],
    )
