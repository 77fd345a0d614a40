"""The engine's pool hands out live connections without a ping round trip per checkout:
a connection the server ended is replaced, one that sat idle is pinged first."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store import db


def _async_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://")


async def _backend_of(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        pid: int = await connection.scalar(text("SELECT pg_backend_pid()"))
        return pid


class TestCheckout:
    async def test_a_connection_the_server_ended_is_replaced(self, clean_database: str) -> None:
        engine = db.create_engine(_async_url(clean_database), pool_size=1, max_overflow=0)
        try:
            first = await _backend_of(engine)
            admin = await asyncpg.connect(clean_database)
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", first)
                # until the server has ended it; each query also lets the pooled connection
                # read the server's goodbye
                while await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first
                ):
                    pass
                await admin.fetchval("SELECT 1")
            finally:
                await admin.close()

            assert await _backend_of(engine) != first
        finally:
            await engine.dispose()

    @pytest.mark.parametrize("answers", [True, False], ids=["alive", "dead"])
    async def test_an_idle_connection_is_pinged_first(
        self, clean_database: str, monkeypatch: pytest.MonkeyPatch, answers: bool
    ) -> None:
        engine = db.create_engine(_async_url(clean_database), pool_size=1, max_overflow=0)
        pings: list[int] = []

        def ping(connection: AsyncAdapt_asyncpg_connection) -> None:
            pings.append(1)
            if not answers:
                raise ConnectionError("no answer")

        try:
            first = await _backend_of(engine)
            monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", ping)
            assert await _backend_of(engine) == first  # just used: no ping
            assert pings == []

            monkeypatch.setattr(db, "IDLE_CHECK_SECONDS", -1.0)  # now everything has idled
            again = await _backend_of(engine)

            assert pings[:1] == [1]
            assert (again == first) is answers
        finally:
            await engine.dispose()
