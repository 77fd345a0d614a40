"""Pushing an upload's pending shares and recording what DefectDojo answered.

A push goes through these recorded states: `pending` (attempts counted before each call to
DefectDojo, with the engagement id when it is known), then `pushed` with the test id,
or `failed` with the error, its records moved to the unassigned list. A failed push is
retried (`retry/`) by putting it back to `pending`; when it then succeeds its records leave
the list again. The upload's counts move with each outcome, so they always add up.

Only one push at a time goes into one engagement of one product (`pushes.target_lock`), so
two uploads never both create the engagement or the test.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.formats.base import ScanFormat
from app.matching.identity import normalise_host
from app.schemas import UploadOptions
from app.services.context import Context
from app.services.keeping import unassigned_row
from app.services.planning import records_at
from app.services.push import (
    KnownTargets,
    PushOutcome,
    PushTarget,
    known_targets,
    push_share,
    write_share_files,
)
from app.services.runs import Run, crash_point
from app.store import pushes, uploads
from app.store import unassigned as unassigned_store
from app.store.models import ProductPush, Upload
from app.store.uploads import LeaseLost


async def push_pending(
    ctx: Context, run: Run, *, fmt: ScanFormat, source: Path, token: str | None = None
) -> None:
    """Push every pending share of the upload, a few at a time; record each outcome.

    `token` is the caller's token; by default the one sealed with the upload.
    """
    async with ctx.sessions() as session:
        upload = await uploads.get(session, upload_id=run.upload_id)
        assert upload is not None
        pending = [
            p
            for p in await uploads.pushes_of(session, upload_id=run.upload_id)
            if p.status == "pending"
        ]
    if not pending:
        return
    if token is None:
        assert upload.caller_token is not None, "an upload keeps its token until it finishes"
        token = ctx.unseal(upload.caller_token)
    limit = asyncio.Semaphore(ctx.settings.push_concurrency)
    shares = {p.id: frozenset(p.record_indexes) for p in pending}
    known = await known_targets(
        ctx.dojo.with_token(token),
        ctx.retry,
        engagement_name=UploadOptions.model_validate(upload.options).engagement_name,
        test_title=pending[0].test_title,
        scan_type=upload.scan_type,
        shares=len(pending),
    )
    with tempfile.TemporaryDirectory(prefix="smart-upload-subsets-") as directory:
        # every subset in one pass over the scan, off the event loop
        subsets = await asyncio.to_thread(write_share_files, fmt, source, shares, Path(directory))

        async def push_one(push: ProductPush) -> None:
            async with limit:
                run.check()
                await _push_and_record(
                    ctx,
                    run,
                    upload,
                    push,
                    token,
                    fmt=fmt,
                    source=source,
                    subset=subsets[push.id],
                    known=known,
                )
            crash_point(ctx, "between_pushes")

        results = await asyncio.gather(*(push_one(p) for p in pending), return_exceptions=True)
    for result in results:
        if isinstance(result, LeaseLost):
            run.lost = True
    run.check()
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def _push_and_record(
    ctx: Context,
    run: Run,
    upload: Upload,
    push: ProductPush,
    token: str,
    *,
    fmt: ScanFormat,
    source: Path,
    subset: Path | None = None,
    known: KnownTargets | None = None,
) -> None:
    """`known`: the upload's targets looked up for all its pushes; the push looks up (or
    creates) what is missing there and was not recorded by an earlier attempt."""
    options = UploadOptions.model_validate(upload.options)
    engagement_id = push.engagement_id
    if engagement_id is None and known is not None:
        engagement_id = known.engagements.get(push.product_id)
    test_id = None
    if known is not None and engagement_id is not None and push.test_title == known.test_title:
        test_id = known.tests.get(engagement_id)
    async with ctx.push_lock(product_id=push.product_id, engagement_name=options.engagement_name):
        run.check()
        async with ctx.sessions.begin() as session:
            await uploads.hold(session, upload_id=run.upload_id, claim=run.claim)
            await pushes.start_attempt(session, push_id=push.id, engagement_id=engagement_id)

        outcome = await push_share(
            ctx.dojo.with_token(token),
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
                engagement_id=engagement_id,
                test_id=test_id,
            ),
            subset_path=subset,
        )
        crash_point(ctx, "after_dd_answer")
        await record_outcome(ctx, run, upload, push, outcome, fmt=fmt, source=source)


async def record_outcome(
    ctx: Context,
    run: Run,
    upload: Upload,
    push: ProductPush,
    outcome: PushOutcome,
    *,
    fmt: ScanFormat,
    source: Path,
) -> None:
    """Store what DefectDojo answered and move the records and counts with it.

    Pushed: records of the share that were in the unassigned list (a retried push) leave
    it. Failed: the share's records are (or stay) in the list with the reason and
    DefectDojo's message, so no finding is ever lost.
    """
    indexes = list(push.record_indexes)
    reason = outcome.reason or "push_failed"
    explanation = (
        f"the push to product {push.product_name} ({push.product_id}) failed: {outcome.error}"
    )
    new_rows: list[dict[str, Any]] = []
    if outcome.status == "failed":
        async with ctx.sessions() as session:
            kept = await unassigned_store.kept_records(
                session, upload_id=upload.id, indexes=indexes
            )
        missing = set(indexes) - set(kept)
        if missing:
            with source.open("rb") as handle:
                records = await asyncio.to_thread(lambda: list(records_at(fmt, handle, missing)))
            new_rows = [
                unassigned_row(
                    upload,
                    record,
                    reason=reason,
                    candidates=[push.product_id],
                    explanation=explanation,
                    product_name=ctx.index.product_name,
                    error=outcome.error,
                )
                for record in records
            ]
    async with ctx.sessions.begin() as session:
        stored = await uploads.hold(session, upload_id=upload.id, claim=run.claim)
        counts = _Counts(stored)
        if outcome.status == "pushed":
            await mark_pushed(session, push_id=push.id, outcome=outcome)
            if push.error is not None:  # an earlier failure put the records in the list
                for old in await unassigned_store.delete_records(
                    session, upload_id=upload.id, indexes=indexes
                ):
                    counts.back_to_routed(old)
            stored.records_pushed += len(indexes)
            await ctx.index.learn(
                product_id=push.product_id,
                product_name=push.product_name,
                hosts=[(host, None) for host in map(normalise_host, push.hosts) if host],
                session=session,
            )
        else:
            await pushes.update(session, push_id=push.id, status="failed", error=outcome.error)
            kept = await unassigned_store.kept_records(
                session, upload_id=upload.id, indexes=indexes, for_update=True
            )
            await unassigned_store.update_records(
                session,
                upload_id=upload.id,
                indexes=list(kept),
                reason=reason,
                error=outcome.error,
                explanation=explanation,
            )
            for old in kept.values():
                counts.change_reason(old, reason)
            fresh = [row for row in new_rows if row["record_index"] not in kept]
            await unassigned_store.insert_many(session, fresh)
            for _ in fresh:
                counts.to_unassigned(reason)
        counts.store()


async def mark_pushed(session: AsyncSession, *, push_id: int, outcome: PushOutcome) -> None:
    """Keep on the push's row where DefectDojo put the share (engagement, test, how)."""
    await pushes.update(
        session,
        push_id=push_id,
        status="pushed",
        engagement_id=outcome.engagement_id,
        test_id=outcome.test_id,
        push=outcome.push,
        statistics=outcome.statistics or {},
        error=None,
    )


class _Counts:
    """The upload's routed/unassigned counts, moved record by record."""

    def __init__(self, upload: Upload) -> None:
        self._upload = upload
        self.by_reason = dict(upload.unassigned_by_reason)

    def to_unassigned(self, reason: str) -> None:
        self._upload.records_routed -= 1
        self._upload.records_unassigned += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1

    def back_to_routed(self, reason: str) -> None:
        self._upload.records_routed += 1
        self._upload.records_unassigned -= 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) - 1

    def change_reason(self, old: str, new: str) -> None:
        self.by_reason[old] = self.by_reason.get(old, 0) - 1
        self.by_reason[new] = self.by_reason.get(new, 0) + 1

    def store(self) -> None:
        self._upload.unassigned_by_reason = {k: v for k, v in self.by_reason.items() if v}
