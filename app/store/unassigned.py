"""Queries on unassigned findings: insertion in batches, the filtered list, selection, removal."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import BindParameter

from app.formats.base import SEVERITY_RANK
from app.store import paging
from app.store.models import UnassignedFinding
from app.store.paging import COUNT_EXACT_UP_TO

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


def _filter_params(filters: UnassignedFilter, owner_id: int | None) -> dict[str, Any]:
    """The filters that are set, as named parameters: each name stands for one condition
    (`_CONDITIONS`), so the names alone are the query's shape."""
    params: dict[str, Any] = {}
    if owner_id is not None:
        params["owner"] = owner_id
    if filters.upload is not None:
        params["upload"] = filters.upload
    if filters.scan_type:
        params["scan_type"] = filters.scan_type
    if filters.severity:
        # severity_rank is stored with severity (keeping.unassigned_row); filtering on it lets
        # the (severity_rank, id) index serve the default ordering by severity too
        rank = SEVERITY_RANK.get(filters.severity)
        if rank is None:
            params["severity"] = filters.severity
        else:
            params["severity_rank"] = rank
    if filters.reason:
        params["reason"] = filters.reason
    if filters.date_from:
        params["date_from"] = filters.date_from
    if filters.date_to:
        params["date_to"] = filters.date_to
    if filters.host:
        params["host"] = _like(filters.host)
    if filters.q:
        params["q"] = _like(filters.q)
    return params


HOST_SEARCH = literal_column(
    "(coalesce(unassigned_findings.host_display, '') || ' ' || "
    "coalesce(unassigned_findings.host_ip, '') || ' ' || "
    "coalesce(unassigned_findings.host_fqdn, '') || ' ' || "
    "coalesce(unassigned_findings.host_netbios, ''))",
    Text,
)
"""A host's identifiers in one text, as the trigram index `ix_unassigned_host_search_trgm`
holds it (migration 2026-12-07_unassigned_host_search): one index search for the `host`
filter instead of one per identifier, each of which walked the same frequent trigrams."""


def _host_condition(pattern: BindParameter[Any]) -> ColumnElement[bool]:
    table = UnassignedFinding
    # the joined text finds the candidates; the identifiers decide (a pattern could span two)
    return and_(
        HOST_SEARCH.ilike(pattern),
        or_(
            table.host_display.ilike(pattern),
            table.host_ip.ilike(pattern),
            table.host_fqdn.ilike(pattern),
            table.host_netbios.ilike(pattern),
        ),
    )


def _keyword_condition(pattern: BindParameter[Any]) -> ColumnElement[bool]:
    table = UnassignedFinding
    return or_(
        table.title.ilike(pattern),
        table.host_display.ilike(pattern),
        table.description.ilike(pattern),
    )


_CONDITIONS: dict[str, Callable[[BindParameter[Any]], ColumnElement[bool]]] = {
    "owner": lambda value: UnassignedFinding.reporter_id == value,
    "upload": lambda value: UnassignedFinding.upload_id == value,
    "scan_type": lambda value: UnassignedFinding.scan_type == value,
    "severity": lambda value: UnassignedFinding.severity == value,
    "severity_rank": lambda value: UnassignedFinding.severity_rank == value,
    "reason": lambda value: UnassignedFinding.reason == value,
    "date_from": lambda value: UnassignedFinding.date >= value,
    "date_to": lambda value: UnassignedFinding.date <= value,
    "host": _host_condition,
    "q": _keyword_condition,
}


def _conditions(filters: UnassignedFilter, owner_id: int | None) -> list[ColumnElement[bool]]:
    return [
        _CONDITIONS[name](bindparam(name, value))
        for name, value in _filter_params(filters, owner_id).items()
    ]


async def insert_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(UnassignedFinding), list(rows))


