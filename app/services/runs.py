"""One worker's run of one upload: its claim on the upload, its lease, and the test-only
crash points of the recovery tests."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
from dataclasses import dataclass

from app.services.context import Context
from app.store.uploads import LeaseLost


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
