"""Add Findings (DefectDojo's import form), an upload's progress and summary, the uploads list.

A scan sent from the browser is stored and claimed at once, then processed after the
answer has gone out, so the person lands on a progress view that updates by itself
instead of a request that hangs while DefectDojo imports. The claim's lease means another
worker resumes the upload should this process die.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask

from app.dojo.models import GroupBy
from app.errors import AppError, NotFound
from app.formats.registry import scan_types
from app.schemas import UploadOptions, UploadSummary
from app.services import intake
from app.services.auth import Caller
from app.services.context import Context
from app.services.processing import process_upload, retry_failed_pushes
from app.services.summaries import summarise
from app.store import uploads
from app.web import labels
from app.web.rendering import PageRoute, path_for, render, with_query
from app.web.sessions import context_of, flash, page_caller, require_csrf

router = APIRouter(prefix="/smart-upload", route_class=PageRoute, include_in_schema=False)

PageCaller = Annotated[Caller, Depends(page_caller)]
UPLOADS_PER_PAGE = 25
FINAL_STATUSES = frozenset({"completed", "completed_with_errors", "failed"})
FORCE_CHOICES = {"": None, "true": True, "false": False}


def _form_defaults() -> dict[str, Any]:
    return {
        "scan_type": "",
        "scan_date": "",
        "minimum_severity": "Info",
        "active": "",
        "verified": "true",
        "tags": "",
        "version": "",
        "branch_tag": "",
        "commit_hash": "",
        "build_id": "",
        "group_by": "",
        "close_old_findings": False,
        "engagement_name": "Smart Upload",
        "test_title": "",
    }


def _form_page(
    request: Request, caller: Caller, values: dict[str, Any], errors: list[str], status: int = 200
) -> HTMLResponse:
    return render(
        request,
        "add_findings.html",
        caller=caller,
        status_code=status,
        values=values,
        errors=errors,
        scan_types=scan_types(),
        severities=labels.SEVERITIES,
        group_by_choices=labels.GROUP_BY,
        today=dt.date.today().isoformat(),
    )


@router.get("/add", name="web_add_findings")
async def add_findings_form(request: Request, caller: PageCaller) -> HTMLResponse:
    return _form_page(request, caller, _form_defaults(), [])


@router.post("/add", dependencies=[Depends(require_csrf)])
async def add_findings(
    request: Request,
    caller: PageCaller,
    file: Annotated[UploadFile | None, File()] = None,
    scan_type: Annotated[str, Form(max_length=128)] = "",
    scan_date: Annotated[str, Form(max_length=32)] = "",
    minimum_severity: Annotated[str, Form(max_length=16)] = "Info",
    active: Annotated[str, Form(max_length=8)] = "",
    verified: Annotated[str, Form(max_length=8)] = "true",
    tags: Annotated[str, Form(max_length=2000)] = "",
    version: Annotated[str, Form(max_length=200)] = "",
    branch_tag: Annotated[str, Form(max_length=200)] = "",
    commit_hash: Annotated[str, Form(max_length=200)] = "",
    build_id: Annotated[str, Form(max_length=200)] = "",
    group_by: Annotated[str, Form(max_length=64)] = "",
    close_old_findings: Annotated[bool, Form()] = False,
    engagement_name: Annotated[str, Form(max_length=300)] = "Smart Upload",
    test_title: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Store the scan and answer with its progress page; processing follows the answer."""
    values = {
        "scan_type": scan_type,
        "scan_date": scan_date,
        "minimum_severity": minimum_severity,
        "active": active,
        "verified": verified,
        "tags": tags,
        "version": version,
        "branch_tag": branch_tag,
        "commit_hash": commit_hash,
        "build_id": build_id,
        "group_by": group_by,
        "close_old_findings": close_old_findings,
        "engagement_name": engagement_name,
        "test_title": test_title,
    }
    options, errors = _options(values)
    if file is None or not file.filename:
        errors.insert(0, "Choose the scan report file to import.")
    if options is None or file is None or errors:
        return _form_page(request, caller, values, errors, status=400)
    ctx = context_of(request)
    try:
        limit = ctx.settings.max_upload_bytes
        async with intake.local_copy(
            file.file,
            file.filename,
            max_bytes=limit,
            too_large=f"The file is larger than the limit of {limit} bytes.",
        ) as incoming:
            fmt, scope_title = intake.detect(incoming, scan_type or None)
            if incoming.size <= ctx.settings.wait_max_bytes:
                # a broken scan is refused on the form rather than stored and failed later
                await asyncio.to_thread(intake.validate, fmt, incoming)
            received = await intake.receive(
                ctx,
                caller,
                incoming,
                fmt=fmt,
                scope_title=scope_title,
                options=options,
                idempotency_key=None,
                claim=True,
            )
    except AppError as error:
        return _form_page(request, caller, values, [error.detail], status=error.status_code)
    upload_id = received.upload.id
    return RedirectResponse(
        path_for(request, "web_upload", upload_id=upload_id),
        status_code=303,
        background=BackgroundTask(_process, ctx, upload_id, received.claim),
    )


