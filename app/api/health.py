"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.api.deps import ContextDep
from app.dojo.errors import DojoAuthenticationFailed, DojoError

router = APIRouter(tags=["health"])


@router.get("/health", summary="Alive")
async def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/ready", summary="Database and DefectDojo reachable")
async def ready(ctx: ContextDep) -> JSONResponse:
    """Ready when the database answers and DefectDojo is reachable; says what is wrong."""
    checks: dict[str, str] = {}
    try:
        async with ctx.sessions() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any failure means not ready; the text says which
        checks["database"] = f"unavailable: {type(error).__name__}"
    try:
        await ctx.dojo.with_token(None).user_profile()
        checks["defectdojo"] = "ok"
    except DojoAuthenticationFailed:
        checks["defectdojo"] = "ok"  # it answered; without a token it refuses, as it should
    except DojoError as error:
        checks["defectdojo"] = f"unavailable: {error}"
    ok = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )
