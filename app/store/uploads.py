"""Queries on uploads: creation, lookup, listing and claiming by a worker."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import ProductPush, Upload

ACTIVE_STATUSES = ("queued", "processing")
OWNER_LOCK_SPACE = 0x5375
"""First key of the advisory locks on a user's new uploads (the second is the user id)."""


class LeaseLost(Exception):
    """The upload is no longer held by this claim: its lease ran out and another worker took
    it over (or it was finished meanwhile). The holder must stop touching it."""

    def __init__(self, upload_id: int, claim: str) -> None:
        super().__init__(f"upload {upload_id} is no longer held by claim {claim}")
        self.upload_id = upload_id
        self.claim = claim


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def create(session: AsyncSession, **fields: Any) -> Upload:
    upload = Upload(**fields)
    session.add(upload)
    await session.flush()
    return upload


async def get(session: AsyncSession, *, upload_id: int) -> Upload | None:
    return (await session.scalars(select(Upload).where(Upload.id == upload_id))).first()


async def get_for_owner(
    session: AsyncSession, *, upload_id: int, owner_id: int | None, for_update: bool = False
) -> Upload | None:
    """The upload when `owner_id` uploaded it (or is None: a superuser sees all)."""
    query = select(Upload).where(Upload.id == upload_id)
    upload = await session.scalar(query.with_for_update() if for_update else query)
    if upload is None or (owner_id is not None and upload.uploaded_by_id != owner_id):
        return None
    return upload


async def find_by_idempotency_key(
    session: AsyncSession, *, owner_id: int, key: str
) -> Upload | None:
    query = select(Upload).where(Upload.uploaded_by_id == owner_id, Upload.idempotency_key == key)
    return (await session.scalars(query)).first()


async def list_page(
    session: AsyncSession, *, owner_id: int | None, limit: int, offset: int
) -> tuple[int, list[Upload]]:
    query = select(Upload)
    if owner_id is not None:
        query = query.where(Upload.uploaded_by_id == owner_id)
    count = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(Upload.id.desc()).limit(limit).offset(offset))
    return int(count or 0), list(rows)


async def lock_owner(session: AsyncSession, *, owner_id: int) -> None:
    """Serialise one user's new uploads until this transaction ends, so that two at once
    cannot both pass the bound on uploads in progress."""
    await session.execute(select(func.pg_advisory_xact_lock(OWNER_LOCK_SPACE, owner_id)))


async def count_active(session: AsyncSession, *, owner_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Upload)
        .where(Upload.uploaded_by_id == owner_id, Upload.status.in_(ACTIVE_STATUSES))
    )
    return int(count or 0)


async def active_among(session: AsyncSession, *, upload_ids: list[int]) -> list[int]:
    """Which of the uploads are still queued or processing."""
    rows = await session.scalars(
        select(Upload.id)
        .where(Upload.id.in_(upload_ids), Upload.status.in_(ACTIVE_STATUSES))
        .order_by(Upload.id)
    )
    return list(rows)


async def claim(
    session: AsyncSession, *, claim: str, lease: dt.timedelta, upload_id: int | None = None
) -> Upload | None:
    """Take one upload that is queued, or whose worker's lease ran out, under `claim`.

    `FOR UPDATE SKIP LOCKED` lets many workers on many machines poll one table: each row is
    handed to one of them, and a crashed worker's upload comes back when its lease expires.
    `claim` is unique per run, so a worker whose upload was taken over cannot mistake the
    new run's lease for its own.
    """
    now = _now()
    query = (
        select(Upload)
        .where(
            or_(
                Upload.status == "queued",
                (Upload.status == "processing") & (Upload.lease_expires_at < now),
            )
        )
        .order_by(Upload.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if upload_id is not None:
        query = query.where(Upload.id == upload_id)
    upload = await session.scalar(query)
    if upload is None:
        return None
    upload.status = "processing"
    upload.claimed_by = claim
    upload.lease_expires_at = now + lease
    upload.attempts += 1
    upload.started_at = upload.started_at or now
    await session.flush()
    return upload


async def hold(session: AsyncSession, *, upload_id: int, claim: str) -> Upload:
    """The upload, locked for this transaction, if `claim` still holds it; else LeaseLost.

    Every write of a run goes through here, in the transaction that makes it, so a worker
    that lost its lease writes nothing more: the check and the write commit together.
    """
    upload = await session.scalar(select(Upload).where(Upload.id == upload_id).with_for_update())
    if upload is None or upload.claimed_by != claim or upload.status != "processing":
        raise LeaseLost(upload_id, claim)
    return upload


async def extend_lease(
    session: AsyncSession, *, upload_id: int, claim: str, lease: dt.timedelta
) -> bool:
    """Renew a lease; False when another worker has taken the upload meanwhile."""
    result = await session.execute(
        update(Upload)
        .where(Upload.id == upload_id, Upload.claimed_by == claim, Upload.status == "processing")
        .values(lease_expires_at=_now() + lease)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def reopen(session: AsyncSession, *, upload: Upload, claim: str, lease: dt.timedelta) -> None:
    """Put a finished upload back in processing under `claim` (to retry its failed pushes);
    its runs are counted afresh against the limit on attempts."""
    upload.status = "processing"
    upload.step = "planned"
    upload.claimed_by = claim
    upload.lease_expires_at = _now() + lease
    upload.attempts = 1
    upload.finished_at = None
    await session.flush()


async def pushes_of(session: AsyncSession, *, upload_id: int) -> list[ProductPush]:
    rows = await session.scalars(
        select(ProductPush).where(ProductPush.upload_id == upload_id).order_by(ProductPush.id)
    )
    return list(rows)


async def pushes_of_many(
    session: AsyncSession, *, upload_ids: list[int]
) -> dict[int, list[ProductPush]]:
    rows = await session.scalars(
        select(ProductPush).where(ProductPush.upload_id.in_(upload_ids)).order_by(ProductPush.id)
    )
    grouped: dict[int, list[ProductPush]] = {upload_id: [] for upload_id in upload_ids}
    for push in rows:
        grouped[push.upload_id].append(push)
    return grouped
