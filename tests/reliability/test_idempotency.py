"""`Idempotency-Key` on the smart import: a repeated request gets the first upload back
(200) and nothing is pushed again; the same key on a different request is a 409."""

from __future__ import annotations

import asyncio

from tests.conftest import SCANS
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS, World
from tests.reliability.conftest import WorldFactory
from tests.reliability.helpers import own_hosts, run_queued

KEY = {"Idempotency-Key": "pipeline-run-4711"}
PUSH_PATHS = {"/api/v2/import-scan/", "/api/v2/reimport-scan/", "/api/v2/engagements/"}


def _pushes(world: World) -> int:
    return sum(1 for c in world.dojo.calls if c.method == "POST" and c.path in PUSH_PATHS)


class TestIdempotencyKey:
    async def test_same_request_returns_the_first_upload_without_pushing(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            await own_hosts(world)
            first = await world.upload(NESSUS_SEVEN_HOSTS, headers=KEY)
            pushed = _pushes(world)

            again = await world.upload(NESSUS_SEVEN_HOSTS, headers=KEY)

            assert (first.status_code, again.status_code) == (201, 200)
            assert again.json() == first.json()
            assert _pushes(world) == pushed > 0
            listed = await world.client.get(
                "/api/v2/smart_upload/uploads/", headers=world.auth(world.alice)
            )
            assert listed.json()["count"] == 1

    async def test_same_key_other_file_or_options_is_a_conflict(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            await own_hosts(world)
            await world.upload(NESSUS_SEVEN_HOSTS, headers=KEY)
            pushed = _pushes(world)

            other_file = await world.upload(
                SCANS / "nmap" / "nmap_0port.xml", scan_type="Nmap Scan", headers=KEY
            )
            other_options = await world.upload(
                NESSUS_SEVEN_HOSTS, headers=KEY, minimum_severity="High"
            )

            assert other_file.status_code == other_options.status_code == 409
            assert "Idempotency-Key" in other_file.json()["detail"]
            assert _pushes(world) == pushed

    async def test_keys_belong_to_their_user(self, make_world: WorldFactory) -> None:
        async with make_world() as world:
            world.product("Shared", world.alice, world.bob)
            await world.refresh_index()

            alices = await world.upload(NESSUS_SEVEN_HOSTS, headers=KEY)
            bobs = await world.upload(NESSUS_SEVEN_HOSTS, headers=KEY, user=world.bob)

            assert (alices.status_code, bobs.status_code) == (201, 201)
            assert alices.json()["id"] != bobs.json()["id"]

    async def test_repeat_while_queued_returns_it_and_it_runs_once(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            await own_hosts(world)
            sent = [world.upload(NESSUS_SEVEN_HOSTS, headers=KEY, wait="false") for _ in range(4)]

            answers = await asyncio.gather(*sent)
            ran = await run_queued(world)

            assert sorted(a.status_code for a in answers) == [200, 200, 200, 202]
            ids = {a.json()["id"] for a in answers}
            assert len(ids) == 1 and ran == 1
            assert sum(1 for c in world.dojo.calls if c.path == "/api/v2/import-scan/") == 1
