"""Running a claimed upload to its end state: parse → route → keep → push → finish.

Each step records its result before the next begins, so a run that dies anywhere can be
resumed by another worker: kept rows of an interrupted run are replaced, shares already
pushed are not pushed again, and a share whose push outcome was lost is reimported into the
same test (DefectDojo's reimport of the same file changes nothing). DefectDojo is never
called inside a database transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.formats.base import ScanFormat, ScanFormatError
from app.formats.registry import FORMATS
from app.matching.identity import normalise_host
from app.schemas import UploadOptions
from app.services.context import Context
from app.services.keeping import unassigned_row
from app.services.planning import Plan, plan_records, records_at
from app.services.push import PushOutcome, PushTarget, push_share
from app.store import files, pushes, uploads
from app.store import unassigned as unassigned_store
from app.store.models import ProductPush, Upload

log = logging.getLogger(__name__)


def test_title(upload: Upload) -> str:
    """The scope title keying the DefectDojo test: test_title, the scan's own name, or the
    scan type (design section 2, step 4)."""
    options = UploadOptions.model_validate(upload.options)
    return options.test_title or upload.scope_title or upload.scan_type


async def process_upload(ctx: Context, upload_id: int, *, local_copy: Path | None = None) -> None:
    """Process an upload this worker has claimed. A file that turns out not to parse marks
    the upload failed (the API's in-request path turns that into a 400 instead)."""
    async with _heartbeat(ctx, upload_id):
        async with ctx.sessions() as session:
            upload = await uploads.get(session, upload_id=upload_id)
        assert upload is not None
        fmt = FORMATS[upload.format_name]
        try:
            with _local_file(local_copy) as path:
                if local_copy is None:
                    await spool(ctx, upload_id, path)
                await _plan_and_keep(ctx, upload, fmt, path)
                await push_pending(ctx, upload_id, fmt=fmt, source=path)
        except ScanFormatError as error:
            await _fail(ctx, upload_id, f"the scan could not be read: {error.describe()}")
            raise
        except Exception as error:
            log.exception("upload.failed", extra={"upload_id": upload_id})
            await _fail(ctx, upload_id, f"processing failed: {error}")
            raise
        await finish(ctx, upload_id)


@contextlib.contextmanager
def _local_file(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="smart-upload-") as directory:
        yield Path(directory) / "scan"


async def spool(ctx: Context, upload_id: int, path: Path) -> None:
    """Copy the stored upload to a local file, chunk by chunk, for the parser."""
    async with ctx.sessions() as session:
        with path.open("wb") as out:
            async for chunk in files.iter_file(session, upload_id=upload_id):
                out.write(chunk)


async def _plan_and_keep(ctx: Context, upload: Upload, fmt: ScanFormat, path: Path) -> None:
    options = UploadOptions.model_validate(upload.options)
    router = await ctx.index.router()
    plan = Plan()
    with path.open("rb") as source:
        batches = plan_records(
            fmt, source, router=router, minimum_severity=options.minimum_severity, plan=plan
        )
        async with ctx.sessions.begin() as session:
            await unassigned_store.delete_for_upload(session, upload_id=upload.id)
            while batch := await asyncio.to_thread(next, batches, None):
                await unassigned_store.insert_many(
                    session,
                    [
                        unassigned_row(
                            upload,
                            record,
                            reason=decision.decision,
                            candidates=decision.candidates,
                            explanation=decision.explanation,
                            product_name=ctx.index.product_name,
                        )
                        for record, decision in batch
                    ],
                )
            for share in plan.shares.values():
                await pushes.add_share(
                    session,
                    upload_id=upload.id,
                    product_id=share.product_id,
                    product_name=ctx.index.product_name(share.product_id),
                    test_title=test_title(upload),
                    record_indexes=share.indexes,
                    hosts=share.hosts,
                )
            stored = await uploads.get(session, upload_id=upload.id)
            assert stored is not None
            stored.records_parsed = plan.parsed
            stored.records_dropped = plan.dropped
            stored.records_routed = plan.routed
            stored.records_unassigned = plan.unassigned
            stored.unassigned_by_reason = plan.by_reason


async def push_pending(
    ctx: Context, upload_id: int, *, fmt: ScanFormat, source: Path, token: str | None = None
) -> list[tuple[ProductPush, PushOutcome]]:
    """Push every pending share of the upload, a few at a time; record each outcome.

    `token` is the caller's token; by default the uploader's, sealed with the upload.
    """
    async with ctx.sessions() as session:
        upload = await uploads.get(session, upload_id=upload_id)
        assert upload is not None
        pending = [
            p
            for p in await uploads.pushes_of(session, upload_id=upload_id)
            if p.status == "pending"
        ]
    if token is None:
        assert upload.caller_token is not None, "an upload keeps its token until it finishes"
        token = ctx.unseal(upload.caller_token)
    dojo = ctx.dojo.with_token(token)
    options = UploadOptions.model_validate(upload.options)
    limit = asyncio.Semaphore(ctx.settings.push_concurrency)

    async def push_one(push: ProductPush) -> tuple[ProductPush, PushOutcome]:
        async with limit:
            outcome = await push_share(
                dojo,
                ctx.retry,
                fmt=fmt,
                source=source,
                file_name=upload.file_name,
                scan_type=upload.scan_type,
                options=options,
                target=PushTarget(
                    product_id=push.product_id,
                    test_title=push.test_title,
                    record_indexes=frozenset(push.record_indexes),
                ),
            )
        await record_outcome(ctx, upload, push, outcome, fmt=fmt, source=source)
        return push, outcome

    return list(await asyncio.gather(*(push_one(push) for push in pending)))


async def record_outcome(
    ctx: Context,
    upload: Upload,
    push: ProductPush,
    outcome: PushOutcome,
    *,
    fmt: ScanFormat,
    source: Path,
) -> None:
    """Store what DefectDojo answered. A failed push moves its records to the unassigned
    list with the reason and DefectDojo's message, so no finding is ever lost."""
    moved: list[dict[str, object]] = []
    if outcome.status == "failed":
        with source.open("rb") as handle:
            records = await asyncio.to_thread(
                lambda: list(records_at(fmt, handle, set(push.record_indexes)))
            )
        moved = [
            unassigned_row(
                upload,
                record,
                reason=outcome.reason or "push_failed",
                candidates=[push.product_id],
                explanation=f"the push to product {push.product_name} ({push.product_id}) "
                f"failed: {outcome.error}",
                product_name=ctx.index.product_name,
                error=outcome.error,
            )
            for record in records
        ]
    async with ctx.sessions.begin() as session:
        stored = await uploads.get(session, upload_id=upload.id)
        assert stored is not None
        count = len(push.record_indexes)
        if outcome.status == "pushed":
            await pushes.update(
                session,
                push_id=push.id,
                status="pushed",
                engagement_id=outcome.engagement_id,
                test_id=outcome.test_id,
                push=outcome.push,
                statistics=outcome.statistics or {},
                error=None,
            )
            stored.records_pushed += count
        else:
            await pushes.update(session, push_id=push.id, status="failed", error=outcome.error)
            await unassigned_store.insert_many(session, moved)
            reason = outcome.reason or "push_failed"
            stored.records_routed -= count
            stored.records_unassigned += count
            stored.unassigned_by_reason = {
                **stored.unassigned_by_reason,
                reason: stored.unassigned_by_reason.get(reason, 0) + count,
            }
    if outcome.status == "pushed":
        await ctx.index.learn(
            product_id=push.product_id,
            product_name=push.product_name,
            hosts=[(host, None) for host in map(normalise_host, push.hosts) if host],
        )


async def finish(ctx: Context, upload_id: int) -> None:
    """Set the end state; forget the caller's token; drop the file once nothing needs it."""
    async with ctx.sessions.begin() as session:
        upload = await uploads.get(session, upload_id=upload_id)
        assert upload is not None
        failed = any(
            p.status == "failed" for p in await uploads.pushes_of(session, upload_id=upload_id)
        )
        upload.status = "completed_with_errors" if failed else "completed"
        upload.finished_at = dt.datetime.now(dt.UTC)
        upload.caller_token = None
        upload.claimed_by = None
        upload.lease_expires_at = None
        await release_file_if_unneeded(session, upload)


async def release_file_if_unneeded(session: AsyncSession, upload: Upload) -> None:
    """Drop the stored file when no record of the upload is waiting for a decision."""
    if (
        upload.file_retained
        and await unassigned_store.count_for_upload(session, upload_id=upload.id) == 0
    ):
        await files.drop_file(session, upload_id=upload.id)
        upload.file_retained = False


async def _fail(ctx: Context, upload_id: int, error: str) -> None:
    async with ctx.sessions.begin() as session:
        upload = await uploads.get(session, upload_id=upload_id)
        if upload is None:
            return
        upload.status = "failed"
        upload.error = error
        upload.finished_at = dt.datetime.now(dt.UTC)
        upload.caller_token = None
        upload.claimed_by = None
        upload.lease_expires_at = None


@contextlib.asynccontextmanager
async def _heartbeat(ctx: Context, upload_id: int) -> AsyncIterator[None]:
    """Keep the upload's lease alive while this worker runs it."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(uploads.LEASE.total_seconds() / 3)
            async with ctx.sessions.begin() as session:
                await uploads.extend_lease(
                    session, upload_id=upload_id, worker_id=ctx.worker_id, lease=uploads.LEASE
                )

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
