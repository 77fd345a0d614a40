"""DefectDojo misbehaving: 5xx, 429 with Retry-After, timeouts, dropped connections,
refused connections, and DefectDojo down for a while then back. Retries are bounded; a
push that still fails is marked failed with its records kept as `push_failed`, the
service stays up, `/ready` says what is wrong, and `retry/` finishes the job later."""

from __future__ import annotations

import logging
import time

import pytest

from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.reliability.conftest import WorldFactory
from tests.reliability.helpers import add_up, own_hosts, run_queued, summary
from tests.reliability.world import ReliabilityWorld

IMPORT = "/api/v2/import-scan/"


def _dojo_calls(world: ReliabilityWorld, path: str, method: str = "POST") -> list[int]:
    """Statuses of the double's answers to `method path`, in order."""
    return [c.status for c in world.dojo.calls if c.path == path and c.method == method]


class _Recorded(logging.Handler):
    """The log records of one logger (the app replaces the root handlers at start)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class TestTransientFaults:
    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("POST", IMPORT, 500),
            ("POST", IMPORT, 503),
            ("POST", "/api/v2/engagements/", 502),
            ("GET", "/api/v2/tests/", 504),
        ],
    )
    async def test_retried_and_pushed_once(
        self, make_world: WorldFactory, method: str, path: str, status: int
    ) -> None:
        async with make_world() as world:
            product_id = await own_hosts(world)
            if path == "/api/v2/tests/":
                # a push into an engagement it has just created knows it holds no test yet
                world.dojo.add_engagement(product_id)
            world.dojo.faults.fail(method, path, status=status, times=2)

            answer = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

            [pushed] = answer["products"]
            assert pushed["status"] == "pushed"
            assert _dojo_calls(world, path, method)[:3] == [
                status,
                status,
                201 if method == "POST" else 200,
            ]
            assert len(world.tests_of(world.dojo.products[product_id])) == 1
            assert len({e.id for e in world.dojo.engagements.values()}) == 1

    async def test_429_waits_at_least_retry_after(self, make_world: WorldFactory) -> None:
        retries = _Recorded()
        logging.getLogger("app.dojo").addHandler(retries)
        try:
            async with make_world(dd_retry_max_wait_seconds=5) as world:
                await own_hosts(world)
                world.dojo.faults.throttle("POST", IMPORT, retry_after=0.3, times=1)

                answer = (await world.upload(NESSUS_SEVEN_HOSTS)).json()
        finally:
            logging.getLogger("app.dojo").removeHandler(retries)

        assert answer["products"][0]["status"] == "pushed"
        assert _dojo_calls(world, IMPORT) == [429, 201]
        [retry] = [r for r in retries.records if r.getMessage() == "dojo.retry"]
        assert (retry.status, retry.wait_seconds >= 0.3) == (429, True)  # type: ignore[attr-defined]

    async def test_dropped_answer_after_import_becomes_a_reimport(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            product_id = await own_hosts(world)
            world.dojo.faults.drop_connection("POST", IMPORT, times=1)

            answer = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

            [pushed] = answer["products"]
            assert (pushed["status"], pushed["push"]) == ("pushed", "reimport")
            assert _dojo_calls(world, IMPORT) == [201]
            [test] = world.tests_of(world.dojo.products[product_id])
            assert pushed["test_id"] == test.id
            assert {h for _, h in world.finding_hosts(world.dojo.products[product_id])} == {
                "qa3app01",
                "qa3app02",
                "qa3app03",
            }


class TestTimeouts:
    async def test_slow_read_times_out_and_is_retried(self, make_world: WorldFactory) -> None:
        retries = _Recorded()
        logging.getLogger("app.dojo").addHandler(retries)
        try:
            async with make_world(served=True, dd_timeout_seconds=0.2) as world:
                await own_hosts(world)
                world.dojo.faults.delay("GET", "/api/v2/engagements/", seconds=0.6, times=1)

                answer = (await world.upload(NESSUS_SEVEN_HOSTS)).json()
        finally:
            logging.getLogger("app.dojo").removeHandler(retries)

        assert answer["products"][0]["status"] == "pushed"
        [retry] = [r for r in retries.records if r.getMessage() == "dojo.retry"]
        assert (retry.path, retry.error) == (  # type: ignore[attr-defined]
            "/api/v2/engagements/",
            "DefectDojo timed out (ReadTimeout)",
        )
        assert len(world.dojo.tests) == 1

    async def test_slow_import_times_out_and_one_test_results(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(served=True, dd_import_timeout_seconds=0.2) as world:
            product_id = await own_hosts(world)
            world.dojo.faults.delay("POST", IMPORT, seconds=0.6, times=1)

            answer = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

            assert answer["products"][0]["status"] == "pushed"
            assert len(world.tests_of(world.dojo.products[product_id])) == 1

    async def test_import_slower_than_every_attempt_fails_the_push(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(
            served=True, dd_import_timeout_seconds=0.2, dd_retry_attempts=2
        ) as world:
            await own_hosts(world)
            world.dojo.faults.delay("POST", IMPORT, seconds=0.6, times=None)

            answer = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

            [failed] = answer["products"]
            assert failed["status"] == "failed"
            assert "timed out" in failed["error"]
            listed = await world.unassigned(reason="push_failed")
            assert listed["count"] == failed["records"]
            assert "timed out" in listed["results"][0]["error"]


class TestExhaustedRetries:
    async def test_push_failed_records_are_kept_then_retried(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(dd_retry_attempts=3) as world:
            product_id = await own_hosts(world)
            world.dojo.faults.fail("POST", IMPORT, status=500, times=None)

            first = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

            [failed] = first["products"]
            assert first["status"] == "completed_with_errors"
            assert failed["status"] == "failed" and failed["attempts"] == 1
            assert _dojo_calls(world, IMPORT) == [500, 500, 500]
            assert "500" in failed["error"] and "Internal server error" in failed["error"]
            assert first["unassigned"]["by_reason"]["push_failed"] == failed["records"]
            assert first["records"]["routed"] == 0 and add_up(first["records"])
            kept = await world.unassigned(reason="push_failed")
            assert kept["count"] == failed["records"]
            assert "Internal server error" in kept["results"][0]["explanation"]

            world.dojo.faults.clear()
            retried = await world.client.post(
                f"/api/v2/smart_upload/uploads/{first['id']}/retry/",
                headers=world.auth(world.alice),
            )

            assert retried.status_code == 200, retried.text
            after = retried.json()
            [pushed] = after["products"]
            assert after["status"] == "completed"
            assert (pushed["status"], pushed["push"], pushed["error"]) == ("pushed", "import", None)
            assert "push_failed" not in after["unassigned"]["by_reason"]
            assert after["records"]["routed"] == failed["records"] == after["records"]["pushed"]
            assert add_up(after["records"])
            assert (await world.unassigned(reason="push_failed"))["count"] == 0
            assert after["unassigned"]["total"] == (await world.unassigned())["count"]
            assert len(world.tests_of(world.dojo.products[product_id])) == 1

    async def test_retry_that_fails_again_keeps_the_records_with_the_new_error(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(dd_retry_attempts=1) as world:
            await own_hosts(world)
            world.dojo.faults.fail("POST", IMPORT, status=500, times=1)
            first = (await world.upload(NESSUS_SEVEN_HOSTS)).json()
            ids = [i["id"] for i in (await world.unassigned(reason="push_failed"))["results"]]
            world.dojo.faults.fail("POST", IMPORT, status=503, times=1, body={"detail": "down"})

            again = await world.client.post(
                f"/api/v2/smart_upload/uploads/{first['id']}/retry/",
                headers=world.auth(world.alice),
            )

            after = again.json()
            assert after["status"] == "completed_with_errors"
            assert after["unassigned"] == {**first["unassigned"], "url": after["unassigned"]["url"]}
            kept = (await world.unassigned(reason="push_failed"))["results"]
            assert sorted(i["id"] for i in kept) == sorted(ids)
            assert all("503" in item["error"] for item in kept)

    async def test_retry_is_for_the_uploader_or_a_superuser(self, make_world: WorldFactory) -> None:
        async with make_world(dd_retry_attempts=1) as world:
            await own_hosts(world)
            world.dojo.faults.fail("POST", IMPORT, status=500, times=1)
            upload_id = (await world.upload(NESSUS_SEVEN_HOSTS)).json()["id"]
            path = f"/api/v2/smart_upload/uploads/{upload_id}/retry/"

            by_bob = await world.client.post(path, headers=world.auth(world.bob))
            missing = await world.client.post(
                "/api/v2/smart_upload/uploads/999/retry/", headers=world.auth(world.alice)
            )
            by_admin = await world.client.post(path, headers=world.auth(world.admin))

            assert by_bob.status_code == 404 and missing.status_code == 404
            assert by_bob.json() == {"detail": f"no upload with id {upload_id}"}
            assert by_admin.status_code == 200, by_admin.text
            assert by_admin.json()["status"] == "completed"

    async def test_retry_of_a_queued_upload_is_a_conflict(self, make_world: WorldFactory) -> None:
        async with make_world() as world:
            await own_hosts(world)
            queued = (await world.upload(NESSUS_SEVEN_HOSTS, wait="false")).json()

            response = await world.client.post(
                f"/api/v2/smart_upload/uploads/{queued['id']}/retry/",
                headers=world.auth(world.alice),
            )

            assert response.status_code == 409
            assert "still being processed" in response.json()["detail"]


class TestDojoDown:
    async def test_down_then_back(self, make_world: WorldFactory) -> None:
        async with make_world(served=True, dd_retry_attempts=2, ready_timeout_seconds=1) as world:
            assert world.served is not None
            product_id = await own_hosts(world)
            queued = (await world.upload(NESSUS_SEVEN_HOSTS, wait="false")).json()
            await world.served.stop()

            started = time.monotonic()
            not_ready = await world.client.get("/ready")
            took = time.monotonic() - started
            assert await run_queued(world) == 1
            alive = await world.client.get("/health")
            down = await summary(world, queued["id"])

            assert not_ready.status_code == 503
            assert not_ready.json()["checks"] == {
                "database": "ok",
                "defectdojo": "unavailable: DefectDojo could not be reached (ConnectError)",
            }
            assert took < 1.0, "no retry loop in /ready"
            assert alive.status_code == 200
            assert down["status"] == "completed_with_errors"
            assert "could not be reached" in down["products"][0]["error"]
            assert down["unassigned"]["by_reason"]["push_failed"] == down["products"][0]["records"]

            await world.served.start()
            ready = await world.client.get("/ready")
            retried = await world.client.post(
                f"/api/v2/smart_upload/uploads/{queued['id']}/retry/",
                headers=world.auth(world.alice),
            )

            assert ready.status_code == 200, ready.text
            assert retried.json()["status"] == "completed"
            assert (await world.unassigned(reason="push_failed"))["count"] == 0
            assert len(world.tests_of(world.dojo.products[product_id])) == 1

    async def test_refused_connection_at_start_is_a_502_and_not_ready(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(served=True, dd_retry_attempts=1, ready_timeout_seconds=1) as world:
            assert world.served is not None
            await world.served.stop()

            upload = await world.upload(NESSUS_SEVEN_HOSTS)
            ready = await world.client.get("/ready")

            assert upload.status_code == 502
            assert "could not check the token" in upload.json()["detail"]
            assert ready.status_code == 503

    async def test_ready_names_an_overloaded_dojo(self, make_world: WorldFactory) -> None:
        async with make_world() as world:
            world.dojo.faults.fail("GET", "/api/v2/user_profile/", status=503, times=None)

            ready = await world.client.get("/ready")

            assert ready.status_code == 503
            assert ready.json()["checks"]["defectdojo"].startswith(
                "unavailable: DefectDojo answered 503"
            )
            assert _dojo_calls(world, "/api/v2/user_profile/", "GET") == [503]