async def _process(ctx: Context, upload_id: int, claim: str | None) -> None:
    # process_upload records every failure on the upload (status, error) and logs it; the
    # person reads it on the progress page, so nothing is left to do with the exception.
    with contextlib.suppress(Exception):
        await process_upload(ctx, upload_id, claim=claim)


def _options(values: dict[str, Any]) -> tuple[UploadOptions | None, list[str]]:
    errors: list[str] = []
    scan_date = None
    if values["scan_date"]:
        try:
            scan_date = dt.date.fromisoformat(values["scan_date"])
        except ValueError:
            errors.append("Scan completion date: enter a date as YYYY-MM-DD.")
        else:
            if scan_date > dt.date.today():
                errors.append("Scan completion date: the date cannot be in the future.")
    if values["group_by"] and values["group_by"] not in dict(labels.GROUP_BY):
        errors.append("Group by: choose one of the listed options.")
    if values["active"] not in FORCE_CHOICES or values["verified"] not in FORCE_CHOICES:
        errors.append("Active and Verified: choose one of the listed options.")
    if errors:
        return None, errors
    group_by: GroupBy | None = values["group_by"] or None
    try:
        options = UploadOptions(
            scan_date=scan_date,
            minimum_severity=values["minimum_severity"],
            active=FORCE_CHOICES[values["active"]],
            verified=FORCE_CHOICES[values["verified"]] is not False,
            tags=values["tags"],
            version=values["version"] or None,
            branch_tag=values["branch_tag"] or None,
            commit_hash=values["commit_hash"] or None,
            build_id=values["build_id"] or None,
            group_by=group_by,
            close_old_findings=values["close_old_findings"],
            engagement_name=values["engagement_name"].strip() or "Smart Upload",
            test_title=values["test_title"].strip() or None,
        )
    except ValidationError as error:
        return None, [labels.validation_message(error)]
    return options, []


async def _summary(request: Request, caller: Caller, upload_id: int) -> UploadSummary:
    ctx = context_of(request)
    async with ctx.sessions() as session:
        upload = await uploads.get_for_owner(
            session, upload_id=upload_id, owner_id=caller.owner_filter
        )
        if upload is None:
            raise NotFound(f"There is no upload {upload_id} of yours.")
        pushes = await uploads.pushes_of(session, upload_id=upload_id)
    return summarise(upload, pushes, root_path=request.scope.get("root_path", ""))


def _status_context(summary: UploadSummary) -> dict[str, Any]:
    done = sum(1 for p in summary.products if p.status != "pending")
    return {
        "summary": summary,
        "final": summary.status in FINAL_STATUSES,
        "pushes_done": done,
        "pushes_total": len(summary.products),
        "failed_pushes": [p for p in summary.products if p.status == "failed"],
        "reasons": labels.REASONS,
        "status_labels": labels.UPLOAD_STATUSES,
    }


@router.get("/uploads/{upload_id}", name="web_upload")
async def upload_page(request: Request, caller: PageCaller, upload_id: int) -> HTMLResponse:
    summary = await _summary(request, caller, upload_id)
    return render(request, "upload.html", caller=caller, **_status_context(summary))


@router.get("/uploads/{upload_id}/status", name="web_upload_status")
async def upload_status(request: Request, caller: PageCaller, upload_id: int) -> HTMLResponse:
    """The progress (or, once done, the summary) part of the upload page, polled by it."""
    summary = await _summary(request, caller, upload_id)
    return render(request, "_upload_status.html", caller=caller, **_status_context(summary))


@router.post(
    "/uploads/{upload_id}/retry", name="web_retry_upload", dependencies=[Depends(require_csrf)]
)
async def retry_upload(request: Request, caller: PageCaller, upload_id: int) -> RedirectResponse:
    """Push the upload's failed shares again with the user's token, then show the summary."""
    try:
        await retry_failed_pushes(context_of(request), caller, upload_id)
    except NotFound:
        raise
    except AppError as error:
        flash(request, "error", "The failed pushes were not retried.", [{"text": error.detail}])
    else:
        flash(request, "success", "The failed pushes were sent again; their status is below.")
    return RedirectResponse(path_for(request, "web_upload", upload_id=upload_id), status_code=303)


@router.get("/uploads", name="web_uploads")
async def uploads_page(request: Request, caller: PageCaller, page: int = 1) -> HTMLResponse:
    ctx = context_of(request)
    page = max(page, 1)
    async with ctx.sessions() as session:
        count, rows = await uploads.list_page(
            session,
            owner_id=caller.owner_filter,
            limit=UPLOADS_PER_PAGE,
            offset=(page - 1) * UPLOADS_PER_PAGE,
        )
        pushes = await uploads.pushes_of_many(session, upload_ids=[row.id for row in rows])
    root = request.scope.get("root_path", "")
    pages = max(math.ceil(count / UPLOADS_PER_PAGE), 1)
    here = path_for(request, "web_uploads")
    return render(
        request,
        "uploads.html",
        caller=caller,
        summaries=[summarise(row, pushes[row.id], root_path=root) for row in rows],
        count=count,
        page=page,
        pages=pages,
        previous_url=with_query(here, {"page": page - 1}) if page > 1 else None,
        next_url=with_query(here, {"page": page + 1}) if page < pages else None,
        status_labels=labels.UPLOAD_STATUSES,
    )
