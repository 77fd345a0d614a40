"""Who may see and touch what. Every API route needs a token DefectDojo accepts (401
otherwise); another user's uploads and unassigned findings do not exist for you (404, never
403, so ids leak nothing); products you cannot see in DefectDojo do not exist either; a
superuser sees everything. The e2e tests cover assigning another user's findings and
assigning to a hidden product; these cover the rest."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from app.main import create_app
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.reliability.conftest import WorldFactory
from tests.reliability.world import ReliabilityWorld

UNASSIGNED = "/api/v2/smart_upload/unassigned_findings/"


def _authenticated_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every operation whose OpenAPI entry asks for the token."""
    schema = app.openapi()
    return sorted(
        (
            method.upper(),
            path.replace("{upload_id}", "1").replace("{rule_id}", "1").replace("{action_id}", "1"),
        )
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    )


OPERATIONS = _authenticated_operations(create_app())


async def _alices_findings(world: ReliabilityWorld) -> tuple[int, list[int]]:
    await world.refresh_index()
    upload = (await world.upload(NESSUS_SEVEN_HOSTS)).json()
    listed = await world.unassigned()
    return upload["id"], [item["id"] for item in listed["results"]]


class TestTokens:
    def test_the_api_is_covered(self) -> None:
        paths = {path for _, path in OPERATIONS}
        assert "/api/v2/smart_upload_import/" in paths
        assert "/api/v2/smart_upload/uploads/1/retry/" in paths
        assert f"{UNASSIGNED}disregard/" in paths
        assert f"{UNASSIGNED}actions/1/" in paths

    @pytest.mark.parametrize(
        "authorization",
        [None, "Token not-a-token", "Basic YWxpY2U6cGFzcw==", "Token ", "alice-token"],
        ids=["missing", "unknown", "basic", "empty", "no-scheme"],
    )
    async def test_every_route_refuses_without_a_valid_token(
        self, make_world: WorldFactory, authorization: str | None
    ) -> None:
        async with make_world() as world:
            headers = {} if authorization is None else {"Authorization": authorization}
            answered = {}
            for method, path in OPERATIONS:
                response = await world.client.request(method, path, headers=headers)
                answered[method, path] = (
                    response.status_code,
                    response.headers.get("WWW-Authenticate"),
                    "not-a-token" in response.text,
                )

            assert answered == dict.fromkeys(OPERATIONS, (401, "Token", False))


class TestOtherUsersData:
    async def test_an_upload_of_someone_else_is_not_found(self, make_world: WorldFactory) -> None:
        async with make_world() as world:
            upload_id, _ = await _alices_findings(world)

            read = await world.client.get(
                f"/api/v2/smart_upload/uploads/{upload_id}", headers=world.auth(world.bob)
            )
            listed = await world.client.get(
                "/api/v2/smart_upload/uploads/", headers=world.auth(world.bob)
            )

            assert read.status_code == 404
            assert read.json() == {"detail": f"no upload with id {upload_id}"}
            assert listed.json()["count"] == 0

    async def test_reading_them_by_upload_shows_nothing(self, make_world: WorldFactory) -> None:
        async with make_world() as world:
            upload_id, ids = await _alices_findings(world)

            listed = await world.client.get(
                UNASSIGNED, headers=world.auth(world.bob), params={"upload": upload_id}
            )

            assert ids and listed.json()["count"] == 0

    @pytest.mark.parametrize(
        ("action", "body"),
        [
            ("disregard/", {}),
            ("create_product/", {"product_name": "Stolen", "product_type": 1}),
            ("assign/", {"product": 1}),
        ],
    )
    async def test_acting_on_them_by_id_is_not_found_and_changes_nothing(
        self, make_world: WorldFactory, action: str, body: dict[str, Any]
    ) -> None:
        async with make_world() as world:
            world.product("Bobs", world.bob)
            _, ids = await _alices_findings(world)

            response = await world.client.post(
                UNASSIGNED + action, headers=world.auth(world.bob), json={"ids": ids, **body}
            )

            assert response.status_code == 404, response.text
            assert str(min(ids)) in response.json()["detail"]
            assert (await world.unassigned())["count"] == len(ids)
            assert world.dojo.tests == {}
            assert [p.name for p in world.dojo.products.values()] == ["Bobs"]

    async def test_mixing_own_and_foreign_ids_changes_nothing(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            world.product("Shared", world.alice, world.bob)
            _, alices = await _alices_findings(world)
            await world.upload(NESSUS_SEVEN_HOSTS, user=world.bob)
            bobs = [i["id"] for i in (await world.unassigned(user=world.bob))["results"]]

            response = await world.client.post(
                UNASSIGNED + "disregard/",
                headers=world.auth(world.bob),
                json={"ids": [*bobs, alices[0]]},
            )

            assert response.status_code == 404
            assert (await world.unassigned(user=world.bob))["count"] == len(bobs)

    async def test_all_matching_only_ever_selects_your_own(self, make_world: WorldFactory) -> None:
        async with make_world() as world:
            _, ids = await _alices_findings(world)

            response = await world.client.post(
                UNASSIGNED + "disregard/",
                headers=world.auth(world.bob),
                json={"all_matching": {}},
            )

            assert response.json() == {"disregarded": 0}
            assert (await world.unassigned())["count"] == len(ids)


class TestInvisibleProducts:
    async def test_a_rule_for_a_product_you_cannot_see_is_not_found(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            hidden = world.product("Secret", world.bob)

            response = await world.client.post(
                "/api/v2/smart_upload/rules/",
                headers=world.auth(world.alice),
                json={"kind": "cidr", "pattern": "10.0.0.0/8", "product": hidden.id},
            )

            assert response.status_code == 404, response.text

    async def test_create_product_in_a_type_you_cannot_use_is_not_found(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            _, ids = await _alices_findings(world)

            response = await world.client.post(
                UNASSIGNED + "create_product/",
                headers=world.auth(world.alice),
                json={"ids": ids[:1], "product_name": "Mine", "product_type": 1},
            )

            assert response.status_code == 404, response.text
            assert not [p for p in world.dojo.products.values() if p.name == "Mine"]
            assert (await world.unassigned())["count"] == len(ids)


class TestSuperuser:
    async def test_sees_and_acts_on_everyones(self, make_world: WorldFactory) -> None:
        async with make_world() as world:
            world.product("Shared", world.alice, world.bob)
            alices_upload, alices = await _alices_findings(world)
            await world.upload(NESSUS_SEVEN_HOSTS, user=world.bob)
            bobs = (await world.unassigned(user=world.bob))["count"]

            everything = await world.unassigned(user=world.admin)
            upload = await world.client.get(
                f"/api/v2/smart_upload/uploads/{alices_upload}", headers=world.auth(world.admin)
            )
            uploads = await world.client.get(
                "/api/v2/smart_upload/uploads/", headers=world.auth(world.admin)
            )
            disregarded = await world.client.post(
                UNASSIGNED + "disregard/",
                headers=world.auth(world.admin),
                json={"ids": alices[:2]},
            )

            assert everything["count"] == len(alices) + bobs
            assert upload.status_code == 200
            assert uploads.json()["count"] == 2
            assert disregarded.json() == {"disregarded": 2}
            assert (await world.unassigned())["count"] == len(alices) - 2
