"""Large actions on unassigned findings, run as jobs after their request has answered.

An assign, create-product or disregard whose selection holds more findings than
`SMART_UPLOAD_ACTION_JOB_THRESHOLD` (or that the client sends with `wait=false`) is checked
within its request as far as it can be — the ids are the caller's, the product is one the
caller can see (a new product is created then), no upload of the selection is still being
processed — then stored as an `action_jobs` row with the caller's token sealed, and answered
202. Smaller actions run within the request as before; both run the same code
(`services.unassigned`).

A worker claims a job like an upload (`FOR UPDATE SKIP LOCKED`, a lease renewed by a
heartbeat) and runs it with the caller's own token, never the service's. A run that dies is
resumed by another worker once its lease expires:

- assign / create_product: one push per upload of the selection; each push's outcome is
  written to the job (`handled_uploads`, `done`, the result) in the transaction that takes
  its findings out of the list. Under the push lock a run skips uploads already handled and
  findings already gone, so a resumed run pushes what is left, and nothing twice.
- disregard: batches of `SMART_UPLOAD_ACTION_BATCH_SIZE` findings, each deleted in the
  transaction that counts it, so a million findings never sit in one transaction.

The selection of a job is bounded by the newest finding it held when it was created
(`up_to_id`): findings kept later never join it. The token is forgotten when the job ends.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import InvalidToken
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, NotFound
from app.schemas import (
    ActionJobOut,
    ActionProgress,
    AssignIn,
    AssignOut,
    CreateProductIn,
    DisregardIn,
    DisregardOut,
    PushResult,
    Selection,
    UserRef,
)
from app.services import unassigned as actions
from app.services.auth import Caller
from app.services.context import Context
from app.services.products import visible_product
from app.services.runs import heartbeat, lease, new_claim
from app.store import actions as jobs
from app.store import unassigned as findings
from app.store import uploads
from app.store.actions import JobLeaseLost
from app.store.models import ActionJob

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({"finished", "failed"})


@dataclass(frozen=True, slots=True)
class Queued:
    """An action stored as a job; `claim` is this process's hold on it when it was asked
    to run the job itself (the pages do), else None and a worker will claim it."""

    job: ActionJob
    claim: str | None = None


@dataclass(frozen=True, slots=True)
class KnownProduct:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class _Scope:
    count: int
    up_to_id: int


async def assign(
    ctx: Context, caller: Caller, body: AssignIn, *, wait: bool | None, claim: bool = False
) -> AssignOut | Queued:
    """Assign within the request, or store the job (see the module docstring)."""
    scope = await _scope(ctx, caller, body, wait, need_rows=True)
    if scope is None:
        return await actions.assign(ctx, caller, body, body.product)
    product = await visible_product(ctx, caller, body.product)
    await _require_settled(ctx, caller, body, scope)
    return await _queue(ctx, caller, "assign", body, scope, product, claim)


async def create_product(
    ctx: Context, caller: Caller, body: CreateProductIn, *, wait: bool | None, claim: bool = False
) -> AssignOut | Queued:
    """Create the product and assign within the request, or create the product now and
    store the assignment as a job (so a refused product is still a 400 of the request)."""
    scope = await _scope(ctx, caller, body, wait, need_rows=True)
    if scope is None:
        return await actions.create_product(ctx, caller, body)
    await _require_settled(ctx, caller, body, scope)
    product = await actions.new_product(ctx, caller, body)
    return await _queue(ctx, caller, "create_product", body, scope, product, claim)


async def disregard(
    ctx: Context, caller: Caller, body: DisregardIn, *, wait: bool | None, claim: bool = False
) -> DisregardOut | Queued:
    """Disregard within the request, or store the job."""
    scope = await _scope(ctx, caller, body, wait, need_rows=False)
    if scope is None:
        return DisregardOut(disregarded=await actions.disregard(ctx, caller, body))
    return await _queue(ctx, caller, "disregard", body, scope, None, claim)


async def _scope(
    ctx: Context, caller: Caller, selection: Selection, wait: bool | None, *, need_rows: bool
) -> _Scope | None:
    """What a job of this selection would hold; None when the action runs in the request.
    Ids that are not the caller's are a 404 either way."""
    threshold = ctx.settings.action_job_threshold
    if wait is True or (
        wait is None and selection.ids is not None and len(set(selection.ids)) <= threshold
    ):
        return None
    async with ctx.sessions() as session:
        if selection.ids is not None:
            present = await findings.present_ids(
                session, owner_id=caller.owner_filter, ids=selection.ids
            )
            actions.require_all(selection.ids, present)
            scope = _Scope(len(present), max(present))
        else:
            count, newest = await findings.measure_selection(
                session, owner_id=caller.owner_filter, filters=actions.filters_of(selection)
            )
            # nothing matching now: bound the job to no finding at all, not to every one
            scope = _Scope(count, newest if newest is not None else 0)
    if wait is None and scope.count <= threshold:
        return None
    if need_rows and scope.count == 0:
        raise NotFound("no unassigned findings match the selection")
    return scope


