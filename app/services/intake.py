"""Receiving a scan file: checks, durable storage, and the dry run.

The request's file arrives as a local temporary file (Starlette spools multipart bodies to
disk past 1 MB), so nothing here holds a scan in memory: it is hashed and copied to
Postgres chunk by chunk, and parsed as a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError

from app.errors import BadRequest, Conflict, PayloadTooLarge, TooManyRequests
from app.formats.base import ScanFormat, ScanFormatError
from app.formats.registry import resolve
from app.formats.xmlsafe import PROLOGUE_BYTES
from app.schemas import (
    PlanItem,
    ProductResult,
    RecordCounts,
    UnassignedSummary,
    UploadOptions,
    UploadSummary,
    UserRef,
)
from app.services.auth import Caller
from app.services.context import Context
from app.services.keeping import stored_title
from app.services.planning import Plan, plan_records
from app.services.runs import lease, new_claim
from app.store import files, uploads
from app.store.models import Upload

HASH_BLOCK = 1024 * 1024
COPY_BLOCK = 1024 * 1024
BUSY_RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True, slots=True)
class IncomingFile:
    path: Path
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class Received:
    upload: Upload
    replayed: bool
    """True when an Idempotency-Key matched an earlier upload of the same request."""
    claim: str | None = None
    """The claim this process holds on the upload when it was received with `claim`."""


@contextlib.asynccontextmanager
async def local_copy(
    source: BinaryIO, name: str | None, *, max_bytes: int, too_large: str
) -> AsyncIterator[IncomingFile]:
    """The uploaded file as a local file, refused past the size limit with PayloadTooLarge
    (`too_large`, worded for its reader), never held in memory; copied in a thread, since a
    scan may be gigabytes."""
    with tempfile.TemporaryDirectory(prefix="smart-upload-in-") as directory:
        path = Path(directory) / "scan"
        size = await asyncio.to_thread(_copy, source, path, max_bytes, too_large)
        yield IncomingFile(path=path, name=name or "scan", size=size)


def _copy(source: BinaryIO, path: Path, max_bytes: int, too_large: str) -> int:
    size = 0
    with path.open("wb") as out:
        while block := source.read(COPY_BLOCK):
            size += len(block)
            if size > max_bytes:
                raise PayloadTooLarge(too_large)
            out.write(block)
    return size


def detect(incoming: IncomingFile, scan_type: str | None) -> tuple[ScanFormat, str | None]:
    """The file's format and scope title; BadRequest with a person's message otherwise."""
    if incoming.size == 0:
        raise BadRequest("the file is empty (0 bytes); send the scanner's report file")
    with incoming.path.open("rb") as source:
        head = source.read(PROLOGUE_BYTES)
        try:
            fmt = resolve(scan_type, head)
            source.seek(0)
            return fmt, fmt.scope_title(source)
        except ScanFormatError as error:
            raise BadRequest(error.describe()) from error


def validate(fmt: ScanFormat, incoming: IncomingFile) -> None:
    """Read the whole file once, so a broken scan is refused before anything is stored."""
    with incoming.path.open("rb") as source:
        try:
            for _ in fmt.records(source):
                pass
        except ScanFormatError as error:
            raise BadRequest(f"the scan could not be read: {error.describe()}") from error


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(HASH_BLOCK):
            sha.update(block)
    return sha.hexdigest()


def _fingerprint(sha256: str, scan_type: str, options: UploadOptions) -> str:
    body = json.dumps([sha256, scan_type, options.model_dump(mode="json")], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


async def receive(
    ctx: Context,
    caller: Caller,
    incoming: IncomingFile,
    *,
    fmt: ScanFormat,
    scope_title: str | None,
    options: UploadOptions,
    idempotency_key: str | None,
    claim: bool,
) -> Received:
    """Store the file and create the upload, queued (or claimed by this process when
    `claim`, to run within the request)."""
    sha256 = await asyncio.to_thread(_digest, incoming.path)
    fingerprint = _fingerprint(sha256, fmt.scan_type, options)
    async with ctx.sessions.begin() as session:
        # one user's requests one at a time from here: a repeated key then finds the first
        # upload, and the bound on uploads in progress cannot be passed by racing requests
        await uploads.lock_owner(session, owner_id=caller.id)
        if idempotency_key:
            earlier = await uploads.find_by_idempotency_key(
                session, owner_id=caller.id, key=idempotency_key
            )
            if earlier is not None:
                if earlier.request_fingerprint != fingerprint:
                    raise Conflict(
                        "this Idempotency-Key was already used for a different file or "
                        "options; use a new key for a new upload"
                    )
                return Received(earlier, replayed=True)
        active = await uploads.count_active(session, owner_id=caller.id)
        if active >= ctx.settings.max_active_uploads_per_user:
            raise TooManyRequests(
                f"you already have {active} uploads in progress (the limit is "
                f"{ctx.settings.max_active_uploads_per_user}); wait for one to finish",
                headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
            )
        try:
            upload = await uploads.create(
                session,
                status="queued",
                scan_type=fmt.scan_type,
                format_name=fmt.name,
                file_name=incoming.name,
                file_sha256=sha256,
                file_size=incoming.size,
                options=options.model_dump(mode="json"),
                scope_title=scope_title,
                uploaded_by_id=caller.id,
                uploaded_by_username=caller.username,
                caller_token=ctx.seal(caller.token),
                idempotency_key=idempotency_key,
                request_fingerprint=fingerprint,
            )
        except IntegrityError as error:
            raise Conflict("this Idempotency-Key is being used by another request") from error
        with incoming.path.open("rb") as source:
            await files.store_file(
                session, upload_id=upload.id, source=source, chunk_bytes=ctx.settings.chunk_bytes
            )
        claimed = new_claim(ctx) if claim else None
        if claimed is not None:
            await uploads.claim(session, claim=claimed, lease=lease(ctx), upload_id=upload.id)
    return Received(upload, replayed=False, claim=claimed)


async def dry_run(
    ctx: Context,
    caller: Caller,
    incoming: IncomingFile,
    *,
    fmt: ScanFormat,
    scope_title: str | None,
    options: UploadOptions,
) -> UploadSummary:
    """Parse and route without storing or pushing anything; the plan with its items."""
    router = await ctx.index.router()
    plan = Plan()
    routed: dict[int, list[PlanItem]] = {}
    unassigned: list[PlanItem] = []
    with incoming.path.open("rb") as source:
        batches = plan_records(
            fmt,
            source,
            router=router,
            minimum_severity=options.minimum_severity,
            plan=plan,
            keep_routed=True,
        )
        try:
            while batch := await asyncio.to_thread(next, batches, None):
                for record, decision in batch:
                    item = PlanItem(
                        title=stored_title(record.title),
                        severity=record.severity,
                        host=record.host.display(),
                        port=record.port,
                        protocol=record.protocol,
                        reason=None if decision.decision == "routed" else decision.decision,
                        explanation=decision.explanation,
                    )
                    if decision.decision == "routed" and decision.product_id is not None:
                        routed.setdefault(decision.product_id, []).append(item)
                    else:
                        unassigned.append(item)
        except ScanFormatError as error:
            raise BadRequest(f"the scan could not be read: {error.describe()}") from error
    title = options.test_title or scope_title or fmt.scan_type
    sha256 = await asyncio.to_thread(_digest, incoming.path)
    return UploadSummary(
        id=None,
        status="planned",
        scan_type=fmt.scan_type,
        file_name=incoming.name,
        file_sha256=sha256,
        file_size=incoming.size,
        scope_title=scope_title,
        uploaded_by=UserRef(id=caller.id, username=caller.username),
        records=RecordCounts(
            parsed=plan.parsed,
            dropped_below_minimum_severity=plan.dropped,
            routed=plan.routed,
            unassigned=plan.unassigned,
        ),
        products=[
            ProductResult(
                product_id=share.product_id,
                product_name=ctx.index.product_name(share.product_id),
                test_title=title,
                status="planned",
                records=len(share.indexes),
                hosts=sorted(share.hosts),
                items=routed.get(share.product_id, []),
            )
            for share in plan.shares.values()
        ],
        unassigned=UnassignedSummary(
            total=plan.unassigned, by_reason=plan.by_reason, items=unassigned
        ),
        dry_run=True,
    )
