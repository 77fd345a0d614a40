"""The three actions on unassigned findings: assign, create a product and assign, disregard.

An assignment pushes, per upload, the product's *whole* share of that upload (what was
routed there at upload time plus everything assigned since), because DefectDojo's reimport
takes the file as the whole truth for the test (design section 2a). Records of an upload
older than the newest one already pushed into that test go into a test of their own,
"<scope title> (assigned from upload N)", by import, so they never roll the test back.

Each push is atomic: on success its records leave the list and their hosts are remembered
for the product; on failure they stay, with DefectDojo's message on them.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.dojo.errors import DojoError, DojoPermissionDenied, DojoRejected
from app.dojo.models import Product
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


async def assign(ctx: Context, caller: Caller, selection: Selection, product_id: int) -> AssignOut:
    """Push the selected findings to an existing product the caller can see."""
    rows = await _selected(ctx, caller, selection)
    product = await visible_product(ctx, caller, product_id)
    return await _assign_rows(ctx, caller, rows, product)


async def create_product(ctx: Context, caller: Caller, request: CreateProductIn) -> AssignOut:
    """Create the product (and its product type when named and missing), then assign."""
    rows = await _selected(ctx, caller, request)
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
        product = await dojo.create_product(request.product_name, type_id, request.description)
    except DojoRejected as error:
        raise BadRequest(f"DefectDojo refused the product: {error.message}") from error
    except DojoPermissionDenied as error:
        raise NotFound("you may not create products in this product type in DefectDojo") from error
    except DojoError as error:
        raise DojoUnreachable(f"DefectDojo could not be reached: {error}") from error
    return await _assign_rows(ctx, caller, rows, product)


async def disregard(ctx: Context, caller: Caller, selection: Selection) -> int:
    """Remove the selected findings; nothing is pushed. A later upload shows them again."""
    async with ctx.sessions.begin() as session:
        rows = await _select(session, caller, selection)
        if selection.ids is not None:
            _require_all(selection.ids, rows)
        count = await store.delete_ids(session, ids=[row.id for row in rows])
        for upload_id in {row.upload_id for row in rows}:
            upload = await uploads.get(session, upload_id=upload_id)
            assert upload is not None
            await release_file_if_unneeded(session, upload)
    return count


async def _selected(ctx: Context, caller: Caller, selection: Selection) -> list[UnassignedFinding]:
    async with ctx.sessions() as session:
        rows = await _select(session, caller, selection)
    if selection.ids is not None:
        _require_all(selection.ids, rows)
    if not rows:
        raise NotFound("no unassigned findings match the selection")
    return rows


async def _select(
    session: AsyncSession, caller: Caller, selection: Selection
) -> list[UnassignedFinding]:
    filters = (
        UnassignedFilter(**selection.all_matching.model_dump())
        if selection.all_matching is not None
        else None
    )
    return await store.select_for_action(
        session, owner_id=caller.owner_filter, ids=selection.ids, filters=filters
    )


def _require_all(ids: Sequence[int], rows: Sequence[UnassignedFinding]) -> None:
    """404 for ids that do not exist or belong to someone else, without telling which."""
    missing = sorted(set(ids) - {row.id for row in rows})
    if missing:
        shown = ", ".join(map(str, missing[:20]))
        raise NotFound(f"no unassigned finding with id {shown}")


async def _assign_rows(
    ctx: Context, caller: Caller, rows: list[UnassignedFinding], product: Product
) -> AssignOut:
    results: list[PushResult] = []
    assigned = 0
    by_upload = itertools.groupby(
        sorted(rows, key=lambda r: r.upload_id), key=lambda r: r.upload_id
    )
    for upload_id, group in by_upload:
        group_rows = list(group)
        result = await _assign_upload_rows(ctx, caller, upload_id, group_rows, product)
        results.append(result)
        if result.status == "pushed":
            assigned += result.records
    return AssignOut(assigned=assigned, product_id=product.id, results=results)


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
    product: Product,
) -> PushResult:
    async with ctx.sessions() as session:
        upload = await uploads.get(session, upload_id=upload_id)
        assert upload is not None
    if upload.status in uploads.ACTIVE_STATUSES:
        # its own pushes would reimport the share without these records
        raise Conflict(f"upload {upload_id} is still being processed; assign once it is done")
    options = UploadOptions.model_validate(upload.options)
    ids = [row.id for row in rows]
    with tempfile.TemporaryDirectory(prefix="smart-upload-") as directory:
        path = Path(directory) / "scan"
        await spool(ctx, upload_id, path)
        # the share is read, pushed and recorded under the lock, so two assignments to one
        # product never each push a share that lacks the other's records
        async with ctx.push_lock(product_id=product.id, engagement_name=options.engagement_name):
            async with ctx.sessions() as session:
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
                    ctx, caller, upload_id, rows, product, title, share, outcome
                )
    if outcome.status == "failed":
        async with ctx.sessions.begin() as session:
            await store.mark_error(session, ids=ids, error=outcome.error or "push failed")
        return PushResult(
            product_id=product.id,
            product_name=product.name,
            test_id=None,
            records=len(rows),
            status="failed",
            error=outcome.error,
        )
    await ctx.index.learn(
        product_id=product.id,
        product_name=product.name,
        hosts=[(identifier, None) for row in rows for identifier in row.identifiers],
    )
    return PushResult(
        product_id=product.id,
        product_name=product.name,
        test_id=outcome.test_id,
        records=len(rows),
        status="pushed",
        error=None,
    )


async def _record_assignment(
    ctx: Context,
    caller: Caller,
    upload_id: int,
    rows: list[UnassignedFinding],
    product: Product,
    title: str,
    share: set[int],
    outcome: PushOutcome,
) -> None:
    """The share grows, the findings leave the list, and their hosts are remembered."""
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
