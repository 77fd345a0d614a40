"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.api.deps import ContextDep
from app.dojo.errors import DojoError

router = APIRouter(tags=["health"])


@router.get("/health", summary="Alive")
async def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


class ReadyOut(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    """Per dependency: "ok", or "unavailable: <what is wrong>"."""


@router.get(
    "/ready",
    summary="Database and DefectDojo reachable",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Not ready; `checks` says why"}},
)
async def ready(ctx: ContextDep) -> JSONResponse:
    """Ready when the database answers and DefectDojo is reachable; says what is wrong.

    Each check gets `SMART_UPLOAD_READY_TIMEOUT_SECONDS` and no retries, so an orchestrator
    probing a service whose DefectDojo is down gets its answer at once.
    """
    timeout = ctx.settings.ready_timeout_seconds
    database, defectdojo = await asyncio.gather(
        _check(_database(ctx), timeout), _check(ctx.dojo.with_token(None).ping(timeout), timeout)
    )
    checks = {"database": database, "defectdojo": defectdojo}
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


async def _database(ctx: ContextDep) -> None:
    async with ctx.sessions() as session:
        await session.execute(text("SELECT 1"))


async def _check(probe: Awaitable[None], timeout: float) -> str:
    try:
        await asyncio.wait_for(probe, timeout)
    except TimeoutError:
        return f"unavailable: no answer within {timeout:g} s"
    except DojoError as error:
        return f"unavailable: {error}"
    except Exception as error:  # any failure means not ready; the text says which
        return f"unavailable: {type(error).__name__}"
    return "ok"