LIST_COLUMNS = tuple(
    UnassignedFinding.__table__.c[name]
    for name in (
        "id", "upload_id", "title", "severity", "scan_type", "date", "reporter", "host_ip",
        "host_fqdn", "host_netbios", "host_mac", "port", "protocol", "reason", "candidates",
        "explanation", "vulnerability_ids", "scanner_id", "error", "host_display",
    )
)  # fmt: skip
"""What the list shows, in this order: a page's rows are records of these columns."""


@functools.lru_cache(maxsize=512)
def _list_query(names: tuple[str, ...], ordering: str) -> paging.PageQuery:
    """The list's query for one shape: the filters set (`_filter_params` names) and the
    ordering (a key of ORDERINGS, '-' first for descending; ties broken by id)."""
    column = ORDERINGS[ordering.lstrip("-")]
    id_column = UnassignedFinding.id
    descending = ordering.startswith("-")
    return paging.PageQuery(
        columns=LIST_COLUMNS,
        key=id_column,
        where=and_(True, *(_CONDITIONS[name](bindparam(name)) for name in names)),
        order=(column.desc(), id_column.desc()) if descending else (column, id_column),
        # a substring search visits every match before ordering them: count those at once
        count_first="host" in names or "q" in names,
    )


async def list_page(
    session: AsyncSession,
    *,
    filters: UnassignedFilter,
    owner_id: int | None,
    ordering: str,
    limit: int,
    offset: int,
) -> tuple[int, Sequence[Any]]:
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
) -> tuple[int, bool, Sequence[Any]]:
    """One page (records of LIST_COLUMNS, by position or name), the number of matching
    rows, and whether that number is an estimate: exact on the last page and up to
    `exact_up_to` matching rows, PostgreSQL's estimate beyond (`paging.counted_page`).

    `ordering` is a key of ORDERINGS, with a leading '-' for descending; ties are broken by
    id. Outside a transaction the reads run on a pooled connection of their own, without
    the session's bookkeeping: they need no transaction, nor a common snapshot.
    """
    params = _filter_params(filters, owner_id)
    query = _list_query(tuple(params), ordering)
    options: dict[str, Any] = {
        "limit": limit,
        "offset": offset,
        "exact_up_to": exact_up_to,
        "estimate_key": ("unassigned", filters, owner_id),
    }
    engine = session.bind
    if session.in_transaction() or not isinstance(engine, AsyncEngine):
        page = await paging.counted_page(await session.connection(), query, params, **options)
    else:
        async with engine.connect() as connection:
            page = await paging.counted_page(connection, query, params, **options)
    return page.count, page.estimated, page.rows


def _among(ids: Sequence[int]) -> ColumnElement[bool]:
    """`id = ANY(:ids)`: one array parameter, where IN would take one per id and pass the
    driver's limit of 32,767 parameters."""
    return UnassignedFinding.id == any_(literal(list(ids), ARRAY(BigInteger)))


def _for_action(
    owner_id: int | None,
    ids: Sequence[int] | None,
    filters: UnassignedFilter | None,
    *,
    upload_id: int | None = None,
    up_to_id: int | None = None,
) -> list[ColumnElement[bool]]:
    """The conditions of an action's selection: the caller's findings named by `ids` or
    matching `filters`, optionally of one upload and no newer than `up_to_id`."""
    conditions = _conditions(filters or UnassignedFilter(), owner_id)
    if ids is not None:
        conditions.append(_among(ids))
    if upload_id is not None:
        conditions.append(UnassignedFinding.upload_id == upload_id)
    if up_to_id is not None:
        conditions.append(UnassignedFinding.id <= up_to_id)
    return conditions


async def select_for_action(
    session: AsyncSession,
    *,
    owner_id: int | None,
    ids: Sequence[int] | None = None,
    filters: UnassignedFilter | None = None,
    upload_id: int | None = None,
    up_to_id: int | None = None,
) -> list[UnassignedFinding]:
    """The caller's findings named by `ids` or matching `filters`, locked for the action
    (of one upload and no newer than `up_to_id` when given, for a job's run).

    Rows of other users are simply not found, so an action on them reveals nothing.
    """
    conditions = _for_action(owner_id, ids, filters, upload_id=upload_id, up_to_id=up_to_id)
    rows = await session.scalars(
        select(UnassignedFinding)
        .where(and_(True, *conditions))
        .order_by(UnassignedFinding.id)
        .with_for_update(skip_locked=False)
    )
    return list(rows)