async def _require_settled(
    ctx: Context, caller: Caller, selection: Selection, scope: _Scope
) -> None:
    """409 when an upload of the selection is still being processed: its own pushes would
    reimport the share without the assigned records."""
    async with ctx.sessions() as session:
        upload_ids = await findings.selected_uploads(
            session,
            owner_id=caller.owner_filter,
            ids=selection.ids,
            filters=actions.filters_of(selection),
            up_to_id=scope.up_to_id,
        )
        busy = await uploads.active_among(session, upload_ids=upload_ids)
    if busy:
        raise Conflict(f"upload {busy[0]} is still being processed; assign once it is done")


async def _queue(
    ctx: Context,
    caller: Caller,
    kind: str,
    body: Selection,
    scope: _Scope,
    product: actions.ProductRef | None,
    claim: bool,
) -> Queued:
    held = new_claim(ctx) if claim else None
    async with ctx.sessions.begin() as session:
        job = await jobs.create(
            session,
            kind=kind,
            status="queued",
            requested_by_id=caller.id,
            requested_by_username=caller.username,
            requested_by_superuser=caller.is_superuser,
            request=body.model_dump(mode="json"),
            product_id=product.id if product else None,
            product_name=product.name if product else None,
            up_to_id=scope.up_to_id,
            selected=scope.count,
            done=0,
            handled_uploads=[],
            caller_token=ctx.seal(caller.token),
            attempts=0,
        )
        if held is not None:
            await jobs.claim(session, claim=held, lease=lease(ctx), job_id=job.id)
    log.info("action.job.queued", extra={"job_id": job.id, "kind": kind, "findings": scope.count})
    return Queued(job, held)


@dataclass(slots=True)
class JobRun:
    """One run of a claimed job, and its journal (`unassigned.Journal`): the lease it
    holds, and the job's row where each upload's outcome is kept."""

    job_id: int
    claim: str
    lost: bool = False
    in_request: bool = False

    def check(self) -> None:
        """Stop before the next step when the lease is gone."""
        if self.lost:
            raise JobLeaseLost(self.job_id, self.claim)

    async def handled(self, session: AsyncSession, upload_id: int) -> bool:
        return upload_id in await jobs.handled_uploads(session, job_id=self.job_id)

    async def record(self, session: AsyncSession, upload_id: int, result: PushResult) -> None:
        await jobs.record_upload(
            session,
            job_id=self.job_id,
            upload_id=upload_id,
            findings=result.records,
            result=result.model_dump(mode="json"),
        )


@dataclass(frozen=True, slots=True)
class Claimed:
    job_id: int
    claim: str
    abandoned: bool


async def claim_next(ctx: Context) -> Claimed | None:
    """Claim the next waiting job (or one whose worker died); a job whose runs keep dying
    (`max_attempts`) is ended as failed instead of run again."""
    claim = new_claim(ctx)
    async with ctx.sessions.begin() as session:
        job = await jobs.claim(session, claim=claim, lease=lease(ctx))
        if job is None:
            return None
        abandoned = job.attempts > ctx.settings.max_attempts
        if abandoned:
            job.result = _result(job)
            jobs.release(
                job,
                status="failed",
                error=f"gave up after {job.attempts - 1} runs that stopped before the end "
                f"(limit {ctx.settings.max_attempts}); {job.done} finding(s) were handled",
            )
            log.error("action.job.abandoned", extra={"job_id": job.id})
    return Claimed(job.id, claim, abandoned)


