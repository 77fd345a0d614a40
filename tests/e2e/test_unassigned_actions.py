"""Assign, create a product, disregard — and what the service remembers afterwards."""

from __future__ import annotations

from tests.e2e.conftest import NESSUS_SEVEN_HOSTS, World


async def _upload_unrouted(world: World) -> dict[str, object]:
    """Upload the seven-host scan with nothing known: every record unassigned."""
    await world.refresh_index()
    response = await world.upload(NESSUS_SEVEN_HOSTS)
    assert response.status_code == 201, response.text
    summary: dict[str, object] = response.json()
    return summary


async def _ids_of_host(world: World, host: str) -> list[int]:
    listed = await world.unassigned(host=host)
    return [item["id"] for item in listed["results"] if item["host"]["fqdn"] == host]


class TestAssign:
    async def test_pushes_the_whole_share_and_removes_the_findings(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app01")

        response = await world.unassigned_action("assign", {"ids": ids, "product": product.id})

        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["assigned"] == len(ids)
        [result] = answer["results"]
        assert result["status"] == "pushed" and result["product_id"] == product.id
        assert result["test_id"] is not None
        assert {host for _, host in world.finding_hosts(product)} == {"qa3app01"}
        assert await _ids_of_host(world, "qa3app01") == []

    async def test_second_assignment_resends_the_earlier_share(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        for host in ("qa3app01", "qa3app02"):
            ids = await _ids_of_host(world, host)
            response = await world.unassigned_action("assign", {"ids": ids, "product": product.id})
            assert response.json()["results"][0]["status"] == "pushed"

        # the reimport carried both hosts, so qa3app01's endpoints were not mitigated
        assert {host for _, host in world.finding_hosts(product)} == {"qa3app01", "qa3app02"}
        assert len(world.tests_of(product)) == 1

    async def test_remembered_host_routes_the_next_upload(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app05")
        await world.unassigned_action("assign", {"ids": ids, "product": product.id})

        again = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

        routed = {p["product_id"]: p for p in again["products"]}
        assert routed[product.id]["hosts"] == ["qa3app05"]
        assert routed[product.id]["records"] == len(ids)
        explained = await world.client.get(
            "/api/v2/smart_upload/route/",
            params={"host": "QA3APP05"},
            headers=world.auth(world.alice),
        )
        assert explained.json()["level"] == "assignment"
        assert explained.json()["product_id"] == product.id

    async def test_product_the_caller_cannot_see_is_not_found(self, world: World) -> None:
        hidden = world.product("Secret", world.bob)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app01")

        response = await world.unassigned_action("assign", {"ids": ids, "product": hidden.id})

        assert response.status_code == 404
        assert len(await _ids_of_host(world, "qa3app01")) == len(ids)

    async def test_another_users_findings_are_not_found(self, world: World) -> None:
        product = world.product("Payments", world.bob)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app01")

        response = await world.unassigned_action(
            "assign", {"ids": ids, "product": product.id}, user=world.bob
        )

        assert response.status_code == 404
        assert (await world.unassigned(user=world.bob))["count"] == 0
        assert (await world.unassigned(user=world.admin))["count"] > 0

    async def test_all_matching_selects_by_filter(self, world: World) -> None:
        product = world.product("Payments", world.alice)
        await _upload_unrouted(world)
        expected = len(await _ids_of_host(world, "qa3app06"))

        response = await world.unassigned_action(
            "assign", {"all_matching": {"host": "qa3app06"}, "product": product.id}
        )

        assert response.json()["assigned"] == expected
        assert await _ids_of_host(world, "qa3app06") == []


class TestCreateProduct:
    async def test_creates_product_and_type_then_assigns(self, world: World) -> None:
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app02")

        response = await world.unassigned_action(
            "create_product",
            {"ids": ids, "product_name": "Kiosks", "product_type_name": "Retail"},
            user=world.admin,
        )

        assert response.status_code == 200, response.text
        created = [p for p in world.dojo.products.values() if p.name == "Kiosks"]
        assert len(created) == 1
        assert world.dojo.product_types[created[0].prod_type_id].name == "Retail"
        assert response.json()["results"][0]["product_id"] == created[0].id
        assert {host for _, host in world.finding_hosts(created[0])} == {"qa3app02"}

    async def test_taken_name_is_a_clear_400(self, world: World) -> None:
        world.product("Kiosks", world.alice)
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app02")

        response = await world.unassigned_action(
            "create_product",
            {"ids": ids, "product_name": "Kiosks", "product_type": 1},
            user=world.admin,
        )

        assert response.status_code == 400
        assert "already exists" in response.json()["detail"]


class TestDisregard:
    async def test_removes_without_pushing(self, world: World) -> None:
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app09")

        response = await world.unassigned_action("disregard", {"ids": ids})

        assert response.json() == {"disregarded": len(ids)}
        assert await _ids_of_host(world, "qa3app09") == []
        assert world.dojo.tests == {}

    async def test_a_later_upload_shows_them_again(self, world: World) -> None:
        await _upload_unrouted(world)
        ids = await _ids_of_host(world, "qa3app09")
        await world.unassigned_action("disregard", {"ids": ids})

        await world.upload(NESSUS_SEVEN_HOSTS)

        assert len(await _ids_of_host(world, "qa3app09")) == len(ids)

    async def test_empty_selection_is_refused(self, world: World) -> None:
        response = await world.unassigned_action("disregard", {"ids": []})

        assert response.status_code == 400
        assert "ids" in response.json()["detail"]