async def measure_selection(
    session: AsyncSession,
    *,
    owner_id: int | None,
    ids: Sequence[int] | None = None,
    filters: UnassignedFilter | None = None,
) -> tuple[int, int | None]:
    """How many findings an action's selection holds, and the newest one's id."""
    conditions = _for_action(owner_id, ids, filters)
    count, newest = (
        await session.execute(
            select(func.count(), func.max(UnassignedFinding.id)).where(and_(True, *conditions))
        )
    ).one()
    return int(count or 0), (int(newest) if newest is not None else None)


async def present_ids(
    session: AsyncSession, *, owner_id: int | None, ids: Sequence[int]
) -> set[int]:
    """Which of `ids` are the caller's unassigned findings."""
    rows = await session.scalars(
        select(UnassignedFinding.id).where(and_(True, *_for_action(owner_id, ids, None)))
    )
    return set(rows)


async def selected_uploads(
    session: AsyncSession,
    *,
    owner_id: int | None,
    ids: Sequence[int] | None = None,
    filters: UnassignedFilter | None = None,
    up_to_id: int | None = None,
) -> list[int]:
    """The uploads the findings of an action's selection belong to, oldest first."""
    conditions = _for_action(owner_id, ids, filters, up_to_id=up_to_id)
    rows = await session.scalars(
        select(UnassignedFinding.upload_id)
        .where(and_(True, *conditions))
        .distinct()
        .order_by(UnassignedFinding.upload_id)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Removed:
    """What `delete_selected` took out of the list."""

    by_upload: dict[int, int]
    """How many findings went, per upload."""
    last_id: int
    """The highest id removed (0 when none was)."""

    @property
    def count(self) -> int:
        return sum(self.by_upload.values())


async def delete_selected(
    session: AsyncSession,
    *,
    owner_id: int | None,
    ids: Sequence[int] | None = None,
    filters: UnassignedFilter | None = None,
    up_to_id: int | None = None,
    after_id: int = 0,
    limit: int | None = None,
) -> Removed:
    """Remove up to `limit` findings of an action's selection with ids above `after_id`,
    lowest ids first (a batch starts where the previous one ended, so it never walks past
    the index entries of the rows its predecessors deleted)."""
    conditions = _for_action(owner_id, ids, filters, up_to_id=up_to_id)
    if after_id:
        conditions.append(UnassignedFinding.id > after_id)
    chosen = select(UnassignedFinding.id).where(and_(True, *conditions))
    if limit is not None:
        chosen = chosen.order_by(UnassignedFinding.id).limit(limit)
    result = await session.execute(
        delete(UnassignedFinding)
        .where(UnassignedFinding.id.in_(chosen.with_for_update().scalar_subquery()))
        .returning(UnassignedFinding.id, UnassignedFinding.upload_id)
    )
    by_upload: dict[int, int] = {}
    last_id = 0
    for finding_id, upload_id in result:
        by_upload[upload_id] = by_upload.get(upload_id, 0) + 1
        last_id = max(last_id, finding_id)
    return Removed(by_upload, last_id)


async def has_findings(session: AsyncSession, *, upload_id: int) -> bool:
    """Whether any record of the upload is in the list (cheaper than counting them)."""
    found = await session.scalar(
        select(UnassignedFinding.id).where(UnassignedFinding.upload_id == upload_id).limit(1)
    )
    return found is not None


async def delete_ids(session: AsyncSession, *, ids: Sequence[int]) -> int:
    result = await session.execute(delete(UnassignedFinding).where(_among(ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_error(session: AsyncSession, *, ids: Sequence[int], error: str) -> None:
    await session.execute(update(UnassignedFinding).where(_among(ids)).values(error=error))


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