async def run(ctx: Context, job_id: int, *, claim: str) -> None:
    """Run a job this process has claimed under `claim` to its end. A run that lost its
    lease returns without touching the job again; any other failure ends the job failed
    with what it did so far."""
    async with ctx.sessions() as session:
        job = await jobs.get(session, job_id=job_id)
    assert job is not None
    work = JobRun(job_id, claim)
    log.info("action.job.start", extra={"job_id": job_id, "kind": job.kind, "claim": claim})
    try:
        caller = _caller(ctx, job)
        async with _heartbeat(ctx, work):
            if job.kind == "disregard":
                await _disregard(ctx, work, caller, _selection(job))
            else:
                assert job.product_id is not None and job.product_name is not None
                await actions.assign_selection(
                    ctx,
                    caller,
                    _selection(job),
                    KnownProduct(job.product_id, job.product_name),
                    work,
                    up_to_id=job.up_to_id,
                )
        await _end(ctx, work, status="finished")
    except JobLeaseLost:
        log.warning("action.lease.lost", extra={"job_id": job_id, "claim": claim})
    except InvalidToken:
        await _end(
            ctx,
            work,
            status="failed",
            error="the caller's token could not be read back (was SMART_UPLOAD_SECRET_KEY "
            "changed?); send the action again",
        )
    except Exception as error:
        log.exception("action.job.failed", extra={"job_id": job_id})
        await _end(ctx, work, status="failed", error=f"the action failed: {error}")


async def _disregard(ctx: Context, work: JobRun, caller: Caller, selection: Selection) -> None:
    batch = ctx.settings.action_batch_size
    after_id = 0
    while True:
        work.check()
        async with ctx.sessions.begin() as session:
            job = await jobs.hold(session, job_id=work.job_id, claim=work.claim)
            removed = await actions.remove_selected(
                session, caller, selection, up_to_id=job.up_to_id, after_id=after_id, limit=batch
            )
            job.done += removed.count
        log.info("action.disregard.batch", extra={"job_id": work.job_id, "removed": removed.count})
        if removed.count < batch:
            return
        after_id = removed.last_id


async def _end(ctx: Context, work: JobRun, *, status: str, error: str | None = None) -> None:
    """Set the end state and the answer; forget the caller's token."""
    with contextlib.suppress(JobLeaseLost):
        async with ctx.sessions.begin() as session:
            job = await jobs.hold(session, job_id=work.job_id, claim=work.claim)
            job.result = _result(job)
            jobs.release(job, status=status, error=error)
        log.info("action.job.end", extra={"job_id": work.job_id, "status": status})


def _result(job: ActionJob) -> dict[str, Any]:
    """The answer the action would have given within its request, from the job's journal."""
    if job.kind == "disregard":
        return DisregardOut(disregarded=job.done).model_dump(mode="json")
    results = [PushResult.model_validate(r) for r in (job.result or {}).get("results", [])]
    assert job.product_id is not None
    return actions.assign_out(job.product_id, results).model_dump(mode="json")


def _caller(ctx: Context, job: ActionJob) -> Caller:
    """Who asked, with their own token: DefectDojo's permissions apply to the job."""
    if job.caller_token is None:
        raise InvalidToken
    return Caller(
        id=job.requested_by_id,
        username=job.requested_by_username,
        is_superuser=job.requested_by_superuser,
        is_staff=False,
        token=SecretStr(ctx.unseal(job.caller_token)),
    )


def _selection(job: ActionJob) -> Selection:
    return Selection.model_validate({key: job.request.get(key) for key in ("ids", "all_matching")})


def job_out(job: ActionJob, *, root_path: str = "") -> ActionJobOut:
    result: AssignOut | DisregardOut | None = None
    if job.status in FINAL_STATUSES and job.result is not None:
        result = (
            DisregardOut.model_validate(job.result)
            if job.kind == "disregard"
            else AssignOut.model_validate(job.result)
        )
    return ActionJobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        requested_by=UserRef(id=job.requested_by_id, username=job.requested_by_username),
        request={key: value for key, value in job.request.items() if key != "ids"},
        product_id=job.product_id,
        product_name=job.product_name,
        progress=ActionProgress(selected=job.selected, done=job.done),
        result=result,
        error=job.error,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        url=location(job.id, root_path=root_path),
    )


def location(job_id: int, *, root_path: str = "") -> str:
    return f"{root_path}/api/v2/smart_upload/unassigned_findings/actions/{job_id}/"


def _heartbeat(ctx: Context, work: JobRun) -> contextlib.AbstractAsyncContextManager[None]:
    async def renew() -> bool:
        async with ctx.sessions.begin() as session:
            return await jobs.extend_lease(
                session, job_id=work.job_id, claim=work.claim, lease=lease(ctx)
            )

    return heartbeat(
        ctx, work, renew, failure_event="action.lease.renew_failed", extra={"job_id": work.job_id}
    )
