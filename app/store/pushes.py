"""Queries on product pushes: the share of an upload that belongs to one product's test."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
    else:
        push.record_indexes = sorted(set(push.record_indexes) | set(record_indexes))
        push.hosts = sorted(set(push.hosts) | set(hosts))
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
    push = await session.get(ProductPush, push_id)
    assert push is not None
    for name, value in fields.items():
        setattr(push, name, value)
