"""Routes of uploads: the smart import itself, and reading uploads back."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Header, Request, Response, UploadFile
from fastapi import Path as FastApiPath
from pydantic import ValidationError

from app.api.deps import CallerDep, ContextDep
from app.api.pagination import PageParams, links, page_params
from app.errors import BadRequest, NotFound
from app.formats.base import ScanFormatError
from app.schemas import Page, UploadOptions, UploadSummary
from app.services import intake
from app.services.processing import process_upload, retry_failed_pushes
from app.services.summaries import summarise
from app.store import uploads

router = APIRouter(tags=["uploads"])

UploadId = Annotated[int, FastApiPath(ge=1, le=2**63 - 1, description="The upload's id")]


@router.post(
    "/api/v2/smart_upload_import/",
    status_code=201,
    response_model=UploadSummary,
    summary="Import a scan, split over the products that own its hosts",
    responses={
        200: {"description": "Dry run plan, or the earlier upload of a repeated Idempotency-Key"},
        202: {"description": "Accepted; follow Location for status"},
        400: {"description": "Bad file or options"},
        401: {"description": "Missing or invalid DefectDojo token"},
        409: {"description": "Idempotency-Key reused with a different request"},
        413: {"description": "File too large"},
        429: {"description": "Too many uploads in progress for this user"},
    },
)
async def smart_import(
    request: Request,
    response: Response,
    ctx: ContextDep,
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="The scan report")],
    scan_type: Annotated[
        str | None, Form(description="DefectDojo scan type; omit to detect")
    ] = None,
    scan_date: Annotated[dt.date | None, Form()] = None,
    minimum_severity: Annotated[str, Form()] = "Info",
    active: Annotated[bool | None, Form()] = None,
    verified: Annotated[bool, Form()] = True,
    tags: Annotated[list[str] | None, Form()] = None,
    version: Annotated[str | None, Form()] = None,
    branch_tag: Annotated[str | None, Form()] = None,
    commit_hash: Annotated[str | None, Form()] = None,
    build_id: Annotated[str | None, Form()] = None,
    group_by: Annotated[str | None, Form()] = None,
    close_old_findings: Annotated[bool, Form()] = False,
    engagement_name: Annotated[str, Form()] = "Smart Upload",
    test_title: Annotated[str | None, Form()] = None,
    wait: Annotated[
        bool | None, Form(description="Answer when done (default for small files)")
    ] = None,
    dry_run: Annotated[
        bool, Form(description="Parse and route only; store and push nothing")
    ] = False,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> UploadSummary:
    """Import a scan: parse it, route every finding to its product, push each share into
    DefectDojo, and keep the rest as unassigned findings."""
    try:
        options = UploadOptions(
            scan_date=scan_date,
            minimum_severity=minimum_severity,
            active=active,
            verified=verified,
            tags=tags or [],
            version=version or None,
            branch_tag=branch_tag or None,
            commit_hash=commit_hash or None,
            build_id=build_id or None,
            group_by=group_by or None,
            close_old_findings=close_old_findings,
            engagement_name=engagement_name,
            test_title=test_title or None,
        )
    except ValidationError as error:
        raise BadRequest(_validation_message(error)) from error
    limit = ctx.settings.max_upload_bytes
    async with intake.local_copy(
        file.file,
        file.filename,
        max_bytes=limit,
        too_large=f"the file is larger than the limit of {limit} bytes",
    ) as incoming:
        fmt, scope_title = intake.detect(incoming, scan_type or None)
        if dry_run:
            response.status_code = 200
            return await intake.dry_run(
                ctx, caller, incoming, fmt=fmt, scope_title=scope_title, options=options
            )
        run_now = wait if wait is not None else incoming.size <= ctx.settings.wait_max_bytes
        if run_now:
            intake.validate(fmt, incoming)
        received = await intake.receive(
            ctx,
            caller,
            incoming,
            fmt=fmt,
            scope_title=scope_title,
            options=options,
            idempotency_key=idempotency_key,
            claim=run_now,
        )
        upload_id = received.upload.id
        if received.replayed:
            response.status_code = 200
        elif run_now:
            # a scan that fails to parse late is recorded on the upload; the summary shows it
            with contextlib.suppress(ScanFormatError):
                await process_upload(ctx, upload_id, claim=received.claim, local_copy=incoming.path)
        else:
            response.status_code = 202
            response.headers["Location"] = _location(request, upload_id)
    return await _summary(ctx, upload_id, request)


def _location(request: Request, upload_id: int) -> str:
    return f"{request.scope.get('root_path', '')}/api/v2/smart_upload/uploads/{upload_id}"


def _validation_message(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc']) or 'request'}: {item['msg']}"
        for item in error.errors()
    )


async def _summary(ctx: ContextDep, upload_id: int, request: Request) -> UploadSummary:
    async with ctx.sessions() as session:
        upload = await uploads.get(session, upload_id=upload_id)
        assert upload is not None
        pushes = await uploads.pushes_of(session, upload_id=upload_id)
    return summarise(upload, pushes, root_path=request.scope.get("root_path", ""))


@router.get(
    "/api/v2/smart_upload/uploads/{upload_id}",
    response_model=UploadSummary,
    summary="One upload: status, progress and summary",
    responses={404: {"description": "No such upload of yours"}},
)
async def get_upload(
    upload_id: UploadId, request: Request, ctx: ContextDep, caller: CallerDep
) -> UploadSummary:
    """Status, progress (records parsed, pushed) and summary of one of your uploads."""
    async with ctx.sessions() as session:
        upload = await uploads.get_for_owner(
            session, upload_id=upload_id, owner_id=caller.owner_filter
        )
        if upload is None:
            raise NotFound(f"no upload with id {upload_id}")
        pushes = await uploads.pushes_of(session, upload_id=upload_id)
    return summarise(upload, pushes, root_path=request.scope.get("root_path", ""))


@router.get(
    "/api/v2/smart_upload/uploads/",
    response_model=Page[UploadSummary],
    summary="Your uploads, newest first",
)
async def list_uploads(
    request: Request,
    ctx: ContextDep,
    caller: CallerDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[UploadSummary]:
    """Your uploads (all uploads for a superuser), newest first, DefectDojo-style pages."""
    async with ctx.sessions() as session:
        count, rows = await uploads.list_page(
            session, owner_id=caller.owner_filter, limit=page.limit, offset=page.offset
        )
        pushes = await uploads.pushes_of_many(session, upload_ids=[row.id for row in rows])
    following, preceding = links(request, page, count)
    root = request.scope.get("root_path", "")
    return Page[UploadSummary](
        count=count,
        next=following,
        previous=preceding,
        results=[summarise(row, pushes[row.id], root_path=root) for row in rows],
    )


@router.post(
    "/api/v2/smart_upload/uploads/{upload_id}/retry/",
    response_model=UploadSummary,
    summary="Retry the failed product pushes of an upload",
    responses={
        404: {"description": "No such upload of yours"},
        409: {"description": "The upload is still being processed, or failed as a whole"},
    },
)
async def retry_upload(
    upload_id: UploadId, request: Request, ctx: ContextDep, caller: CallerDep
) -> UploadSummary:
    """Push the failed shares of your upload again, with your token; records that then
    reach DefectDojo leave the unassigned list. Answers the updated summary."""
    await retry_failed_pushes(ctx, caller, upload_id)
    return await _summary(ctx, upload_id, request)
