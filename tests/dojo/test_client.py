"""DojoClient's reads and writes of products, engagements, tests and users."""

from __future__ import annotations

import json
import logging
from datetime import date

import httpx
import pytest

from app.dojo.client import DojoTimeouts, request_id_var
from app.dojo.errors import (
    DojoAuthenticationFailed,
    DojoError,
    DojoNotFound,
    DojoPermissionDenied,
    DojoRejected,
)
from tests.dojo.conftest import TEST_TOKEN as TOKEN
from tests.dojo.conftest import ClientFactory, Server, recording, replay

PRODUCTS = "/api/v2/products/"


def page(*results: dict[str, object], count: int | None = None) -> httpx.Response:
    return httpx.Response(
        200,
        json={"count": len(results) if count is None else count, "next": None,
              "previous": None, "results": list(results)},
    )  # fmt: skip


class TestRequestHeaders:
    async def test_token_and_json_accept(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/user_profile/", replay("user_profile"))

        await make_client(server).user_profile()

        assert server.requests[0].headers["authorization"] == f"Token {TOKEN}"
        assert server.requests[0].headers["accept"] == "application/json"

    async def test_without_token_no_authorization(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", PRODUCTS, replay("unauthorized_no_token"))

        with pytest.raises(DojoAuthenticationFailed):
            await make_client(server, token=None).list_products()

        assert "authorization" not in server.requests[0].headers

    async def test_request_id_from_context(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/user_profile/", replay("user_profile"))
        client = make_client(server)

        reset = request_id_var.set("req-17")
        try:
            await client.user_profile()
        finally:
            request_id_var.reset(reset)
        await client.user_profile()

        assert server.requests[0].headers["x-request-id"] == "req-17"
        assert "x-request-id" not in server.requests[1].headers

    async def test_with_token_shares_http(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/user_profile/", replay("user_profile_regular_user"))
        service = make_client(server)

        user = await service.with_token("alice-token").user_profile()

        assert user.username == "alice"
        assert server.requests[0].headers["authorization"] == "Token alice-token"


class TestTimeouts:
    async def test_reads_use_default_timeouts(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/user_profile/", replay("user_profile"))
        timeouts = DojoTimeouts(connect=1.5, read=7.0, write=8.0, pool=2.5, import_read=600.0)

        await make_client(server, timeouts=timeouts).user_profile()

        assert server.requests[0].extensions["timeout"] == {
            "connect": 1.5, "read": 7.0, "write": 8.0, "pool": 2.5,
        }  # fmt: skip

    async def test_imports_get_the_long_read_timeout(self, make_client: ClientFactory) -> None:
        from io import BytesIO

        from app.dojo.models import ImportOptions

        server = Server().on("POST", "/api/v2/import-scan/", replay("import_scan_nessus"))
        timeouts = DojoTimeouts(connect=1.5, read=7.0, write=8.0, pool=2.5, import_read=600.0)

        await make_client(server, timeouts=timeouts).import_scan(
            BytesIO(b"<x/>"), "s.nessus", ImportOptions(scan_type="Tenable Scan"), 4
        )

        assert server.requests[0].extensions["timeout"]["read"] == 600.0
        assert server.requests[0].extensions["timeout"]["connect"] == 1.5


class TestLogging:
    async def test_logs_request_without_token(
        self, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        server = Server().on("GET", "/api/v2/products/7/", replay("product_not_found"))
        caplog.set_level(logging.INFO, logger="app.dojo")

        with pytest.raises(DojoNotFound):
            await make_client(server).get_product(7)

        [record] = [r for r in caplog.records if r.getMessage() == "dojo.request"]
        fields = vars(record)
        assert (fields["method"], fields["path"], fields["status"]) == (
            "GET", "/api/v2/products/7/", 404,
        )  # fmt: skip
        assert fields["duration_ms"] >= 0
        assert all(TOKEN not in json.dumps(r.__dict__, default=str) for r in caplog.records)


class TestUserProfile:
    @pytest.mark.parametrize("version", ["3.2.0", "2.58.4"])
    async def test_reads_user(self, make_client: ClientFactory, version: str) -> None:
        recorded = recording("user_profile", version)
        server = Server().on("GET", recorded["request"]["path"], replay("user_profile", version))

        user = await make_client(server).user_profile()

        assert (user.id, user.username, user.is_superuser) == (1, "admin", True)

    @pytest.mark.parametrize("name", ["unauthorized_bad_token", "unauthorized_no_token"])
    async def test_dd_403_for_tokens_is_authentication(
        self, make_client: ClientFactory, name: str
    ) -> None:
        server = Server().on("GET", "/api/v2/user_profile/", replay(name))

        with pytest.raises(DojoAuthenticationFailed) as caught:
            await make_client(server).user_profile()

        assert caught.value.message == recording(name)["body"]["detail"]

    async def test_answer_that_is_not_json(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/user_profile/", httpx.Response(200, text="<html>"))

        with pytest.raises(DojoError, match="not JSON"):
            await make_client(server).user_profile()


class TestApiTokenAuth:
    async def test_exchanges_credentials(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", "/api/v2/api-token-auth/", replay("api_token_auth"))

        token = await make_client(server, token=None).api_token_auth("alice", "pw")

        assert token == recording("api_token_auth")["body"]["token"]
        assert json.loads(server.requests[0].content) == {"username": "alice", "password": "pw"}

    async def test_never_sends_a_token(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", "/api/v2/api-token-auth/", replay("api_token_auth"))

        await make_client(server).api_token_auth("alice", "pw")

        assert "authorization" not in server.requests[0].headers

    async def test_bad_password(self, make_client: ClientFactory) -> None:
        server = Server().on(
            "POST", "/api/v2/api-token-auth/", replay("api_token_auth_bad_password")
        )

        with pytest.raises(DojoAuthenticationFailed) as caught:
            await make_client(server).api_token_auth("alice", "wrong")

        assert caught.value.status_code == 400
        assert caught.value.message == "Unable to log in with provided credentials."
        assert len(server.requests) == 1


class TestProductTypes:
    async def test_list_by_name_is_exact(self, make_client: ClientFactory) -> None:
        rows = recording("product_types_list")["body"]["results"]
        server = Server().on("GET", "/api/v2/product_types/", page(*rows))

        found = await make_client(server).list_product_types("E2E PT")

        assert [t.id for t in found] == [2]
        assert server.requests[0].url.params["name"] == "E2E PT"

    async def test_create(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", "/api/v2/product_types/", replay("product_type_create"))

        created = await make_client(server).create_product_type("Recorded PT")

        assert (created.id, created.name) == (3, "Recorded PT")
        assert json.loads(server.requests[0].content) == {"name": "Recorded PT"}


class TestProducts:
    async def test_list_walks_pages_by_offset(self, make_client: ClientFactory) -> None:
        first, second = recording("products_list")["body"]["results"]
        # DD's absolute `next` points at its internal host; the client must not follow it.
        server = Server().on(
            "GET", PRODUCTS,
            httpx.Response(200, json={"count": 2, "next": "http://10.9.9.9/api/v2/products/",
                                      "previous": None, "results": [first]}),
            page(second, count=2),
        )  # fmt: skip

        products = await make_client(server).list_products(limit=1)

        assert [p.id for p in products] == [2, 1]
        assert [dict(r.url.params) for r in server.requests] == [
            {"limit": "1", "offset": "0"},
            {"limit": "1", "offset": "1"},
        ]
        assert {r.url.host for r in server.requests} == {"dojo.test"}

    async def test_list_by_exact_name(self, make_client: ClientFactory) -> None:
        rows = recording("products_list")["body"]["results"]
        lower = {**rows[1], "id": 9, "name": "e2e product"}
        server = Server().on("GET", PRODUCTS, page(rows[1], lower))

        found = await make_client(server).list_products("E2E Product")

        assert [p.id for p in found] == [1]
        assert server.requests[0].url.params["name_exact"] == "E2E Product"

    async def test_invisible_products_are_absent(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", PRODUCTS, replay("products_list_regular_user_no_access"))

        assert await make_client(server).list_products() == []

    async def test_get(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/products/3/", replay("product_create"))

        product = await make_client(server).get_product(3)

        assert (product.name, product.prod_type, product.description) == (
            "Recorded Product", 3, "recorded",
        )  # fmt: skip

    async def test_get_missing(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/products/999999/", replay("product_not_found"))

        with pytest.raises(DojoNotFound, match="No Product matches"):
            await make_client(server).get_product(999999)

    async def test_create_uses_name_as_description(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", PRODUCTS, replay("product_create"))

        await make_client(server).create_product("Recorded Product", 3)

        assert json.loads(server.requests[0].content) == {
            "name": "Recorded Product", "prod_type": 3, "description": "Recorded Product",
        }  # fmt: skip

    async def test_create_taken_name(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", PRODUCTS, replay("product_create_duplicate_name"))

        with pytest.raises(DojoRejected) as caught:
            await make_client(server).create_product("E2E Product", 2, "d")

        assert caught.value.field_errors == {"name": ["product with this name already exists."]}


class TestEngagements:
    async def test_find_by_product_and_name(self, make_client: ClientFactory) -> None:
        recorded = recording("engagements_by_name")
        server = Server().on("GET", "/api/v2/engagements/", replay("engagements_by_name"))

        engagement = await make_client(server).find_engagement(3, "Smart Upload")

        assert engagement is not None
        assert (engagement.id, engagement.product) == (4, 3)
        sent = server.requests[0].url.params
        recorded_params = httpx.URL(recorded["request"]["path"]).params
        assert (sent["product"], sent["name"]) == (
            recorded_params["product"], recorded_params["name"],
        )  # fmt: skip

    async def test_find_picks_newest_of_same_name(self, make_client: ClientFactory) -> None:
        row = recording("engagements_by_name")["body"]["results"][0]
        server = Server().on("GET", "/api/v2/engagements/", page(row, {**row, "id": 12}))

        engagement = await make_client(server).find_engagement(3, "Smart Upload")

        assert engagement is not None and engagement.id == 12

    async def test_find_none(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/engagements/", page())

        assert await make_client(server).find_engagement(3, "Smart Upload") is None

    @pytest.mark.parametrize("version", ["3.2.0", "2.58.4"])
    async def test_create_ci_cd_in_progress(self, make_client: ClientFactory, version: str) -> None:
        server = Server().on("POST", "/api/v2/engagements/", replay("engagement_create", version))

        created = await make_client(server).create_engagement(
            3, "Smart Upload", target_start=date(2026, 12, 4)
        )

        assert created.name == "Smart Upload"
        assert json.loads(server.requests[0].content) == {
            "product": 3,
            "name": "Smart Upload",
            "target_start": "2026-12-04",
            "target_end": "2027-12-04",
            "engagement_type": "CI/CD",
            "status": "In Progress",
        }


class TestFindTest:
    async def test_by_title_and_scan_type(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/tests/", replay("tests_in_engagement"))

        test = await make_client(server).find_test(4, "Tenable Scan", "Tenable Scan")

        assert test is not None and test.id == 10
        params = server.requests[0].url.params
        assert (params["engagement"], params["title"]) == ("4", "Tenable Scan")

    async def test_other_scan_type_is_not_the_test(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/tests/", replay("tests_in_engagement"))

        assert await make_client(server).find_test(4, "Tenable Scan", "Nmap Scan") is None

    async def test_untitled_2_58_test_is_not_matched(self, make_client: ClientFactory) -> None:
        server = Server().on("GET", "/api/v2/tests/", replay("tests_in_engagement", "2.58.4"))

        assert await make_client(server).find_test(1, "Tenable Scan", "Tenable Scan") is None

    async def test_newest_of_several(self, make_client: ClientFactory) -> None:
        row = recording("tests_in_engagement")["body"]["results"][0]
        server = Server().on("GET", "/api/v2/tests/", page({**row, "id": 30}, row))

        test = await make_client(server).find_test(4, "Tenable Scan", "Tenable Scan")

        assert test is not None and test.id == 30


class TestForbidden:
    async def test_permission_denied_is_not_authentication(
        self, make_client: ClientFactory
    ) -> None:
        server = Server().on(
            "POST", "/api/v2/engagements/", replay("import_scan_forbidden_regular_user")
        )

        with pytest.raises(DojoPermissionDenied):
            await make_client(server).create_engagement(3, "Smart Upload")
