"""Queries on unassigned findings: insertion in batches, the filtered list, selection, removal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import UnassignedFinding

ORDERINGS: dict[str, Any] = {
    "severity": UnassignedFinding.severity_rank,
    "title": UnassignedFinding.title,
    "date": UnassignedFinding.date,
    "host": UnassignedFinding.host_display,
    "port": UnassignedFinding.port,
    "reason": UnassignedFinding.reason,
    "reporter": UnassignedFinding.reporter,
    "scan_type": UnassignedFinding.scan_type,
    "id": UnassignedFinding.id,
}


@dataclass(frozen=True, slots=True)
class UnassignedFilter:
    """What a caller may filter the list by; every field optional."""

    upload: int | None = None
    scan_type: str | None = None
    severity: str | None = None
    host: str | None = None
    reason: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str | None = None


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: UnassignedFilter, owner_id: int | None) -> list[ColumnElement[bool]]:
    table = UnassignedFinding
    conditions: list[ColumnElement[bool]] = []
    if owner_id is not None:
        conditions.append(table.reporter_id == owner_id)
    if filters.upload is not None:
        conditions.append(table.upload_id == filters.upload)
    if filters.scan_type:
        conditions.append(table.scan_type == filters.scan_type)
    if filters.severity:
        conditions.append(table.severity == filters.severity)
    if filters.reason:
        conditions.append(table.reason == filters.reason)
    if filters.date_from:
        conditions.append(table.date >= filters.date_from)
    if filters.date_to:
        conditions.append(table.date <= filters.date_to)
    if filters.host:
        pattern = _like(filters.host)
        conditions.append(
            or_(
                table.host_display.ilike(pattern),
                table.host_ip.ilike(pattern),
                table.host_fqdn.ilike(pattern),
                table.host_netbios.ilike(pattern),
            )
        )
    if filters.q:
        pattern = _like(filters.q)
        conditions.append(
            or_(
                table.title.ilike(pattern),
                table.host_display.ilike(pattern),
                table.description.ilike(pattern),
            )
        )
    return conditions


def _filtered(filters: UnassignedFilter, owner_id: int | None) -> Select[tuple[UnassignedFinding]]:
    return select(UnassignedFinding).where(and_(True, *_conditions(filters, owner_id)))


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(UnassignedFinding), list(rows))


async def list_page(
    session: AsyncSession,
    *,
    filters: UnassignedFilter,
    owner_id: int | None,
    ordering: str,
    limit: int,
    offset: int,
) -> tuple[int, list[UnassignedFinding]]:
    """One page of the list and the number of matching rows. `ordering` is a key of
    ORDERINGS, with a leading '-' for descending; ties are broken by id."""
    descending = ordering.startswith("-")
    column = ORDERINGS[ordering.lstrip("-")]
    id_column = UnassignedFinding.id
    order = (column.desc(), id_column.desc()) if descending else (column.asc(), id_column.asc())
    query = _filtered(filters, owner_id)
    count = await session.scalar(
        select(func.count())
        .select_from(UnassignedFinding)
        .where(and_(True, *_conditions(filters, owner_id)))
    )
    rows = await session.scalars(query.order_by(*order).limit(limit).offset(offset))
    return int(count or 0), list(rows)


async def select_for_action(
    session: AsyncSession,
    *,
    owner_id: int | None,
    ids: Sequence[int] | None = None,
    filters: UnassignedFilter | None = None,
) -> list[UnassignedFinding]:
    """The caller's findings named by `ids` or matching `filters`, locked for the action.

    Rows of other users are simply not found, so an action on them reveals nothing.
    """
    query = _filtered(filters or UnassignedFilter(), owner_id)
    if ids is not None:
        query = query.where(UnassignedFinding.id.in_(list(ids)))
    rows = await session.scalars(
        query.order_by(UnassignedFinding.id).with_for_update(skip_locked=False)
    )
    return list(rows)


async def delete_ids(session: AsyncSession, *, ids: Sequence[int]) -> int:
    result = await session.execute(
        delete(UnassignedFinding).where(UnassignedFinding.id.in_(list(ids)))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_error(session: AsyncSession, *, ids: Sequence[int], error: str) -> None:
    await session.execute(
        update(UnassignedFinding).where(UnassignedFinding.id.in_(list(ids))).values(error=error)
    )


async def count_for_upload(session: AsyncSession, *, upload_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(UnassignedFinding)
        .where(UnassignedFinding.upload_id == upload_id)
    )
    return int(count or 0)


async def delete_for_upload(session: AsyncSession, *, upload_id: int) -> None:
    """Drop what an interrupted run of this upload had kept, so a resumed run starts clean."""
    await session.execute(delete(UnassignedFinding).where(UnassignedFinding.upload_id == upload_id))
