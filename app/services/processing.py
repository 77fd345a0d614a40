"""Running a claimed upload to its end state: parse → route → keep → push → finish.

Each step records its result before the next begins, so a run that dies anywhere is resumed
by another worker once its lease expires:

- `stored`: the file is in Postgres. Parsing and routing run in one transaction that also
  writes the unassigned rows, the pending pushes and the counts, and moves the upload to
  `planned`; a run killed while parsing leaves nothing behind, and the next one starts over.
- `planned`: only the pending pushes remain. A push counts its attempt before it imports,
  and records the engagement and test ids as soon as DefectDojo answers. A push whose
  answer was lost is simply pushed again: it finds its engagement by name and its test by
  title, so it becomes a reimport of the same share into the same test, which changes
  nothing.
- `finished`: the end state is set and the caller's token forgotten.

Every write checks, in its own transaction, that this run still holds the upload
(`uploads.hold`); a worker whose lease was taken over stops there. DefectDojo is never
called inside a database transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.formats.base import ScanFormat, ScanFormatError
from app.formats.registry import FORMATS
from app.schemas import UploadOptions
from app.services.auth import Caller
from app.services.context import Context
from app.services.keeping import unassigned_row
from app.services.outcomes import push_pending
from app.services.planning import Plan, plan_records
from app.services.runs import Run, crash_point, heartbeat, lease, new_claim
from app.store import files, pushes, uploads
from app.store import unassigned as unassigned_store
from app.store.models import Upload
from app.store.uploads import LeaseLost

log = logging.getLogger(__name__)


def test_title(upload: Upload) -> str:
    """The scope title keying the DefectDojo test: test_title, the scan's own name, or the
    scan type (design section 2, step 4)."""
    options = UploadOptions.model_validate(upload.options)
    return options.test_title or upload.scope_title or upload.scan_type


async def process_upload(
    ctx: Context, upload_id: int, *, claim: str | None = None, local_copy: Path | None = None
) -> None:
    """Run an upload this process has claimed (under `claim`; by default the claim it
    holds now) from its recorded step to its end. A file that turns out not to parse marks
    the upload failed (the API's in-request path turns that into a 400 instead). A run
    that lost its lease returns without touching the upload again."""
    async with ctx.sessions() as session:
        upload = await uploads.get(session, upload_id=upload_id)
    assert upload is not None
    run = Run(upload_id, claim or upload.claimed_by or "")
    try:
        async with _heartbeat(ctx, run):
            await _run(ctx, run, upload, local_copy)
    except LeaseLost:
        log.warning("upload.lease.lost", extra={"upload_id": upload_id, "claim": run.claim})


async def _run(ctx: Context, run: Run, upload: Upload, local_copy: Path | None) -> None:
    fmt = FORMATS[upload.format_name]
    try:
        with _local_file(local_copy) as path:
            if local_copy is None:
                await spool(ctx, upload.id, path)
            if upload.step == "stored":
                await _plan_and_keep(ctx, run, upload, fmt, path)
                crash_point(ctx, "after_plan")
            await push_pending(ctx, run, fmt=fmt, source=path)
    except LeaseLost:
        raise
    except ScanFormatError as error:
        await _fail(ctx, run, f"the scan could not be read: {error.describe()}")
        raise
    except Exception as error:
        log.exception("upload.failed", extra={"upload_id": upload.id})
        await _fail(ctx, run, f"processing failed: {error}")
        raise
    await finish(ctx, run)


async def retry_failed_pushes(ctx: Context, caller: Caller, upload_id: int) -> None:
    """Push the upload's failed shares again, with the caller's token, within the request.

    Only the records of a failed share that are still in the unassigned list are sent (the
    others were assigned or disregarded meanwhile). The upload is claimed like any run, so
    a retry and a worker never push it at once, and a retry killed midway is resumed.
    """
    run = Run(upload_id, new_claim(ctx))
    async with ctx.sessions.begin() as session:
        upload = await uploads.get_for_owner(
            session, upload_id=upload_id, owner_id=caller.owner_filter, for_update=True
        )
        if upload is None:
            raise NotFound(f"no upload with id {upload_id}")
        if upload.status in uploads.ACTIVE_STATUSES:
            raise Conflict(f"upload {upload_id} is still being processed; retry once it is done")
        if upload.status == "failed":
            raise Conflict(
                f"upload {upload_id} failed ({upload.error}); it has no pushes to retry, "
                "upload the file again"
            )
        failed = [
            p for p in await uploads.pushes_of(session, upload_id=upload_id) if p.status == "failed"
        ]
        kept = await unassigned_store.kept_records(
            session,
            upload_id=upload_id,
            indexes=[i for push in failed for i in push.record_indexes],
        )
        retried = False
        for push in failed:
            remaining = sorted(set(push.record_indexes) & set(kept))
            if remaining:
                push.record_indexes = remaining
                push.status = "pending"
                retried = True
        if not retried:
            return
        await uploads.reopen(session, upload=upload, claim=run.claim, lease=lease(ctx))
        upload.caller_token = ctx.seal(caller.token)
    await process_upload(ctx, upload_id, claim=run.claim)


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


async def _plan_and_keep(
    ctx: Context, run: Run, upload: Upload, fmt: ScanFormat, path: Path
) -> None:
    """Parse, route and record the plan in one transaction: all of it, or nothing."""
    options = UploadOptions.model_validate(upload.options)
    router = await ctx.index.router()
    plan = Plan()
    with path.open("rb") as source:
        batches = plan_records(
            fmt, source, router=router, minimum_severity=options.minimum_severity, plan=plan
        )
        async with ctx.sessions.begin() as session:
            # nothing is kept before the plan commits; this clears rows of runs from before
            # steps were recorded, which kept them as they went
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
                crash_point(ctx, "during_plan")
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
            stored = await uploads.hold(session, upload_id=upload.id, claim=run.claim)
            stored.records_parsed = plan.parsed
            stored.records_dropped = plan.dropped
            stored.records_routed = plan.routed
            stored.records_unassigned = plan.unassigned
            stored.unassigned_by_reason = plan.by_reason
            stored.step = "planned"


async def finish(ctx: Context, run: Run) -> None:
    """Set the end state; forget the caller's token; drop the file once nothing needs it."""
    async with ctx.sessions.begin() as session:
        upload = await uploads.hold(session, upload_id=run.upload_id, claim=run.claim)
        failed = any(
            p.status == "failed" for p in await uploads.pushes_of(session, upload_id=run.upload_id)
        )
        upload.status = "completed_with_errors" if failed else "completed"
        upload.step = "finished"
        _release(upload)
        await release_file_if_unneeded(session, upload)


async def release_file_if_unneeded(session: AsyncSession, upload: Upload) -> None:
    """Drop the stored file when no record of the upload is waiting for a decision."""
    if (
        upload.file_retained
        and await unassigned_store.count_for_upload(session, upload_id=upload.id) == 0
    ):
        await files.drop_file(session, upload_id=upload.id)
        upload.file_retained = False


async def _fail(ctx: Context, run: Run, error: str) -> None:
    async with ctx.sessions.begin() as session:
        upload = await uploads.hold(session, upload_id=run.upload_id, claim=run.claim)
        upload.status = "failed"
        upload.error = error
        upload.step = "finished"
        _release(upload)


def _release(upload: Upload) -> None:
    upload.finished_at = dt.datetime.now(dt.UTC)
    upload.caller_token = None
    upload.claimed_by = None
    upload.lease_expires_at = None


async def give_up(ctx: Context, session: AsyncSession, upload: Upload) -> None:
    """End an upload whose runs keep dying (`max_attempts`): failed, with its pushes that
    never finished marked failed too, so it reaches an end state instead of looping."""
    for push in await uploads.pushes_of(session, upload_id=upload.id):
        if push.status == "pending":
            push.status = "failed"
            push.error = "abandoned: the upload's runs kept stopping before this push finished"
    upload.status = "failed"
    upload.error = (
        f"gave up after {upload.attempts - 1} runs that stopped before the end "
        f"(limit {ctx.settings.max_attempts}); upload the file again"
    )
    upload.step = "finished"
    _release(upload)


def _heartbeat(ctx: Context, run: Run) -> contextlib.AbstractAsyncContextManager[None]:
    async def renew() -> bool:
        async with ctx.sessions.begin() as session:
            return await uploads.extend_lease(
                session, upload_id=run.upload_id, claim=run.claim, lease=lease(ctx)
            )

    return heartbeat(
        ctx,
        run,
        renew,
        failure_event="upload.lease.renew_failed",
        extra={"upload_id": run.upload_id},
    )
