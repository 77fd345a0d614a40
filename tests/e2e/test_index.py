"""The endpoint index built from DefectDojo 3.2 (Locations) and 2.58 (legacy endpoints)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World

INDEX = "/api/v2/smart_upload/index/"


@pytest.fixture(params=["3.2", "2.58"])
def dojo_version(request: pytest.FixtureRequest) -> str:
    version: str = request.param
    return version


class TestIndexBuild:
    async def test_fifty_thousand_endpoints_over_both_versions(self, world: World) -> None:
        products = [world.product(f"Team {n}") for n in range(50)]
        for n in range(50_000):
            product = products[n % 50]
            world.dojo.add_endpoint(product.id, f"host{n}.corp.example.com", 443 if n % 2 else None)

        response = await world.client.post(INDEX, headers=world.auth(world.admin))

        assert response.status_code == 200, response.text
        state = response.json()
        assert state["endpoints"] == 50_000
        assert state["products"] == 50
        assert state["last_error"] is None
        explained = await world.client.get(
            "/api/v2/smart_upload/route/",
            params={"host": "HOST1234.corp.example.com.", "port": 8443},
            headers=world.auth(world.admin),
        )
        assert explained.json()["product_id"] == products[1234 % 50].id
        assert explained.json()["level"] == "endpoint_host"

    async def test_failed_refresh_keeps_the_old_index_and_says_why(self, world: World) -> None:
        product = world.product("Payments")
        world.dojo.add_endpoint(product.id, "pay.example.com")
        await world.refresh_index()
        world.dojo.faults.fail("GET", "/api/v2/endpoints/", status=503, times=None)

        failed = await world.client.post(INDEX, headers=world.auth(world.admin))
        state = await world.client.get(INDEX, headers=world.auth(world.admin))

        assert failed.status_code == 502
        assert state.json()["endpoints"] == 1
        assert (
            "503" in state.json()["last_error"]
            or "unavailable" in state.json()["last_error"].lower()
        )

    async def test_own_pushes_are_learnt_without_a_refresh(self, world: World) -> None:
        from tests.e2e.conftest import NESSUS_SEVEN_HOSTS

        product = world.product("Payments", world.alice)
        await world.refresh_index()
        await world.upload(NESSUS_SEVEN_HOSTS)
        listed = await world.unassigned(host="qa3app01")
        await world.client.post(
            "/api/v2/smart_upload/unassigned_findings/assign/",
            headers=world.auth(world.alice),
            json={"ids": [i["id"] for i in listed["results"]], "product": product.id},
        )

        state = await world.client.get(INDEX, headers=world.auth(world.admin))

        assert state.json()["endpoints"] > 0
