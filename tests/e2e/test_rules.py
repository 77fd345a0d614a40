"""Routing rules over the API: validation, visibility, history, and routing by them."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import NESSUS_SEVEN_HOSTS, World

RULES = "/api/v2/smart_upload/rules/"


async def _create(world: World, body: dict[str, Any], user: Any = None) -> Any:
    return await world.client.post(RULES, headers=world.auth(user or world.alice), json=body)


class TestCreateRule:
    async def test_valid_cidr_is_stored_normalised(self, world: World) -> None:
        product = world.product("Payments", world.alice)

        response = await _create(
            world, {"kind": "cidr", "pattern": "10.31.0.0/16", "product": product.id}
        )

        assert response.status_code == 201, response.text
        rule = response.json()
        assert rule["pattern"] == "10.31.0.0/16"
        assert rule["product_name"] == "Payments"
        assert rule["created_by"] == "alice"
        assert rule["priority"] == 100

    async def test_host_bits_set_is_a_400_that_says_why(self, world: World) -> None:
        product = world.product("Payments", world.alice)

        response = await _create(
            world, {"kind": "cidr", "pattern": "10.31.1.1/16", "product": product.id}
        )

        assert response.status_code == 400
        assert "10.31.0.0/16" in response.json()["detail"]

    async def test_bad_glob_is_a_400(self, world: World) -> None:
        product = world.product("Payments", world.alice)

        response = await _create(
            world, {"kind": "hostname_glob", "pattern": "web[.example.com", "product": product.id}
        )

        assert response.status_code == 400
        assert response.json()["detail"].startswith("pattern:")

    async def test_product_the_caller_cannot_see_is_404(self, world: World) -> None:
        hidden = world.product("Secret", world.bob)

        response = await _create(
            world, {"kind": "cidr", "pattern": "10.0.0.0/8", "product": hidden.id}
        )

        assert response.status_code == 404
        listed = await world.client.get(RULES, headers=world.auth(world.admin))
        assert listed.json()["count"] == 0


class TestRuleLifecycle:
    async def test_update_and_delete_are_recorded_with_who(self, world: World) -> None:
        product = world.product("Payments", world.alice, world.bob)
        rule = (
            await _create(
                world, {"kind": "hostname_glob", "pattern": "qa3app0?", "product": product.id}
            )
        ).json()

        changed = await world.client.patch(
            f"{RULES}{rule['id']}/", headers=world.auth(world.bob), json={"priority": 5}
        )
        history = await world.client.get(
            f"{RULES}{rule['id']}/history/", headers=world.auth(world.alice)
        )
        deleted = await world.client.delete(
            f"{RULES}{rule['id']}/", headers=world.auth(world.alice)
        )

        assert changed.json()["priority"] == 5 and changed.json()["updated_by"] == "bob"
        assert [(c["action"], c["changed_by"]) for c in history.json()] == [
            ("create", "alice"),
            ("update", "bob"),
        ]
        assert history.json()[1]["before"]["priority"] == 100
        assert deleted.status_code == 204
        gone = await world.client.get(f"{RULES}{rule['id']}/", headers=world.auth(world.alice))
        assert gone.status_code == 404

    async def test_rules_of_invisible_products_are_not_listed(self, world: World) -> None:
        mine = world.product("Mine", world.alice)
        theirs = world.product("Theirs", world.bob)
        await _create(world, {"kind": "cidr", "pattern": "10.1.0.0/16", "product": mine.id})
        await _create(
            world, {"kind": "cidr", "pattern": "10.2.0.0/16", "product": theirs.id}, world.bob
        )

        listed = await world.client.get(RULES, headers=world.auth(world.alice))

        assert [r["product"] for r in listed.json()["results"]] == [mine.id]


class TestRoutingByRules:
    async def test_next_upload_routes_by_a_new_rule(self, world: World) -> None:
        product = world.product("QA", world.alice)
        await world.refresh_index()
        await _create(
            world, {"kind": "hostname_glob", "pattern": "qa3app0[1-3]", "product": product.id}
        )

        summary = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

        [routed] = summary["products"]
        assert routed["product_id"] == product.id
        assert sorted(routed["hosts"]) == ["qa3app01", "qa3app02", "qa3app03"]

    async def test_endpoint_beats_rule_and_explain_says_why(self, world: World) -> None:
        by_rule = world.product("By rule", world.alice)
        by_endpoint = world.product("By endpoint", world.alice)
        world.dojo.add_endpoint(by_endpoint.id, "10.31.112.29")
        await world.refresh_index()
        await _create(world, {"kind": "cidr", "pattern": "10.31.0.0/16", "product": by_rule.id})

        endpoint = await world.client.get(
            "/api/v2/smart_upload/route/",
            params={"host": "10.31.112.29"},
            headers=world.auth(world.alice),
        )
        rule = await world.client.get(
            "/api/v2/smart_upload/route/",
            params={"host": "10.31.5.5", "port": 443},
            headers=world.auth(world.alice),
        )
        nothing = await world.client.get(
            "/api/v2/smart_upload/route/",
            params={"host": "192.0.2.1"},
            headers=world.auth(world.alice),
        )

        assert endpoint.json()["level"] == "endpoint_host"
        assert endpoint.json()["product_id"] == by_endpoint.id
        assert rule.json()["level"] == "rule"
        assert rule.json()["product_id"] == by_rule.id
        assert "10.31.0.0/16" in rule.json()["explanation"]
        assert nothing.json()["decision"] == "no_match"
