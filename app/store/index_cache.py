"""The cached copy of DefectDojo's endpoints and product names behind the match index."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import IndexEndpoint, IndexProduct, IndexState

BATCH = 5000

EndpointTuple = tuple[int, str, int | None]


async def replace(
    session: AsyncSession,
    *,
    endpoints: Iterable[EndpointTuple],
    products: Mapping[int, str],
    duration_seconds: float,
) -> int:
    """Swap the whole cached index for a new one, in the caller's transaction."""
    await session.execute(delete(IndexEndpoint))
    await session.execute(delete(IndexProduct))
    count = 0
    batch: list[dict[str, object]] = []
    for product_id, host, port in endpoints:
        batch.append({"product_id": product_id, "host": host, "port": port})
        if len(batch) >= BATCH:
            await session.execute(insert(IndexEndpoint), batch)
            count += len(batch)
            batch = []
    if batch:
        await session.execute(insert(IndexEndpoint), batch)
        count += len(batch)
    if products:
        await session.execute(
            insert(IndexProduct),
            [{"product_id": pid, "name": name} for pid, name in products.items()],
        )
    state = await _state(session)
    state.refreshed_at = dt.datetime.now(dt.UTC)
    state.endpoint_count = count
    state.product_count = len(products)
    state.duration_seconds = duration_seconds
    state.last_error = None
    return count


async def add(session: AsyncSession, *, endpoints: Iterable[EndpointTuple]) -> None:
    """Add endpoints learnt from the service's own pushes."""
    rows = [{"product_id": p, "host": h, "port": port} for p, h, port in endpoints]
    if rows:
        await session.execute(insert(IndexEndpoint), rows)


async def remember_product(session: AsyncSession, *, product_id: int, name: str) -> None:
    if await session.get(IndexProduct, product_id) is None:
        session.add(IndexProduct(product_id=product_id, name=name))


async def iter_endpoints(session: AsyncSession) -> AsyncIterator[EndpointTuple]:
    result = await session.stream(
        select(IndexEndpoint.product_id, IndexEndpoint.host, IndexEndpoint.port).execution_options(
            yield_per=BATCH
        )
    )
    async for product_id, host, port in result.tuples():
        yield product_id, host, port


async def product_names(session: AsyncSession) -> dict[int, str]:
    rows = await session.execute(select(IndexProduct.product_id, IndexProduct.name))
    return dict(rows.tuples().all())


async def record_error(session: AsyncSession, *, error: str) -> None:
    state = await _state(session)
    state.last_error = error
    state.last_error_at = dt.datetime.now(dt.UTC)


async def get_state(session: AsyncSession) -> IndexState:
    return await _state(session)


async def _state(session: AsyncSession) -> IndexState:
    state = await session.get(IndexState, 1)
    if state is None:
        state = IndexState(id=1, endpoint_count=0, product_count=0)
        session.add(state)
        await session.flush()
    return state
