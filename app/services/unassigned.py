"""The three actions on unassigned findings: assign, create a product and assign, disregard.

An assignment pushes, per upload, the product's *whole* share of that upload (what was
routed there at upload time plus everything assigned since), because DefectDojo's reimport
takes the file as the whole truth for the test (design section 2a). Records of an upload
older than the newest one already pushed into that test go into a test of their own,
"<scope title> (assigned from upload N)", by import, so they never roll the test back.

Each push is atomic: on success its records leave the list and their hosts are remembered
for the product; on failure they stay, with DefectDojo's message on them. Either way the
outcome goes to a `Journal` in the same transaction: the request's answer, or the row of a
job (`action_jobs`), which runs the same code upload by upload after its request answered.
Under the push lock a push first drops what is no longer in the list (or, in a job, an
upload another run of the job already handled), so findings are never pushed twice.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.dojo.errors import DojoError, DojoPermissionDenied, DojoRejected
from app.errors import BadRequest, Conflict, DojoUnreachable, NotFound
from app.formats.registry import FORMATS
from app.schemas import AssignOut, CreateProductIn, PushResult, Selection, UploadOptions
from app.services.auth import Caller
from app.services.context import Context
from app.services.outcomes import mark_pushed
from app.services.processing import release_file_if_unneeded, spool, test_title
from app.services.products import visible_product
from app.services.push import PushOutcome, PushTarget, push_share
from app.store import assignments, pushes, uploads
from app.store import unassigned as store
from app.store.models import UnassignedFinding, Upload
from app.store.unassigned import UnassignedFilter


class ProductRef(Protocol):
    """The product an assignment goes to (a DefectDojo product, or one a job remembers)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


class Journal(Protocol):
    """Where the outcome of each upload's push goes, in the transaction that records it."""

    in_request: bool
    """True for a request's answer: an upload still being processed is a 409 then; a job
    records it as a failed push and goes on."""

    def check(self) -> None:
        """Raise when the work must stop before the next upload (a job's lost lease)."""

    async def handled(self, session: AsyncSession, upload_id: int) -> bool:
        """Whether the findings of `upload_id` were already handled (by an earlier run)."""

    async def record(self, session: AsyncSession, upload_id: int, result: PushResult) -> None:
        """Keep the outcome of the push of `upload_id`'s findings."""


@dataclass
class Answer:
    """The journal of an action within its request: the results of its answer."""

    results: list[PushResult] = field(default_factory=list)
    in_request: bool = True

    def check(self) -> None:
        return None

    async def handled(self, session: AsyncSession, upload_id: int) -> bool:
        return False

    async def record(self, session: AsyncSession, upload_id: int, result: PushResult) -> None:
        self.results.append(result)


def assign_out(product_id: int, results: list[PushResult]) -> AssignOut:
    assigned = sum(result.records for result in results if result.status == "pushed")
    return AssignOut(assigned=assigned, product_id=product_id, results=results)


async def assign(ctx: Context, caller: Caller, selection: Selection, product_id: int) -> AssignOut:
    """Push the selected findings to an existing product the caller can see."""
    rows = await _selected(ctx, caller, selection)
    product = await visible_product(ctx, caller, product_id)
    return await _assign_rows(ctx, caller, rows, product)


async def create_product(ctx: Context, caller: Caller, request: CreateProductIn) -> AssignOut:
    """Create the product (and its product type when named and missing), then assign."""
    rows = await _selected(ctx, caller, request)
    product = await new_product(ctx, caller, request)
    return await _assign_rows(ctx, caller, rows, product)


async def new_product(ctx: Context, caller: Caller, request: CreateProductIn) -> ProductRef:
    """Create the product in DefectDojo with the caller's token (and its product type when
    named and missing)."""
    dojo = ctx.dojo.with_token(caller.token.get_secret_value())
    try:
        if request.product_type is not None:
            type_id = request.product_type
            if type_id not in {t.id for t in await dojo.list_product_types()}:
                raise NotFound(f"product type {type_id} does not exist or you cannot see it")
        else:
            assert request.product_type_name is not None
            found = [
                t
                for t in await dojo.list_product_types(name=request.product_type_name)
                if t.name == request.product_type_name
            ]
            type_id = (
                found[0].id
                if found
                else (await dojo.create_product_type(request.product_type_name)).id
            )
        return await dojo.create_product(request.product_name, type_id, request.description)
    except DojoRejected as error:
        raise BadRequest(f"DefectDojo refused the product: {error.message}") from error
    except DojoPermissionDenied as error:
        raise NotFound("you may not create products in this product type in DefectDojo") from error
    except DojoError as error:
        raise DojoUnreachable(f"DefectDojo could not be reached: {error}") from error


