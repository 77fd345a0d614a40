"""The database engine and session factory, built once by the app's lifespan."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

SessionMaker = async_sessionmaker[AsyncSession]

IDLE_CHECK_SECONDS = 10.0
"""A pooled connection left unused for longer is pinged before it is handed out."""
POOL_SIZE = 20
"""Connections kept open. Above it the pool opens more and closes them again as soon as
they come back (max_overflow): with 10, sixteen concurrent list requests opened ~20 new
connections a second, each a new server process and a new set of prepared statements."""


def create_engine(url: str, *, pool_size: int = POOL_SIZE, max_overflow: int = 10) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        json_serializer=_dump_json,
        json_deserializer=orjson.loads,
    )
    event.listen(engine.sync_engine, "checkin", _checked_in)
    event.listen(engine.sync_engine, "checkout", _check_on_checkout)
    return engine


def _dump_json(value: object) -> str:
    """JSON columns go through orjson (several times faster than `json` on the unassigned
    rows and push summaries), keeping `json.dumps`'s acceptance of non-string keys."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def _checked_in(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _check_on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
    """What `pool_pre_ping` guarded against, without its round trips on every checkout
    (BEGIN, SELECT, ROLLBACK: three of a list request's five): a connection the driver
    knows is closed (the server restarted or ended it) is replaced at once, and one that
    sat unused for IDLE_CHECK_SECONDS is pinged first. The pool replaces a connection
    that fails here; one that breaks unnoticed fails its statement, which makes the pool
    replace all connections as old as it."""
    driver = record.driver_connection
    if driver is None or driver.is_closed():
        raise DisconnectionError("the database closed this connection")
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is not None and time.monotonic() - checked_in_at > IDLE_CHECK_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError("the database did not answer a ping") from error
