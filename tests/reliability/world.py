"""The worlds of the reliability tests: the e2e `World` plus the double served over real
HTTP in the test's own event loop (for timeouts, refused connections and DefectDojo going
away and coming back, which the in-process transport cannot show)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from app.services.context import Context
from tests.e2e.conftest import World
from tests.reliability.processes import free_port


class ServedDojo:
    """The double behind a real uvicorn server on a loopback port; `stop()` and `start()`
    take DefectDojo away and bring it back with its state intact."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                return
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        raise AssertionError("the DefectDojo double did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None


@dataclass
class ReliabilityWorld(World):
    served: ServedDojo | None = None
    """The double's HTTP server, when the world was opened with `served=True`."""

    @property
    def context(self) -> Context:
        context: Context = self.app.state.context
        return context


WorldFactory = Callable[..., contextlib.AbstractAsyncContextManager[ReliabilityWorld]]
