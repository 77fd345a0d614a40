"""Queries on action jobs: creation, lookup, listing, claiming by a worker, and the journal
a run keeps of what it has done."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import ActionJob

ACTIVE_STATUSES = ("queued", "running")


class JobLeaseLost(Exception):
    """The job is no longer held by this claim: its lease ran out and another worker took
    it over (or it ended meanwhile). The holder must stop working on it."""

    def __init__(self, job_id: int, claim: str) -> None:
        super().__init__(f"action job {job_id} is no longer held by claim {claim}")
        self.job_id = job_id
        self.claim = claim


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def create(session: AsyncSession, **fields: Any) -> ActionJob:
    job = ActionJob(**fields)
    session.add(job)
    await session.flush()
    return job


async def get(session: AsyncSession, *, job_id: int, for_update: bool = False) -> ActionJob | None:
    query = select(ActionJob).where(ActionJob.id == job_id)
    job: ActionJob | None = await session.scalar(query.with_for_update() if for_update else query)
    return job


async def get_for_owner(
    session: AsyncSession, *, job_id: int, owner_id: int | None
) -> ActionJob | None:
    """The job when `owner_id` asked for it (or is None: a superuser sees all)."""
    job = await get(session, job_id=job_id)
    if job is None or (owner_id is not None and job.requested_by_id != owner_id):
        return None
    return job


async def list_page(
    session: AsyncSession, *, owner_id: int | None, limit: int, offset: int
) -> tuple[int, list[ActionJob]]:
    query = select(ActionJob)
    if owner_id is not None:
        query = query.where(ActionJob.requested_by_id == owner_id)
    count = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(ActionJob.id.desc()).limit(limit).offset(offset))
    return int(count or 0), list(rows)


async def claim(
    session: AsyncSession, *, claim: str, lease: dt.timedelta, job_id: int | None = None
) -> ActionJob | None:
    """Take one job that is queued, or whose worker's lease ran out, under `claim`
    (`FOR UPDATE SKIP LOCKED`, as `uploads.claim`)."""
    now = _now()
    query = (
        select(ActionJob)
        .where(
            or_(
                ActionJob.status == "queued",
                (ActionJob.status == "running") & (ActionJob.lease_expires_at < now),
            )
        )
        .order_by(ActionJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if job_id is not None:
        query = query.where(ActionJob.id == job_id)
    job = await session.scalar(query)
    if job is None:
        return None
    job.status = "running"
    job.claimed_by = claim
    job.lease_expires_at = now + lease
    job.attempts += 1
    job.started_at = job.started_at or now
    await session.flush()
    return job


async def hold(session: AsyncSession, *, job_id: int, claim: str) -> ActionJob:
    """The job, locked for this transaction, if `claim` still holds it; else JobLeaseLost."""
    job = await get(session, job_id=job_id, for_update=True)
    if job is None or job.claimed_by != claim or job.status != "running":
        raise JobLeaseLost(job_id, claim)
    return job


async def extend_lease(
    session: AsyncSession, *, job_id: int, claim: str, lease: dt.timedelta
) -> bool:
    """Renew a lease; False when another worker has taken the job meanwhile."""
    result = await session.execute(
        update(ActionJob)
        .where(ActionJob.id == job_id, ActionJob.claimed_by == claim, ActionJob.status == "running")
        .values(lease_expires_at=_now() + lease)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def record_upload(
    session: AsyncSession, *, job_id: int, upload_id: int, findings: int, result: dict[str, Any]
) -> None:
    """Note in the job that the findings of `upload_id` were handled, with the push result.

    Written in the transaction that records the push, whichever run made it: the journal
    then says exactly what happened to the findings, and a run that took the job over
    sees it before it pushes the same findings.
    """
    job = await get(session, job_id=job_id, for_update=True)
    assert job is not None
    if upload_id in job.handled_uploads:
        return
    job.handled_uploads = [*job.handled_uploads, upload_id]
    job.done += findings
    recorded = dict(job.result or {})
    recorded["results"] = [*recorded.get("results", []), result]
    job.result = recorded


async def handled_uploads(session: AsyncSession, *, job_id: int) -> set[int]:
    handled = await session.scalar(select(ActionJob.handled_uploads).where(ActionJob.id == job_id))
    return set(handled or ())


def release(job: ActionJob, *, status: str, error: str | None = None) -> None:
    """End the job: its final status, and the caller's token forgotten."""
    job.status = status
    job.error = error
    job.finished_at = _now()
    job.caller_token = None
    job.claimed_by = None
    job.lease_expires_at = None
