"""Durable jobs in one process: leases kept alive by the heartbeat, a worker that lost its
lease stops touching the upload, and an upload that keeps dying is given up."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from sqlalchemy import update

from app.jobs.worker import claim_and_run_one
from app.services.context import Context
from app.services.processing import process_upload
from app.store import uploads
from app.store.models import Upload
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.reliability.conftest import WorldFactory
from tests.reliability.helpers import Gate, eventually, own_hosts, summary
from tests.reliability.world import ReliabilityWorld

IMPORT = "/api/v2/import-scan/"


async def _stored(ctx: Context, upload_id: int) -> Upload:
    async with ctx.sessions() as session:
        upload = await uploads.get(session, upload_id=upload_id)
    assert upload is not None
    return upload


async def _claimable(ctx: Context, upload_id: int) -> bool:
    """Whether another worker could take the upload now (tried, then rolled back)."""
    async with ctx.sessions() as session:
        claimed = await uploads.claim(
            session, claim="probe", lease=dt.timedelta(seconds=1), upload_id=upload_id
        )
        await session.rollback()
    return claimed is not None


async def _expire_lease(ctx: Context, upload_id: int) -> None:
    """What a worker that stopped renewing looks like to the others."""
    async with ctx.sessions.begin() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == upload_id)
            .values(lease_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )


async def _queued(world: ReliabilityWorld) -> int:
    await own_hosts(world)
    response = await world.upload(NESSUS_SEVEN_HOSTS, wait="false")
    assert response.status_code == 202, response.text
    upload_id: int = response.json()["id"]
    return upload_id


class TestLease:
    async def test_heartbeat_keeps_a_long_push_from_being_taken_over(
        self, make_world: WorldFactory
    ) -> None:
        gate = Gate("POST", IMPORT)
        async with make_world(lease_seconds=0.3, dojo_wrapper=gate.wrap) as world:
            upload_id = await _queued(world)
            running = asyncio.create_task(claim_and_run_one(world.context))
            await gate.entered.wait()
            seen = [(await _stored(world.context, upload_id)).lease_expires_at]

            async def renewed_twice() -> bool | None:
                assert not await _claimable(world.context, upload_id)
                current = (await _stored(world.context, upload_id)).lease_expires_at
                if current != seen[-1]:
                    seen.append(current)
                return True if len(seen) >= 3 else None

            await eventually(renewed_twice, what="two lease renewals")
            gate.release.set()
            await running

            done = await summary(world, upload_id)
            assert done["status"] == "completed"
            assert done["products"][0]["attempts"] == 1

    async def test_worker_that_lost_its_lease_stops_and_the_new_one_finishes(
        self, make_world: WorldFactory
    ) -> None:
        gate = Gate("POST", IMPORT)
        async with make_world(lease_seconds=30, dojo_wrapper=gate.wrap) as world:
            upload_id = await _queued(world)
            first = world.context
            second = dataclasses.replace(first, worker_id="second-worker")
            running_first = asyncio.create_task(claim_and_run_one(first))
            await gate.entered.wait()

            await _expire_lease(first, upload_id)
            running_second = asyncio.create_task(claim_and_run_one(second))

            async def taken_over() -> bool | None:
                claimed_by = (await _stored(first, upload_id)).claimed_by or ""
                return True if claimed_by.startswith("second-worker/") else None

            await eventually(taken_over, what="the second worker's claim")
            gate.release.set()
            assert await running_first and await running_second

            done = await summary(world, upload_id)
            [push] = done["products"]
            assert done["status"] == "completed"
            # the first import landed but its worker could no longer record it; the second
            # worker found that test and reimported into it
            assert (push["status"], push["push"], push["attempts"]) == ("pushed", "reimport", 2)
            assert len(world.dojo.tests) == 1
            assert push["test_id"] == next(iter(world.dojo.tests))
            assert (await _stored(first, upload_id)).attempts == 2

    async def test_lost_before_the_plan_commits_writes_nothing(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            upload_id = await _queued(world)
            ctx = world.context
            async with ctx.sessions.begin() as session:
                await uploads.claim(
                    session, claim="gone", lease=dt.timedelta(seconds=30), upload_id=upload_id
                )
            await _expire_lease(ctx, upload_id)
            async with ctx.sessions.begin() as session:
                await uploads.claim(
                    session, claim="new", lease=dt.timedelta(seconds=30), upload_id=upload_id
                )

            await process_upload(ctx, upload_id, claim="gone")

            stored = await _stored(ctx, upload_id)
            assert (stored.status, stored.step, stored.claimed_by) == (
                "processing",
                "stored",
                "new",
            )
            assert (await world.unassigned())["count"] == 0
            assert not [c for c in world.dojo.calls if c.path == IMPORT]


class TestGivingUp:
    async def test_upload_that_keeps_dying_ends_failed(self, make_world: WorldFactory) -> None:
        async with make_world(max_attempts=2) as world:
            upload_id = await _queued(world)
            ctx = world.context
            for claim in ("died-1", "died-2"):
                async with ctx.sessions.begin() as session:
                    await uploads.claim(
                        session, claim=claim, lease=dt.timedelta(seconds=30), upload_id=upload_id
                    )
                await _expire_lease(ctx, upload_id)

            assert await claim_and_run_one(ctx)

            done = await summary(world, upload_id)
            assert done["status"] == "failed"
            assert "gave up after 2 runs" in done["error"]
            assert not await claim_and_run_one(ctx)
            assert world.dojo.tests == {}
