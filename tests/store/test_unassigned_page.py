"""The unassigned list's page count: exact up to a bound, PostgreSQL's estimate above it,
and `next` exact either way (the list stays fast with a million rows)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.store import unassigned
from app.store.db import create_engine, create_sessionmaker
from app.store.models import Upload
from app.store.unassigned import UnassignedFilter


@pytest.fixture
async def session(clean_database: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(clean_database.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def _row(upload_id: int, index: int) -> dict[str, Any]:
    return {
        "upload_id": upload_id,
        "record_index": index,
        "title": f"Finding {index}",
        "severity": "High" if index % 2 else "Low",
        "severity_rank": 3 if index % 2 else 1,
        "scan_type": "Tenable Scan",
        "reporter_id": 1,
        "reporter": "alice",
        "host_display": f"host{index}.example.com",
        "identifiers": [f"host{index}.example.com"],
        "reason": "no_match",
        "candidates": [],
        "explanation": "",
        "vulnerability_ids": [],
        "description": "",
    }


async def _fill(session: AsyncSession, rows: int) -> None:
    upload = Upload(
        status="completed",
        scan_type="Tenable Scan",
        format_name="tenable-xml",
        file_name="scan.nessus",
        file_sha256="0" * 64,
        file_size=0,
        uploaded_by_id=1,
        uploaded_by_username="alice",
    )
    session.add(upload)
    await session.flush()
    await unassigned.insert_many(session, [_row(upload.id, i) for i in range(rows)])
    await session.commit()


async def _page(
    session: AsyncSession, *, offset: int = 0, severity: str | None = None
) -> tuple[int, bool, int]:
    count, estimated, rows = await unassigned.list_page_counted(
        session,
        filters=UnassignedFilter(severity=severity),
        owner_id=None,
        ordering="id",
        limit=10,
        offset=offset,
        exact_up_to=50,
    )
    return count, estimated, len(rows)


class TestListPageCounted:
    async def test_exact_up_to_the_bound(self, session: AsyncSession) -> None:
        await _fill(session, 80)
        assert await _page(session, severity="High") == (40, False, 10)

    async def test_estimate_above_the_bound(self, session: AsyncSession) -> None:
        await _fill(session, 80)
        count, estimated, shown = await _page(session)
        assert estimated is True
        assert count > 50
        assert shown == 10

    async def test_last_page_is_exact_whatever_the_size(self, session: AsyncSession) -> None:
        await _fill(session, 80)
        assert await _page(session, offset=75) == (80, False, 5)

    async def test_past_the_end(self, session: AsyncSession) -> None:
        await _fill(session, 30)
        assert await _page(session, offset=40) == (30, False, 0)

    async def test_empty(self, session: AsyncSession) -> None:
        assert await _page(session) == (0, False, 0)


async def _host_page(session: AsyncSession, host: str, *, offset: int = 0) -> tuple[int, bool, int]:
    count, estimated, rows = await unassigned.list_page_counted(
        session,
        filters=UnassignedFilter(host=host),
        owner_id=None,
        ordering="-severity",
        limit=10,
        offset=offset,
        exact_up_to=50,
    )
    return count, estimated, len(rows)


class TestSubstringFilterCountedFirst:
    """A substring search counts its matches and takes the page from them in one statement."""

    async def test_exact_when_few_match(self, session: AsyncSession) -> None:
        await _fill(session, 80)
        # host7 and host70 .. host79
        assert await _host_page(session, "HOST7") == (11, False, 10)

    async def test_past_the_end(self, session: AsyncSession) -> None:
        await _fill(session, 80)
        assert await _host_page(session, "host7", offset=20) == (11, False, 0)

    async def test_estimate_when_more_than_the_bound_match(self, session: AsyncSession) -> None:
        await _fill(session, 80)
        count, estimated, shown = await _host_page(session, "example")
        assert estimated is True
        assert count > 50
        assert shown == 10

    async def test_the_host_filter_searches_the_joined_identifiers_index(
        self, session: AsyncSession
    ) -> None:
        sql, names = unassigned._list_query(("host",), "-severity").sql(
            "page", session.bind.dialect
        )
        connection = await session.connection()
        driver: Any = (await connection.get_raw_connection()).driver_connection
        values = {"host": "%host7%", "limit": 10, "offset": 0}

        async with driver.transaction():
            await driver.execute("SET LOCAL enable_seqscan = off")
            plan = await driver.fetch("EXPLAIN " + sql, *(values[name] for name in names))

        assert "ix_unassigned_host_search_trgm" in "\n".join(row[0] for row in plan)


class TestDriverErrors:
    async def test_come_wrapped_as_sqlalchemy_wraps_them(self, session: AsyncSession) -> None:
        # the app answers 400 for a DBAPIError whose driver error is a DataError
        with pytest.raises(DBAPIError) as raised:
            await unassigned.list_page_counted(
                session,
                filters=UnassignedFilter(),
                owner_id=2**40,  # past the integer column's range
                ordering="id",
                limit=10,
                offset=0,
            )
        assert isinstance(raised.value.orig, asyncpg.exceptions.DataError)
