"""Remembered host → product decisions."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import HostAssignment


async def remember(
    session: AsyncSession,
    *,
    identifiers: Iterable[str],
    product_id: int,
    product_name: str,
    assigned_by: str,
) -> None:
    """Route these host identifiers to the product from now on (the latest decision wins)."""
    rows = [
        {
            "identifier": identifier,
            "product_id": product_id,
            "product_name": product_name,
            "assigned_by": assigned_by,
        }
        for identifier in sorted(set(identifiers))
    ]
    if not rows:
        return
    statement = insert(HostAssignment).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[HostAssignment.identifier],
            set_={
                "product_id": statement.excluded.product_id,
                "product_name": statement.excluded.product_name,
                "assigned_by": statement.excluded.assigned_by,
            },
        )
    )


async def load_all(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(HostAssignment.identifier, HostAssignment.product_id))
    return {identifier: product_id for identifier, product_id in rows.tuples()}


async def get(session: AsyncSession, *, identifier: str) -> HostAssignment | None:
    return await session.get(HostAssignment, identifier)
