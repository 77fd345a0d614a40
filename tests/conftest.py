"""Shared fixtures: a real PostgreSQL database migrated once by Alembic, emptied per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from alembic.config import Config

from alembic import command

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SMART_UPLOAD_SHARED", REPO.parent / "shared"))
SCANS = SHARED / "scans"

ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
# One database per test process, so parallel runs on one machine never share (or drop)
# each other's tables; it is dropped when the run ends.
TEST_DATABASE = os.environ.get("TEST_DATABASE_NAME", f"smart_upload_test_{os.getpid()}")
TEST_DATABASE_URL = ADMIN_URL.rsplit("/", 1)[0] + f"/{TEST_DATABASE}"

TABLES = (
    "unassigned_findings, product_pushes, upload_chunks, uploads, host_assignments, "
    "index_endpoints, index_products, index_state, routing_rules, routing_rule_changes, "
    "action_jobs"
)


async def _drop_database(connection: asyncpg.Connection) -> None:
    await connection.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
        TEST_DATABASE,
    )
    await connection.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}"')


async def _recreate_database() -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await _drop_database(connection)
        await connection.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
    finally:
        await connection.close()


async def _remove_database() -> None:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await _drop_database(connection)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this run, migrated to head by Alembic."""
    asyncio.run(_recreate_database())
    config = Config(str(REPO / "alembic.ini"))
    config.attributes["database_url"] = TEST_DATABASE_URL.replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    command.upgrade(config, "head")
    yield TEST_DATABASE_URL
    asyncio.run(_remove_database())


@pytest.fixture
async def clean_database(database_url: str) -> AsyncIterator[str]:
    """The test database, emptied before the test."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()
    yield database_url
