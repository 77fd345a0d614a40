"""Routes that explain routing decisions and show or refresh the endpoint index."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CallerDep, ContextDep
from app.dojo.errors import DojoError
from app.errors import DojoUnreachable
from app.schemas import Candidate, IndexOut, RouteOut
from app.store import index_cache

router = APIRouter(prefix="/api/v2/smart_upload", tags=["routing"])


@router.get("/route/", response_model=RouteOut, summary="Explain where a host would go")
async def explain_route(
    ctx: ContextDep,
    _: CallerDep,
    host: Annotated[str, Query(min_length=1, max_length=512, description="IP, name or URL")],
    port: Annotated[int | None, Query(ge=0, le=65535)] = None,
) -> RouteOut:
    """The routing decision for a host (and port): level, what matched, and product(s)."""
    router_ = await ctx.index.router()
    decision = router_.route_host(host, port)
    return RouteOut(
        host=host,
        port=port,
        decision=decision.decision,
        product_id=decision.product_id,
        product_name=ctx.index.product_name(decision.product_id) if decision.product_id else None,
        level=decision.level,
        matched=decision.matched or None,
        candidates=[
            Candidate(product_id=pid, product_name=ctx.index.product_name(pid))
            for pid in decision.candidates
        ],
        explanation=decision.explanation,
    )


async def _index_state(ctx: ContextDep) -> IndexOut:
    async with ctx.sessions.begin() as session:
        state = await index_cache.get_state(session)
    age = (
        (dt.datetime.now(dt.UTC) - state.refreshed_at).total_seconds()
        if state.refreshed_at
        else None
    )
    return IndexOut(
        endpoints=len(ctx.index.index),
        products=state.product_count,
        refreshed_at=state.refreshed_at,
        age_seconds=age,
        duration_seconds=state.duration_seconds,
        last_error=state.last_error,
        last_error_at=state.last_error_at,
    )


@router.get("/index/", response_model=IndexOut, summary="Size and age of the endpoint index")
async def get_index(ctx: ContextDep, _: CallerDep) -> IndexOut:
    """How many endpoints the index holds, when it was built, and the last refresh error."""
    return await _index_state(ctx)


@router.post("/index/", response_model=IndexOut, summary="Refresh the endpoint index now")
async def refresh_index(ctx: ContextDep, _: CallerDep) -> IndexOut:
    """Rebuild the index from DefectDojo now (with the service token)."""
    try:
        await ctx.index.refresh()
    except DojoError as error:
        raise DojoUnreachable(f"the index could not be refreshed: {error}") from error
    return await _index_state(ctx)
