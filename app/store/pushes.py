"""Queries on product pushes: the share of an upload that belongs to one product's test,
and the lock that lets only one push at a time into one engagement of one product."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.store.models import ProductPush


async def get(session: AsyncSession, *, push_id: int) -> ProductPush | None:
    return (await session.scalars(select(ProductPush).where(ProductPush.id == push_id))).first()


async def find(
    session: AsyncSession,
    *,
    upload_id: int,
    product_id: int,
    test_title: str,
    for_update: bool = False,
) -> ProductPush | None:
    query = select(ProductPush).where(
        ProductPush.upload_id == upload_id,
        ProductPush.product_id == product_id,
        ProductPush.test_title == test_title,
    )
    return (await session.scalars(query.with_for_update() if for_update else query)).first()


async def add_share(
    session: AsyncSession,
    *,
    upload_id: int,
    product_id: int,
    product_name: str,
    test_title: str,
    record_indexes: Sequence[int],
    hosts: Iterable[str],
) -> ProductPush:
    """Create the push of a share, or grow an existing one by more records; status pending."""
    push = await find(
        session,
        upload_id=upload_id,
        product_id=product_id,
        test_title=test_title,
        for_update=True,
    )
    if push is None:
        push = ProductPush(
            upload_id=upload_id,
            product_id=product_id,
            product_name=product_name,
            test_title=test_title,
            status="pending",
            record_indexes=sorted(set(record_indexes)),
            hosts=sorted(set(hosts)),
            statistics={},
        )
        session.add(push)
    elif push.status == "pushed" and set(record_indexes) <= set(push.record_indexes):
        return push  # a resumed run: this share is already in DefectDojo
    elif push.status == "pushed":
        push.record_indexes = sorted(set(push.record_indexes) | set(record_indexes))
        push.hosts = sorted(set(push.hosts) | set(hosts))
        push.status = "pending"
        push.error = None
    else:
        # A failed share never reached DefectDojo: what is pushed now is the whole share.
        push.record_indexes = sorted(set(record_indexes))
        push.hosts = sorted(set(hosts))
        push.status = "pending"
        push.error = None
    await session.flush()
    return push


async def newest_upload_for(
    session: AsyncSession, *, product_id: int, test_title: str
) -> int | None:
    """The newest upload whose share of `product_id` was pushed into the test `test_title`."""
    newest = await session.scalar(
        select(func.max(ProductPush.upload_id)).where(
            ProductPush.product_id == product_id,
            ProductPush.test_title == test_title,
            ProductPush.status == "pushed",
        )
    )
    return int(newest) if newest is not None else None


async def update(session: AsyncSession, *, push_id: int, **fields: Any) -> None:
    await session.execute(sa.update(ProductPush).where(ProductPush.id == push_id).values(**fields))


async def start_attempt(
    session: AsyncSession, *, push_id: int, engagement_id: int | None = None
) -> None:
    """Record that a push is about to call DefectDojo, before it does (and the engagement
    it will push into, when already known)."""
    values: dict[str, Any] = {
        "attempts": ProductPush.attempts + 1,
        "last_attempt_at": dt.datetime.now(dt.UTC),
    }
    if engagement_id is not None:
        values["engagement_id"] = engagement_id
    await session.execute(sa.update(ProductPush).where(ProductPush.id == push_id).values(**values))


def _lock_key(product_id: int, engagement_name: str) -> int:
    digest = hashlib.sha256(f"{product_id}\x00{engagement_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def target_lock(
    engine: AsyncEngine, *, product_id: int, engagement_name: str
) -> AsyncIterator[None]:
    """Hold the push lock of one engagement of one product, across processes.

    Two uploads pushing into the same engagement at once would both find no engagement (or
    no test) and both create one. A Postgres session advisory lock serialises them without
    an open transaction (the connection is in autocommit), and dies with its connection, so
    a killed worker never leaves it held. A connection whose unlock did not run is closed
    rather than returned to the pool, for the same reason.
    """
    key = _lock_key(product_id, engagement_name)
    connection = await engine.connect()
    unlocked = False
    try:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            unlocked = True
    finally:
        if not unlocked:
            await connection.invalidate()
        await connection.close()
