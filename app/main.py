"""The ASGI app: `create_app()` wires settings, the database, DefectDojo and the worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.requests import Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from swagger_ui_bundle import swagger_ui_path

from app.api import docs, health, routing, rules, unassigned, uploads
from app.api.limits import BodyLimitMiddleware
from app.api.openapi import document_errors
from app.dojo.client import DojoClient, DojoTimeouts
from app.dojo.retry import RetryPolicy
from app.errors import AppError, handle_app_error
from app.jobs import worker
from app.metrics import track_index
from app.observability import RequestIdMiddleware, configure_logging
from app.services.auth import TokenValidator
from app.services.context import Context
from app.services.index import IndexService
from app.settings import Settings
from app.store.db import create_engine, create_sessionmaker
from app.web import install as install_pages


async def build_context(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[Context, httpx.AsyncClient]:
    """Everything the use cases need; the caller closes it with `close_context`."""
    engine = create_engine(settings.async_database_url)
    sessions = create_sessionmaker(engine)
    http = httpx.AsyncClient(
        base_url=settings.dd_url,
        transport=transport,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
    )
    reads = RetryPolicy(
        attempts=settings.dd_retry_attempts,
        initial_wait=settings.dd_retry_initial_wait_seconds,
        max_wait=settings.dd_retry_max_wait_seconds,
    )
    # A push unit may include an import that runs up to its read timeout; its retries must
    # still be allowed after one such timeout, or a timed-out import would never be retried.
    pushes = replace(reads, deadline=reads.deadline + 2 * settings.dd_import_timeout_seconds)
    timeouts = DojoTimeouts(
        read=settings.dd_timeout_seconds, import_read=settings.dd_import_timeout_seconds
    )
    dojo = DojoClient(http, token=None, policy=reads, timeouts=timeouts)
    service_token = settings.dd_api_token.get_secret_value() if settings.dd_api_token else None
    index = IndexService(
        sessions,
        dojo.with_token(service_token) if service_token else None,
        page_size=settings.index_page_size,
    )
    ctx = Context(
        settings=settings,
        sessions=sessions,
        dojo=dojo,
        retry=pushes,
        index=index,
        tokens=TokenValidator(dojo, ttl_seconds=settings.token_cache_seconds),
        worker_id=f"{socket.gethostname()}:{os.getpid()}",
        # one lock connection per push slot, kept open: connecting for every push (TLS
        # handshake included) cost more than the rest of the push's bookkeeping
        locks=create_engine(
            settings.async_database_url,
            pool_size=settings.max_pushes_in_flight,
            max_overflow=0,
        ),
        push_slots=asyncio.Semaphore(settings.max_pushes_in_flight),
    )
    await index.load()
    return ctx, http


async def close_context(ctx: Context, http: httpx.AsyncClient) -> None:
    await http.aclose()
    await ctx.sessions.kw["bind"].dispose()
    await ctx.locks.dispose()


async def _bad_request(_: Request, error: Exception) -> JSONResponse:
    """Validation errors answer 400 with one readable sentence, like DefectDojo's 400s."""
    assert isinstance(error, RequestValidationError)
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {item['msg']}")
    return JSONResponse({"detail": "; ".join(parts)}, status_code=400)


async def _unstorable_input(_: Request, error: Exception) -> JSONResponse:
    """Input the database refuses as data (a NUL character in text, a number past its
    column's range) is the client's mistake: 400, not 500. The routes validate what they
    know; this catches what slips past them. Any other database error stays a 500."""
    assert isinstance(error, DBAPIError)
    cause: BaseException | None = error.orig
    while cause is not None and not isinstance(cause, asyncpg.exceptions.DataError):
        cause = cause.__cause__
    if cause is None:
        raise error
    message = str(cause).split("\n", 1)[0]
    return JSONResponse(
        {"detail": f"a value of the request cannot be used: {message}"}, status_code=400
    )


def create_app(
    settings: Settings | None = None, *, dojo_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The service. `dojo_transport` lets tests put DefectDojo's test double behind httpx."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or Settings()
        configure_logging(current.log_level)
        ctx, http = await build_context(current, transport=dojo_transport)
        app.state.context = ctx
        track_index(lambda: len(ctx.index.index), lambda: ctx.index.built_at)
        tasks = []
        if current.run_worker:
            tasks.append(
                asyncio.create_task(worker.run(ctx, poll_seconds=current.worker_poll_seconds))
            )
        if current.dd_api_token is not None and current.index_refresh_seconds > 0:
            tasks.append(
                asyncio.create_task(ctx.index.run_refresh_loop(current.index_refresh_seconds))
            )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await close_context(ctx, http)

    app = FastAPI(
        title="Smart Upload for DefectDojo",
        version="0.1.0",
        description=(
            "Imports infrastructure scans into the DefectDojo products that own their hosts."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        root_path=(
            settings.root_path if settings else os.environ.get("SMART_UPLOAD_ROOT_PATH", "")
        ),
    )
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.mount(docs.ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(DBAPIError, _unstorable_input)
    for module in (uploads, unassigned, rules, routing, health, docs):
        app.include_router(module.router)
    document_errors(app)
    install_pages(app)
    return app


app = create_app()
