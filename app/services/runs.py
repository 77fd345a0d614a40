"""One worker's run of one upload: its claim on the upload, its lease and the heartbeat that
renews it (for action jobs too), and the test-only crash points of the recovery tests."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.services.context import Context
from app.store.uploads import LeaseLost

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Run:
    """A hold on one upload: the claim it was taken under, and whether the lease was lost
    (set by the heartbeat when another worker took the upload over)."""

    upload_id: int
    claim: str
    lost: bool = False

    def check(self) -> None:
        """Stop before the next step when the lease is gone."""
        if self.lost:
            raise LeaseLost(self.upload_id, self.claim)


def new_claim(ctx: Context) -> str:
    """A claim id unique to one run of one upload by this process."""
    return f"{ctx.worker_id}/{secrets.token_hex(6)}"


def lease(ctx: Context) -> dt.timedelta:
    return dt.timedelta(seconds=ctx.settings.lease_seconds)


def crash_point(ctx: Context, name: str) -> None:
    """Tests only (`SMART_UPLOAD_TEST_CRASH_AT`): die here as a SIGKILL would, to prove that
    a run killed at this point is resumed to the same end state (docs/reliability.md)."""
    if ctx.settings.test_crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)


class Held(Protocol):
    """A run that holds a lease: flagged `lost` when another worker took its work over."""

    lost: bool


@contextlib.asynccontextmanager
async def heartbeat(
    ctx: Context,
    run: Held,
    renew: Callable[[], Awaitable[bool]],
    *,
    failure_event: str,
    extra: dict[str, Any],
) -> AsyncIterator[None]:
    """Renew the lease (`renew`: False when another worker holds it now) every third of it
    while the run works; flag the run when it was taken over, so it stops before its next
    step."""
    every = ctx.settings.lease_seconds / 3

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                held = await renew()
            except Exception:  # the database hiccuped; the lease still has two beats left
                log.warning(failure_event, extra=extra)
                continue
            if not held:
                run.lost = True
                return

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
