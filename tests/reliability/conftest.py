"""Fixtures of the reliability tests: the e2e `World` with settings of the test's choosing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from starlette.types import ASGIApp

from app.main import create_app
from app.settings import Settings
from tests.fakedojo.app import create_fakedojo
from tests.fakedojo.faults import FakeDojoTransport
from tests.fakedojo.state import FakeDojoState
from tests.reliability.world import ReliabilityWorld, ServedDojo, WorldFactory


@pytest.fixture
async def make_world(clean_database: str) -> AsyncIterator[WorldFactory]:
    """`async with make_world(served=False, **settings) as world:` — the e2e World with
    these settings; `served=True` puts the double behind real HTTP (`world.served`),
    `dojo_wrapper` wraps the double's ASGI app (to hold a call at a gate)."""

    @contextlib.asynccontextmanager
    async def open_world(
        *,
        served: bool = False,
        dojo_wrapper: Callable[[ASGIApp], ASGIApp] | None = None,
        **overrides: Any,
    ) -> AsyncIterator[ReliabilityWorld]:
        state = FakeDojoState()
        admin = state.add_user("admin", is_superuser=True, is_staff=True)
        service = state.add_user("smart-upload-index", is_staff=True, is_superuser=True)
        alice = state.add_user("alice")
        bob = state.add_user("bob")
        dojo_app: ASGIApp = create_fakedojo(state)
        if dojo_wrapper is not None:
            dojo_app = dojo_wrapper(dojo_app)
        server = ServedDojo(dojo_app) if served else None
        values: dict[str, Any] = {
            "database_url": clean_database,
            "dd_url": server.url if server else "http://dojo.test",
            "dd_api_token": SecretStr(service.token),
            "run_worker": False,
            "index_refresh_seconds": 0,
            "dd_retry_initial_wait_seconds": 0,
            "dd_retry_max_wait_seconds": 0,
            **overrides,
        }
        app = create_app(
            Settings(**values), dojo_transport=None if server else FakeDojoTransport(dojo_app)
        )
        if server:
            await server.start()
        try:
            async with LifespanManager(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://su.test") as c:
                    yield ReliabilityWorld(
                        dojo=state,
                        app=app,
                        client=c,
                        admin=admin,
                        alice=alice,
                        bob=bob,
                        served=server,
                    )
        finally:
            if server:
                await server.stop()

    yield open_world
