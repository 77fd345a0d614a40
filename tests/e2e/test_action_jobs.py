"""Large actions on unassigned findings run as jobs: past the threshold (or with
`wait=false`) assign, create_product and disregard are checked within the request, stored,
answered 202 with a Location, and finished by the worker with the answer the request would
have given."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.jobs.worker import claim_and_run_one
from app.services.context import Context
from app.store.models import ActionJob, Upload
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS, World
from tests.fakedojo.models import User

THRESHOLD = 10
ACTIONS = "/api/v2/smart_upload/unassigned_findings/actions/"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"action_job_threshold": THRESHOLD, "action_batch_size": 10}


def _context(world: World) -> Context:
    context: Context = world.app.state.context
    return context


async def _upload_unrouted(world: World) -> int:
    """Upload the seven-host scan with nothing known: every record unassigned."""
    await world.refresh_index()
    response = await world.upload(NESSUS_SEVEN_HOSTS)
    assert response.status_code == 201, response.text
    upload_id: int = response.json()["id"]
    return upload_id


async def _ids_of_host(world: World, host: str, user: User | None = None) -> list[int]:
    listed = await world.unassigned(user=user or world.alice, host=host)
    return [item["id"] for item in listed["results"] if item["host"]["fqdn"] == host]


async def _action(
    world: World, action: str, body: dict[str, Any], *, user: User | None = None, **params: str
) -> httpx.Response:
    return await world.client.post(
        f"/api/v2/smart_upload/unassigned_findings/{action}/",
        headers=world.auth(user or world.alice),
        json=body,
        params=params,
    )


async def _job(world: World, location: str, user: User | None = None) -> dict[str, Any]:
    response = await world.client.get(location, headers=world.auth(user or world.alice))
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


async def _run_worker(world: World) -> int:
    ran = 0
    while await claim_and_run_one(_context(world)):
        ran += 1
    return ran


async def _stored_jobs(world: World) -> list[ActionJob]:
    async with _context(world).sessions() as session:
        return list(await session.scalars(select(ActionJob).order_by(ActionJob.id)))


class TestAssignJob:
    async def test_past_the_threshold_answers_202_and_the_worker_finishes_it(
        self, world: World
    ) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app01")
        assert len(ids) > THRESHOLD

        response = await _action(world, "assign", {"ids": ids, "product": product.id})

        assert response.status_code == 202, response.text
        queued = response.json()
        location = response.headers["Location"]
        assert location == f"{ACTIONS}{queued['id']}/" == queued["url"]
        assert (queued["kind"], queued["status"]) == ("assign", "queued")
        assert queued["progress"] == {"selected": len(ids), "done": 0}
        assert queued["request"] == {"product": product.id, "all_matching": None}
        assert (queued["product_id"], queued["product_name"]) == (product.id, "Payments")
        assert queued["requested_by"]["username"] == "alice"
        assert queued["result"] is None
        assert world.dojo.tests == {}
        assert len(await _ids_of_host(world, "qa3app01")) == len(ids)

        assert await _run_worker(world) == 1

        done = await _job(world, location)
        assert (done["status"], done["error"], done["attempts"]) == ("finished", None, 1)
        assert done["progress"] == {"selected": len(ids), "done": len(ids)}
        assert done["finished_at"] is not None
        [result] = done["result"]["results"]
        assert done["result"]["assigned"] == len(ids)
        assert (result["status"], result["records"]) == ("pushed", len(ids))
        assert {host for _, host in world.finding_hosts(product)} == {"qa3app01"}
        assert await _ids_of_host(world, "qa3app01") == []
        [stored] = await _stored_jobs(world)
        assert stored.caller_token is None and stored.claimed_by is None

    async def test_the_job_answers_as_the_request_would(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        in_job = await _ids_of_host(world, "qa3app01")
        in_request = await _ids_of_host(world, "qa3app02")
        response = await _action(world, "assign", {"ids": in_job, "product": product.id})
        await _run_worker(world)

        answered = await _action(
            world, "assign", {"ids": in_request, "product": product.id}, wait="true"
        )

        assert answered.status_code == 200, answered.text
        from_job = (await _job(world, response.headers["Location"]))["result"]
        from_request = answered.json()
        assert from_job.keys() == from_request.keys()
        assert from_job["results"][0].keys() == from_request["results"][0].keys()
        # one upload, one product: the second assignment reimported into the job's test
        assert from_job["results"][0]["test_id"] == from_request["results"][0]["test_id"]
        assert {host for _, host in world.finding_hosts(product)} == {"qa3app01", "qa3app02"}

    async def test_all_matching_counts_the_matching_findings(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        expected = len(await _ids_of_host(world, "qa3app05"))

        response = await _action(
            world, "assign", {"all_matching": {"host": "qa3app05"}, "product": product.id}
        )

        assert response.status_code == 202, response.text
        assert response.json()["progress"]["selected"] == expected
        await _run_worker(world)
        assert (await _job(world, response.headers["Location"]))["result"]["assigned"] == expected
        assert await _ids_of_host(world, "qa3app05") == []

    async def test_a_small_selection_answers_within_the_request(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        ids = (await _ids_of_host(world, "qa3app01"))[:THRESHOLD]

        response = await _action(world, "assign", {"ids": ids, "product": product.id})

        assert response.status_code == 200, response.text
        assert response.json()["assigned"] == THRESHOLD
        assert await _stored_jobs(world) == []

    async def test_wait_false_queues_even_a_small_selection(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        ids = (await _ids_of_host(world, "qa3app01"))[:3]

        response = await _action(world, "assign", {"ids": ids, "product": product.id}, wait="false")

        assert response.status_code == 202, response.text
        assert world.dojo.tests == {}
        await _run_worker(world)
        assert (await _job(world, response.headers["Location"]))["result"]["assigned"] == 3

    async def test_wait_true_keeps_a_large_selection_in_the_request(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app01")

        response = await _action(world, "assign", {"ids": ids, "product": product.id}, wait="true")

        assert response.status_code == 200, response.text
        assert response.json()["assigned"] == len(ids)


class TestCreateProductJob:
    async def test_the_product_is_created_at_once_and_the_findings_by_the_job(
        self, world: World
    ) -> None:
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app02")

        response = await _action(
            world,
            "create_product",
            {"ids": ids, "product_name": "Kiosks", "product_type_name": "Retail"},
            user=world.admin,
        )

        assert response.status_code == 202, response.text
        [created] = [p for p in world.dojo.products.values() if p.name == "Kiosks"]
        assert response.json()["product_id"] == created.id
        assert world.dojo.tests == {}
        await _run_worker(world)
        done = await _job(world, response.headers["Location"], user=world.admin)
        assert (done["kind"], done["status"]) == ("create_product", "finished")
        assert done["result"]["results"][0]["product_id"] == created.id
        assert {host for _, host in world.finding_hosts(created)} == {"qa3app02"}

    async def test_a_taken_name_is_a_400_and_stores_no_job(self, world: World) -> None:
        world.product("Kiosks", world.alice)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app02")

        response = await _action(
            world,
            "create_product",
            {"ids": ids, "product_name": "Kiosks", "product_type": 1},
            user=world.admin,
        )

        assert response.status_code == 400
        assert "already exists" in response.json()["detail"]
        assert await _stored_jobs(world) == []


class TestDisregardJob:
    async def test_removes_in_batches_and_leaves_findings_kept_later(self, world: World) -> None:
        batches: list[int] = []

        class Batches(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.getMessage() == "action.disregard.batch":
                    batches.append(record.removed)  # type: ignore[attr-defined]

        handler = Batches(logging.INFO)
        logger = logging.getLogger("app.services.action_jobs")
        logger.addHandler(handler)
        try:
            await _upload_unrouted(world)
            expected = len(await _ids_of_host(world, "qa3app09"))
            response = await _action(world, "disregard", {"all_matching": {"host": "qa3app09"}})
            assert response.status_code == 202, response.text
            # a later upload's findings match the filter too, but were not selected
            await world.upload(NESSUS_SEVEN_HOSTS)

            await _run_worker(world)
        finally:
            logger.removeHandler(handler)

        done = await _job(world, response.headers["Location"])
        assert done["result"] == {"disregarded": expected}
        assert done["progress"] == {"selected": expected, "done": expected}
        assert batches == [10] * (expected // 10) + [expected % 10]
        assert len(await _ids_of_host(world, "qa3app09")) == expected
        assert world.dojo.tests == {}

    async def test_findings_gone_meanwhile_are_no_error(self, world: World) -> None:
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app09")
        response = await _action(world, "disregard", {"ids": ids})
        assert response.status_code == 202, response.text

        gone = await _action(world, "disregard", {"ids": ids[:5]})
        assert gone.json() == {"disregarded": 5}
        await _run_worker(world)

        done = await _job(world, response.headers["Location"])
        assert (done["status"], done["result"]) == ("finished", {"disregarded": len(ids) - 5})
        assert await _ids_of_host(world, "qa3app09") == []

    async def test_a_filter_matching_nothing_yet_disregards_nothing_later(
        self, world: World
    ) -> None:
        await world.refresh_index()
        response = await _action(
            world, "disregard", {"all_matching": {"host": "qa3app09"}}, wait="false"
        )
        assert response.status_code == 202, response.text
        await world.upload(NESSUS_SEVEN_HOSTS)

        await _run_worker(world)

        assert (await _job(world, response.headers["Location"]))["result"] == {"disregarded": 0}
        assert await _ids_of_host(world, "qa3app09") != []

    async def test_the_stored_file_is_dropped_when_nothing_waits(self, world: World) -> None:
        upload_id = await _upload_unrouted(world)

        response = await _action(world, "disregard", {"all_matching": {"upload": upload_id}})
        await _run_worker(world)

        assert (await _job(world, response.headers["Location"]))["result"]["disregarded"] == 296
        async with _context(world).sessions() as session:
            upload = await session.get(Upload, upload_id)
        assert upload is not None and not upload.file_retained


class TestSynchronousChecks:
    async def test_another_users_findings_are_not_found(self, world: World) -> None:
        product = world.product("Payments", world.bob)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app01")

        response = await _action(
            world, "assign", {"ids": ids, "product": product.id}, user=world.bob
        )

        assert response.status_code == 404
        assert await _stored_jobs(world) == []

    async def test_a_product_the_caller_cannot_see_is_not_found(self, world: World) -> None:
        hidden = world.product("Secret", world.bob)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app01")

        response = await _action(world, "assign", {"ids": ids, "product": hidden.id})

        assert response.status_code == 404
        assert await _stored_jobs(world) == []

    async def test_nothing_matching_is_not_found(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)

        response = await _action(
            world,
            "assign",
            {"all_matching": {"host": "no-such-host"}, "product": product.id},
            wait="false",
        )

        assert response.status_code == 404
        assert await _stored_jobs(world) == []

    async def test_a_bad_body_is_a_400(self, world: World) -> None:
        response = await _action(world, "disregard", {"ids": []}, wait="false")

        assert response.status_code == 400
        assert await _stored_jobs(world) == []

    async def test_an_upload_still_processing_is_a_409(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        upload_id = await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app01")
        async with _context(world).sessions.begin() as session:
            await session.execute(
                update(Upload).where(Upload.id == upload_id).values(status="processing")
            )

        response = await _action(world, "assign", {"ids": ids, "product": product.id})

        assert response.status_code == 409
        assert await _stored_jobs(world) == []


class TestVisibility:
    async def test_someone_elses_job_is_not_found_and_a_superuser_sees_all(
        self, world: World
    ) -> None:
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app09")
        location = (await _action(world, "disregard", {"ids": ids})).headers["Location"]

        as_bob = await world.client.get(location, headers=world.auth(world.bob))
        bobs = await world.client.get(ACTIONS, headers=world.auth(world.bob))
        alices = await world.client.get(ACTIONS, headers=world.auth(world.alice))
        admins = await world.client.get(ACTIONS, headers=world.auth(world.admin))

        assert as_bob.status_code == 404
        assert bobs.json()["count"] == 0
        assert [job["url"] for job in alices.json()["results"]] == [location]
        assert [job["url"] for job in admins.json()["results"]] == [location]
        assert (await _job(world, location, user=world.admin))["requested_by"]["username"] == (
            "alice"
        )

    async def test_an_unknown_job_is_not_found(self, world: World) -> None:
        response = await world.client.get(f"{ACTIONS}99/", headers=world.auth(world.alice))

        assert response.status_code == 404
