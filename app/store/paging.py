"""Counted pages of a large table: one page, and how many rows match.

Counting a million rows costs more than the page itself, so the count is exact where a
person reads it — on the last page, and whenever at most `COUNT_EXACT_UP_TO` rows match (a
bounded count) — and PostgreSQL's planner estimate above that, flagged as an estimate.

A list page is the service's most frequent request, so it is built for little work:

- A `PageQuery` is one filter shape (which filters are set, and the ordering) over named
  bind parameters; its statements are compiled once and run on the driver's connection
  with the request's values: building a SQLAlchemy statement, deriving its cache key and
  executing it cost ~0.4 ms of CPU per statement; a page's two were a third of its CPU.
- The page query fetches one row more than it shows, so `next` is always exact, and a page
  that is not full (on the first page, or holding rows) is its own count.
- A query that visits every match anyway (a trigram search builds the bitmap of all
  matches before any ordering) counts first and takes the page from the same bounded set,
  in one statement, instead of searching twice.
- Estimates are kept for `ESTIMATE_SECONDS`: they move only with ANALYZE and the table's
  size, so asking the planner again for each page of a large result buys nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, bindparam, func, select, true
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

COUNT_EXACT_UP_TO = 10_000
"""Above this many matching rows a page's count is the planner's estimate."""
ESTIMATE_SECONDS = 30.0
MAX_ESTIMATES = 1_000


@dataclass(frozen=True, eq=False)
class PageQuery:
    """One shape of a list: the page's `columns` (the table's primary `key` among them),
    the conditions (`where`, over named bind parameters) and the ordering. `count_first`
    for conditions that visit every match whatever the ordering (trigram searches).

    Make one per shape and keep it: its statements are compiled on first use (for the one
    dialect the service uses)."""

    columns: Sequence[Any]
    key: Any
    where: ColumnElement[bool]
    order: Sequence[Any]
    count_first: bool = False
    _compiled: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def sql(self, kind: str, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
        """The SQL of one of the statements (`_STATEMENTS`) and its parameters' order."""
        found = self._compiled.get(kind)
        if found is None:
            compiled = _STATEMENTS[kind](self).compile(dialect=dialect)
            found = (compiled.string, tuple(compiled.positiontup or ()))
            self._compiled[kind] = found
        return found


def _matching(query: PageQuery) -> Select[Any]:
    return select(query.key).where(query.where)


def _page(query: PageQuery) -> Select[Any]:
    return (
        select(*query.columns)
        .where(query.where)
        .order_by(*query.order)
        .limit(bindparam("limit", type_=BigInteger))
        .offset(bindparam("offset", type_=BigInteger))
    )


def _bounded_count(query: PageQuery) -> Select[Any]:
    bounded = _matching(query).limit(bindparam("bound", type_=BigInteger))
    return select(func.count()).select_from(bounded.subquery())


def _page_of_bounded_set(query: PageQuery) -> Select[Any]:
    """Up to `bound` matches counted, and the page taken from them when they are all
    (`total` < `bound`): the page's columns, then `total`; a page past the end is one row
    of NULLs and the total."""
    matching = (
        select(query.key.label("key"))
        .where(query.where)
        .limit(bindparam("bound", type_=BigInteger))
        .cte("matching")
        .prefix_with("MATERIALIZED")
    )
    total = select(func.count().label("total")).select_from(matching).cte("total")
    page = (
        select(*query.columns)
        .where(
            query.key.in_(select(matching.c.key)),
            total.c.total < bindparam("bound", type_=BigInteger),
        )
        .order_by(*query.order)
        .limit(bindparam("limit", type_=BigInteger))
        .offset(bindparam("offset", type_=BigInteger))
        .lateral("page")
    )
    return select(*page.c, total.c.total).select_from(total.outerjoin(page, true()))


_STATEMENTS: dict[str, Callable[[PageQuery], Select[Any]]] = {
    "page": _page,
    "bounded_count": _bounded_count,
    "page_of_bounded_set": _page_of_bounded_set,
    "matching": _matching,
}


@dataclass(frozen=True, slots=True)
class CountedPage:
    count: int
    estimated: bool
    """True when `count` is the planner's estimate (more than the bound match)."""
    rows: Sequence[Any]
    """The driver's records, in the order of the query's columns."""


async def counted_page(
    connection: AsyncConnection,
    query: PageQuery,
    params: Mapping[str, Any],
    *,
    limit: int,
    offset: int,
    exact_up_to: int = COUNT_EXACT_UP_TO,
    estimate_key: Hashable | None = None,
) -> CountedPage:
    """The page (`limit` rows from `offset`) of `query` with the values `params` of its
    bind parameters, and the number of matching rows: exact up to `exact_up_to` and on the
    last page, else the planner's estimate (kept under `estimate_key` when given)."""
    driver: Any = (await connection.get_raw_connection()).driver_connection
    dialect = connection.dialect
    bound = exact_up_to + 1

    async def fetch(kind: str, **extra: Any) -> list[Any]:
        sql, names = query.sql(kind, dialect)
        values = {**params, **extra}
        rows: list[Any] = await _run(driver.fetch, sql, [values[name] for name in names])
        return rows

    if query.count_first:
        found = await fetch("page_of_bounded_set", bound=bound, limit=limit, offset=offset)
        total = int(found[0][-1])
        if total < bound:
            return CountedPage(total, False, [row for row in found if row[0] is not None])
    fetched = await fetch("page", limit=limit + 1, offset=offset)
    rows, more = fetched[:limit], len(fetched) > limit
    if not more and (rows or offset == 0):
        return CountedPage(offset + len(rows), False, rows)
    if not query.count_first:  # counting first found more than the bound already
        (counted,) = await fetch("bounded_count", bound=bound)
        if counted[0] < bound:
            return CountedPage(int(counted[0]), False, rows)
    # one service may reach several databases (tests do): the key names the database too
    key = None if estimate_key is None else (connection.engine.url.database, estimate_key)
    estimate = await _estimate(driver, query, dialect, params, key)
    return CountedPage(max(estimate, bound, offset + len(rows) + 1), True, rows)


_estimates: dict[Hashable, tuple[float, int]] = {}


async def _estimate(
    driver: Any,
    query: PageQuery,
    dialect: Dialect,
    params: Mapping[str, Any],
    key: Hashable | None,
) -> int:
    """The planner's estimate of the rows `query` matches (kept under `key`)."""
    now = time.monotonic()
    cached = _estimates.get(key) if key is not None else None
    if cached is not None and cached[0] > now:
        return cached[1]
    sql, names = query.sql("matching", dialect)
    plan = await _run(driver.fetchval, "EXPLAIN (FORMAT JSON) " + sql, [params[n] for n in names])
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimate = int(plan[0]["Plan"]["Plan Rows"]) if plan else 0
    if key is not None:
        if len(_estimates) >= MAX_ESTIMATES:
            _estimates.clear()
        _estimates[key] = (now + ESTIMATE_SECONDS, estimate)
    return estimate


async def _run(method: Callable[..., Awaitable[Any]], sql: str, args: list[Any]) -> Any:
    """A driver call, its errors wrapped as SQLAlchemy wraps them (`DBAPIError`, the driver's
    error as `orig`), so that the app's handlers treat them alike: bad input, such as a
    value out of a column's range, answers 400, anything else 500."""
    try:
        return await method(sql, *args)
    except Exception as error:
        raise DBAPIError(sql, args, error) from error
