"""Dependencies shared by the routers: the context and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from app.errors import NotAuthenticated
from app.services.auth import Caller
from app.services.context import Context

_authorization = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="DefectDojo API token: `Token <key>`",
)


async def get_context(request: Request) -> Context:
    """The app's context (async: FastAPI runs a plain function in a worker thread)."""
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(get_context)]


async def get_caller(
    ctx: ContextDep, authorization: Annotated[str | None, Depends(_authorization)]
) -> Caller:
    if not authorization:
        raise NotAuthenticated(
            "authentication required: send your DefectDojo API token as "
            "'Authorization: Token <key>'"
        )
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() not in {"token", "bearer"} or not token.strip():
        raise NotAuthenticated("the Authorization header must be 'Token <key>'")
    return await ctx.tokens.caller(token.strip())


CallerDep = Annotated[Caller, Depends(get_caller)]
