"""Small helpers shared by the in-process reliability tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from app.jobs.worker import claim_and_run_one
from tests.e2e.conftest import World
from tests.reliability.world import ReliabilityWorld

T = TypeVar("T")
OWNED_HOSTS = ("qa3app01", "qa3app02", "qa3app03")


async def own_hosts(
    world: World, name: str = "Payments", hosts: tuple[str, ...] = OWNED_HOSTS
) -> int:
    """A product of alice's that owns `hosts`, known to the index."""
    product = world.product(name, world.alice)
    for host in hosts:
        world.dojo.add_endpoint(product.id, host)
    await world.refresh_index()
    return product.id


async def summary(world: World, upload_id: int, *, user: Any = None) -> dict[str, Any]:
    response = await world.client.get(
        f"/api/v2/smart_upload/uploads/{upload_id}", headers=world.auth(user or world.alice)
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def run_queued(world: ReliabilityWorld) -> int:
    """Run the worker until no upload waits; how many it ran."""
    ran = 0
    while await claim_and_run_one(world.context):
        ran += 1
    return ran


def add_up(records: dict[str, int]) -> bool:
    return (
        records["routed"] + records["unassigned"] + records["dropped_below_minimum_severity"]
        == records["parsed"]
    )


class Gate:
    """ASGI middleware for the double that holds calls to one route until released, so a
    test can act while a call is in flight, without guessing how long it takes."""

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def gated(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and (scope["method"], scope["path"]) == (
                self.method,
                self.path,
            ):
                self.entered.set()
                await self.release.wait()
            await app(scope, receive, send)

        return gated


async def eventually(check: Callable[[], Awaitable[T | None]], *, what: str) -> T:
    """Poll `check()` until it returns something, for at most 10 s."""
    for _ in range(1000):
        result = await check()
        if result is not None:
            return result
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")