async def disregard(ctx: Context, caller: Caller, selection: Selection) -> int:
    """Remove the selected findings; nothing is pushed. A later upload shows them again."""
    async with ctx.sessions.begin() as session:
        if selection.ids is not None:
            present = await store.present_ids(
                session, owner_id=caller.owner_filter, ids=selection.ids
            )
            require_all(selection.ids, present)
        return (await remove_selected(session, caller, selection)).count


async def remove_selected(
    session: AsyncSession,
    caller: Caller,
    selection: Selection,
    *,
    up_to_id: int | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> store.Removed:
    """Disregard (up to `limit` of) the selection within the session's transaction. Files
    of uploads with nothing left in the list are dropped."""
    removed = await store.delete_selected(
        session,
        owner_id=caller.owner_filter,
        ids=selection.ids,
        filters=filters_of(selection),
        up_to_id=up_to_id,
        after_id=after_id,
        limit=limit,
    )
    for upload_id in sorted(removed.by_upload):
        if not await store.has_findings(session, upload_id=upload_id):
            upload = await uploads.get(session, upload_id=upload_id)
            assert upload is not None
            await release_file_if_unneeded(session, upload)
    return removed


async def assign_selection(
    ctx: Context,
    caller: Caller,
    selection: Selection,
    product: ProductRef,
    journal: Journal,
    *,
    up_to_id: int | None,
) -> None:
    """Assign what is still in the list of the selection (no newer than `up_to_id`), one
    upload at a time, each upload's findings read only when its turn comes (a job's path)."""
    async with ctx.sessions() as session:
        upload_ids = await store.selected_uploads(
            session,
            owner_id=caller.owner_filter,
            ids=selection.ids,
            filters=filters_of(selection),
            up_to_id=up_to_id,
        )
    for upload_id in upload_ids:
        journal.check()
        async with ctx.sessions() as session:
            if await journal.handled(session, upload_id):
                continue
            rows = await store.select_for_action(
                session,
                owner_id=caller.owner_filter,
                ids=selection.ids,
                filters=filters_of(selection),
                upload_id=upload_id,
                up_to_id=up_to_id,
            )
        if rows:
            await _assign_upload_rows(ctx, caller, upload_id, rows, product, journal)


def filters_of(selection: Selection) -> UnassignedFilter | None:
    if selection.all_matching is None:
        return None
    return UnassignedFilter(**selection.all_matching.model_dump())


async def _selected(ctx: Context, caller: Caller, selection: Selection) -> list[UnassignedFinding]:
    async with ctx.sessions() as session:
        rows = await store.select_for_action(
            session,
            owner_id=caller.owner_filter,
            ids=selection.ids,
            filters=filters_of(selection),
        )
    if selection.ids is not None:
        require_all(selection.ids, {row.id for row in rows})
    if not rows:
        raise NotFound("no unassigned findings match the selection")
    return rows


def require_all(ids: Sequence[int], present: set[int]) -> None:
    """404 for ids that do not exist or belong to someone else, without telling which."""
    missing = sorted(set(ids) - present)
    if missing:
        shown = ", ".join(map(str, missing[:20]))
        raise NotFound(f"no unassigned finding with id {shown}")


async def _assign_rows(
    ctx: Context, caller: Caller, rows: list[UnassignedFinding], product: ProductRef
) -> AssignOut:
    answer = Answer()
    by_upload = itertools.groupby(
        sorted(rows, key=lambda r: r.upload_id), key=lambda r: r.upload_id
    )
    for upload_id, group in by_upload:
        await _assign_upload_rows(ctx, caller, upload_id, list(group), product, answer)
    return assign_out(product.id, answer.results)


async def _target_title(session: AsyncSession, upload: Upload, product_id: int) -> str:
    title = test_title(upload)
    newest = await pushes.newest_upload_for(session, product_id=product_id, test_title=title)
    if newest is not None and newest > upload.id:
        return f"{title} (assigned from upload {upload.id})"
    return title


async def _assign_upload_rows(
    ctx: Context,
    caller: Caller,
    upload_id: int,
    rows: list[UnassignedFinding],
    product: ProductRef,
    journal: Journal,
) -> None:
    async with ctx.sessions() as session:
        upload = await uploads.get(session, upload_id=upload_id)
        assert upload is not None
    if upload.status in uploads.ACTIVE_STATUSES:
        busy = f"upload {upload_id} is still being processed; assign once it is done"
        if journal.in_request:
            # its own pushes would reimport the share without these records
            raise Conflict(busy)
        async with ctx.sessions.begin() as session:
            await journal.record(session, upload_id, _failed(product, len(rows), busy))
        return
    options = UploadOptions.model_validate(upload.options)
    with tempfile.TemporaryDirectory(prefix="smart-upload-") as directory:
        path = Path(directory) / "scan"
        await spool(ctx, upload_id, path)
        # the share is read, pushed and recorded under the lock, so two assignments to one
        # product never each push a share that lacks the other's records, and findings
        # another action (or run of this job) took meanwhile are not pushed again
        async with ctx.push_lock(product_id=product.id, engagement_name=options.engagement_name):
            async with ctx.sessions() as session:
                if await journal.handled(session, upload_id):
                    return
                present = await store.present_ids(
                    session, owner_id=None, ids=[row.id for row in rows]
                )
                rows = [row for row in rows if row.id in present]
                if not rows:
                    return
                title = await _target_title(session, upload, product.id)
                earlier = await pushes.find(
                    session, upload_id=upload_id, product_id=product.id, test_title=title
                )
            share = set(earlier.record_indexes) if earlier and earlier.status == "pushed" else set()
            share |= {row.record_index for row in rows}
            outcome = await push_share(
                ctx.dojo.with_token(caller.token.get_secret_value()),
                ctx.retry,
                fmt=FORMATS[upload.format_name],
                source=path,
                file_name=upload.file_name,
                scan_type=upload.scan_type,
                options=options,
                target=PushTarget(
                    product_id=product.id, test_title=title, record_indexes=frozenset(share)
                ),
            )
            if outcome.status == "pushed":
                await _record_assignment(
                    ctx, caller, upload_id, rows, product, title, share, outcome, journal
                )
            else:
                error = outcome.error or "push failed"
                async with ctx.sessions.begin() as session:
                    await store.mark_error(session, ids=[row.id for row in rows], error=error)
                    await journal.record(session, upload_id, _failed(product, len(rows), error))
    if outcome.status == "pushed":
        await ctx.index.learn(
            product_id=product.id,
            product_name=product.name,
            hosts=[(identifier, None) for row in rows for identifier in row.identifiers],
        )


def _failed(product: ProductRef, records: int, error: str) -> PushResult:
    return PushResult(
        product_id=product.id,
        product_name=product.name,
        test_id=None,
        records=records,
        status="failed",
        error=error,
    )


async def _record_assignment(
    ctx: Context,
    caller: Caller,
    upload_id: int,
    rows: list[UnassignedFinding],
    product: ProductRef,
    title: str,
    share: set[int],
    outcome: PushOutcome,
    journal: Journal,
) -> None:
    """The share grows, the findings leave the list, their hosts are remembered, and the
    journal says so: all in one transaction."""
    hosts = {row.host_display for row in rows if row.host_display}
    async with ctx.sessions.begin() as session:
        push = await pushes.add_share(
            session,
            upload_id=upload_id,
            product_id=product.id,
            product_name=product.name,
            test_title=title,
            record_indexes=sorted(share),
            hosts=sorted(hosts),
        )
        await mark_pushed(session, push_id=push.id, outcome=outcome)
        await store.delete_ids(session, ids=[row.id for row in rows])
        await assignments.remember(
            session,
            identifiers=[i for row in rows for i in row.identifiers],
            product_id=product.id,
            product_name=product.name,
            assigned_by=caller.username,
        )
        stored = await uploads.get(session, upload_id=upload_id)
        assert stored is not None
        await release_file_if_unneeded(session, stored)
        await journal.record(
            session,
            upload_id,
            PushResult(
                product_id=product.id,
                product_name=product.name,
                test_id=outcome.test_id,
                records=len(rows),
                status="pushed",
                error=None,
            ),
        )
