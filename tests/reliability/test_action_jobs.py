"""Action jobs survive their workers: a job whose worker died is resumed by another once its
lease expires, a worker whose lease was taken over stops, a failed push is recorded and the
job goes on — and no finding is pushed twice or lost on the way."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import update

from app.jobs.worker import claim_and_run_one
from app.services import action_jobs
from app.services.context import Context
from app.store import actions
from app.store.models import ActionJob
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.reliability.conftest import WorldFactory
from tests.reliability.helpers import Gate, eventually
from tests.reliability.world import ReliabilityWorld

IMPORT = "/api/v2/import-scan/"
REIMPORT = "/api/v2/reimport-scan/"
HOST = "qa3app01"


async def _two_uploads_and_a_job(world: ReliabilityWorld) -> tuple[int, str]:
    """The seven-host scan uploaded twice with nothing known, and a job assigning `HOST`'s
    findings of both to Payments: one push per upload (an import, then a reimport)."""
    product = world.product("Payments", world.alice)
    await world.refresh_index()
    for _ in range(2):
        assert (await world.upload(NESSUS_SEVEN_HOSTS)).status_code == 201
    response = await world.client.post(
        "/api/v2/smart_upload/unassigned_findings/assign/",
        headers=world.auth(world.alice),
        params={"wait": "false"},
        json={"all_matching": {"host": HOST}, "product": product.id},
    )
    assert response.status_code == 202, response.text
    return product.id, response.headers["Location"]


async def _job(world: ReliabilityWorld, location: str) -> dict[str, Any]:
    response = await world.client.get(location, headers=world.auth(world.alice))
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


async def _stored(ctx: Context, job_id: int) -> ActionJob:
    async with ctx.sessions() as session:
        job = await actions.get(session, job_id=job_id)
    assert job is not None
    return job


async def _expire_lease(ctx: Context, job_id: int) -> None:
    """What a worker that stopped renewing looks like to the others."""
    async with ctx.sessions.begin() as session:
        await session.execute(
            update(ActionJob)
            .where(ActionJob.id == job_id)
            .values(lease_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )


def _posts(world: ReliabilityWorld, path: str) -> list[int]:
    return [c.status for c in world.dojo.calls if c.path == path and c.method == "POST"]


async def _left(world: ReliabilityWorld) -> int:
    count: int = (await world.unassigned(host=HOST))["count"]
    return count


class TestResume:
    async def test_a_job_whose_worker_died_is_resumed_after_its_lease(
        self, make_world: WorldFactory
    ) -> None:
        gate = Gate("POST", REIMPORT)
        async with make_world(lease_seconds=30, dojo_wrapper=gate.wrap) as world:
            product_id, location = await _two_uploads_and_a_job(world)
            job_id = (await _job(world, location))["id"]
            selected = (await _job(world, location))["progress"]["selected"]
            first = world.context
            dying = asyncio.create_task(claim_and_run_one(first))
            await gate.entered.wait()

            dying.cancel()  # the worker dies while DefectDojo holds its second push
            await asyncio.gather(dying, return_exceptions=True)
            midway = await _job(world, location)
            assert (midway["status"], midway["progress"]["done"]) == ("running", selected // 2)
            assert not await claim_and_run_one(first)  # its lease still holds the job
            await _expire_lease(first, job_id)
            gate.release.set()
            second = dataclasses.replace(first, worker_id="second-worker")

            assert await claim_and_run_one(second)

            done = await _job(world, location)
            assert (done["status"], done["attempts"]) == ("finished", 2)
            assert done["progress"] == {"selected": selected, "done": selected}
            assert done["result"]["assigned"] == selected
            assert [r["status"] for r in done["result"]["results"]] == ["pushed", "pushed"]
            # each upload's findings reached DefectDojo once: the dead worker's reimport
            # never got through, the second worker did not push the first upload again
            assert (_posts(world, IMPORT), _posts(world, REIMPORT)) == ([201], [201])
            assert await _left(world) == 0
            assert {h for _, h in world.finding_hosts(world.dojo.products[product_id])} == {HOST}
            assert (await _stored(first, job_id)).caller_token is None

    async def test_a_worker_whose_lease_was_taken_over_pushes_nothing_twice(
        self, make_world: WorldFactory
    ) -> None:
        gate = Gate("POST", REIMPORT)
        async with make_world(lease_seconds=30, dojo_wrapper=gate.wrap) as world:
            _, location = await _two_uploads_and_a_job(world)
            job_id = (await _job(world, location))["id"]
            first = world.context
            second = dataclasses.replace(first, worker_id="second-worker")
            running_first = asyncio.create_task(claim_and_run_one(first))
            await gate.entered.wait()

            await _expire_lease(first, job_id)
            running_second = asyncio.create_task(claim_and_run_one(second))

            async def taken_over() -> bool | None:
                claimed_by = (await _stored(first, job_id)).claimed_by or ""
                return True if claimed_by.startswith("second-worker/") else None

            await eventually(taken_over, what="the second worker's claim")
            gate.release.set()
            assert await running_first and await running_second

            done = await _job(world, location)
            assert (done["status"], done["attempts"]) == ("finished", 2)
            assert len(done["result"]["results"]) == 2
            # the first worker's push landed and was recorded with its findings; the
            # second found that upload handled and pushed nothing
            assert (_posts(world, IMPORT), _posts(world, REIMPORT)) == ([201], [201])
            assert await _left(world) == 0

    async def test_a_failed_push_is_recorded_and_sending_the_action_again_finishes_it(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(dd_retry_attempts=2) as world:
            product_id, location = await _two_uploads_and_a_job(world)
            world.dojo.faults.fail("POST", REIMPORT, status=500, times=2)

            assert await claim_and_run_one(world.context)

            done = await _job(world, location)
            half = done["progress"]["selected"] // 2
            assert done["status"] == "finished"
            assert done["result"]["assigned"] == half
            assert [r["status"] for r in done["result"]["results"]] == ["pushed", "failed"]
            assert done["progress"]["done"] == 2 * half
            kept = (await world.unassigned(host=HOST))["results"]
            assert len(kept) == half and all(item["error"] for item in kept)

            again = await world.client.post(
                "/api/v2/smart_upload/unassigned_findings/assign/",
                headers=world.auth(world.alice),
                json={"all_matching": {"host": HOST}, "product": product_id},
            )

            assert again.status_code == 200, again.text
            assert again.json()["assigned"] == half
            assert (_posts(world, IMPORT), _posts(world, REIMPORT)) == ([201], [500, 500, 201])
            assert await _left(world) == 0


class TestEnds:
    async def test_a_job_that_keeps_dying_ends_failed(self, make_world: WorldFactory) -> None:
        async with make_world(max_attempts=2) as world:
            _, location = await _two_uploads_and_a_job(world)
            job_id = (await _job(world, location))["id"]
            ctx = world.context
            for claim in ("died-1", "died-2"):
                async with ctx.sessions.begin() as session:
                    await actions.claim(
                        session, claim=claim, lease=dt.timedelta(seconds=30), job_id=job_id
                    )
                await _expire_lease(ctx, job_id)

            assert await claim_and_run_one(ctx)

            done = await _job(world, location)
            assert done["status"] == "failed"
            assert "gave up after 2 runs" in done["error"]
            assert done["result"] == {
                "assigned": 0,
                "product_id": done["product_id"],
                "results": [],
            }
            assert not await claim_and_run_one(ctx)
            assert world.dojo.tests == {}
            assert (await _stored(ctx, job_id)).caller_token is None

    async def test_a_run_that_lost_its_lease_disregards_nothing(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            await world.refresh_index()
            await world.upload(NESSUS_SEVEN_HOSTS)
            before = await _left(world)
            response = await world.client.post(
                "/api/v2/smart_upload/unassigned_findings/disregard/",
                headers=world.auth(world.alice),
                params={"wait": "false"},
                json={"all_matching": {"host": HOST}},
            )
            job_id = response.json()["id"]
            ctx = world.context
            async with ctx.sessions.begin() as session:
                await actions.claim(
                    session, claim="gone", lease=dt.timedelta(seconds=30), job_id=job_id
                )
            await _expire_lease(ctx, job_id)
            async with ctx.sessions.begin() as session:
                await actions.claim(
                    session, claim="new", lease=dt.timedelta(seconds=30), job_id=job_id
                )

            await action_jobs.run(ctx, job_id, claim="gone")

            stored = await _stored(ctx, job_id)
            assert (stored.status, stored.claimed_by, stored.done) == ("running", "new", 0)
            assert await _left(world) == before
