"""Queries on unassigned findings: insertion in batches, the filtered list, selection, removal."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.expression import Executable

from app.formats.base import SEVERITY_RANK
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
        # severity_rank is stored with severity (keeping.unassigned_row); filtering on it lets
        # the (severity_rank, id) index serve the default ordering by severity too
        rank = SEVERITY_RANK.get(filters.severity)
        conditions.append(
            table.severity == filters.severity if rank is None else table.severity_rank == rank
        )
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


COUNT_EXACT_UP_TO = 10_000
"""Above this many matching rows the page's count is the planner's estimate."""


async def list_page(
    session: AsyncSession,
    *,
    filters: UnassignedFilter,
    owner_id: int | None,
    ordering: str,
    limit: int,
    offset: int,
) -> tuple[int, list[UnassignedFinding]]:
    """One page of the list and the number of matching rows (see `list_page_counted`)."""
    count, _, rows = await list_page_counted(
        session, filters=filters, owner_id=owner_id, ordering=ordering, limit=limit, offset=offset
    )
    return count, rows


async def list_page_counted(
    session: AsyncSession,
    *,
    filters: UnassignedFilter,
    owner_id: int | None,
    ordering: str,
    limit: int,
    offset: int,
    exact_up_to: int = COUNT_EXACT_UP_TO,
) -> tuple[int, bool, list[UnassignedFinding]]:
    """One page, the number of matching rows, and whether that number is an estimate.

    `ordering` is a key of ORDERINGS, with a leading '-' for descending; ties are broken by
    id. Counting a million rows costs more than the page itself, so the count is exact on
    the last page (offset + rows shown) and up to `exact_up_to` matching rows (a bounded
    count), and beyond that PostgreSQL's estimate for the filtered query (never less than
    the rows known to exist).
    """
    if not session.in_transaction():
        # Two or three reads that need no common snapshot: without a transaction they save
        # the BEGIN and ROLLBACK round trips, a fifth of a list request's time under load.
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    descending = ordering.startswith("-")
    column = ORDERINGS[ordering.lstrip("-")]
    id_column = UnassignedFinding.id
    order = (column.desc(), id_column.desc()) if descending else (column.asc(), id_column.asc())
    conditions = and_(True, *_conditions(filters, owner_id))
    fetched = list(
        await session.scalars(
            select(UnassignedFinding)
            .where(conditions)
            .order_by(*order)
            .limit(limit + 1)
            .offset(offset)
        )
    )
    rows, more = fetched[:limit], len(fetched) > limit
    if not more and (rows or offset == 0):
        return offset + len(rows), False, rows
    matching = select(UnassignedFinding.id).where(conditions)
    bounded = await session.scalar(
        select(func.count()).select_from(matching.limit(exact_up_to + 1).subquery())
    )
    if int(bounded or 0) <= exact_up_to:
        return int(bounded or 0), False, rows
    plan = await session.scalar(_Explain(matching))
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimate = int(plan[0]["Plan"]["Plan Rows"]) if plan else 0
    return max(estimate, exact_up_to + 1, offset + len(rows) + 1), True, rows


class _Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <query>`, with the query's own bound parameters."""

    inherit_cache = False

    def __init__(self, query: Select[Any]) -> None:
        self.query = query


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.query, **kw)


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


async def kept_records(
    session: AsyncSession, *, upload_id: int, indexes: Sequence[int], for_update: bool = False
) -> dict[int, str]:
    """Which of the upload's records `indexes` are in the list, with their reason."""
    query = select(UnassignedFinding.record_index, UnassignedFinding.reason).where(
        UnassignedFinding.upload_id == upload_id,
        UnassignedFinding.record_index.in_(list(indexes)),
    )
    rows = await session.execute(query.with_for_update() if for_update else query)
    return {index: reason for index, reason in rows}


async def delete_records(
    session: AsyncSession, *, upload_id: int, indexes: Sequence[int]
) -> list[str]:
    """Remove the upload's records `indexes` from the list; the reasons they were kept for."""
    result = await session.execute(
        delete(UnassignedFinding)
        .where(
            UnassignedFinding.upload_id == upload_id,
            UnassignedFinding.record_index.in_(list(indexes)),
        )
        .returning(UnassignedFinding.reason)
    )
    return list(result.scalars())


async def update_records(
    session: AsyncSession, *, upload_id: int, indexes: Sequence[int], **fields: Any
) -> None:
    """Set `fields` (reason, error, explanation, ...) on the upload's kept records `indexes`."""
    await session.execute(
        update(UnassignedFinding)
        .where(
            UnassignedFinding.upload_id == upload_id,
            UnassignedFinding.record_index.in_(list(indexes)),
        )
        .values(**fields)
    )
