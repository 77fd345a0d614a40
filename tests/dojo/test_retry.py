"""Retries: reads retry DojoUnavailable under the policy, writes never; Retry-After wins."""

from __future__ import annotations

import io
import logging

import httpx
import pytest

from app.dojo.errors import DojoNotFound, DojoUnavailable
from app.dojo.models import ImportOptions, ImportResult
from app.dojo.retry import RetryPolicy
from tests.dojo.conftest import ClientFactory, FakeSleep, Server, recording, replay

PRODUCT = "/api/v2/products/3/"


def busy(status: int = 500, retry_after: str | None = None) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return httpx.Response(status, headers=headers, json={"message": "busy"})


class TestReadRetries:
    async def test_two_server_errors_then_success(
        self, make_client: ClientFactory, fake_sleep: FakeSleep
    ) -> None:
        server = Server().on("GET", PRODUCT, busy(), busy(), replay("product_create"))

        product = await make_client(server).get_product(3)

        assert product.id == 3
        assert len(server.requests) == 3
        assert len(fake_sleep.waits) == 2

    async def test_retry_after_is_honoured(
        self, make_client: ClientFactory, fake_sleep: FakeSleep
    ) -> None:
        server = Server().on("GET", PRODUCT, busy(429, "7"), replay("product_create"))

        await make_client(server).get_product(3)

        assert fake_sleep.waits == [7.0]

    async def test_retry_after_is_capped(self, make_client: ClientFactory) -> None:
        sleep = FakeSleep()
        policy = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=5.0, deadline=600, sleep=sleep)
        server = Server().on("GET", PRODUCT, busy(503, "3600"), replay("product_create"))

        await make_client(server, policy=policy).get_product(3)

        assert sleep.waits == [5.0]

    async def test_backoff_grows_with_jitter_up_to_max(self, make_client: ClientFactory) -> None:
        sleep = FakeSleep()
        policy = RetryPolicy(attempts=6, initial_wait=1.0, max_wait=6.0, deadline=600, sleep=sleep)
        server = Server().on("GET", PRODUCT, busy())

        with pytest.raises(DojoUnavailable):
            await make_client(server, policy=policy).get_product(3)

        # initial * 2**n plus up to `initial` of jitter, capped at max_wait
        floors = [1.0, 2.0, 4.0, 6.0, 6.0]
        assert len(sleep.waits) == len(floors)
        for wait, floor in zip(sleep.waits, floors, strict=True):
            assert floor <= wait <= min(floor + 1.0, 6.0)

    async def test_gives_up_after_attempts(
        self, make_client: ClientFactory, fake_sleep: FakeSleep
    ) -> None:
        server = Server().on("GET", PRODUCT, busy(502))

        with pytest.raises(DojoUnavailable) as caught:
            await make_client(server).get_product(3)

        assert caught.value.status_code == 502
        assert len(server.requests) == 4  # the policy fixture's attempts

    async def test_no_wait_crosses_the_deadline(self, make_client: ClientFactory) -> None:
        sleep = FakeSleep()
        policy = RetryPolicy(attempts=5, initial_wait=0.01, max_wait=120, deadline=30, sleep=sleep)
        server = Server().on("GET", PRODUCT, busy(429, "60"), replay("product_create"))

        with pytest.raises(DojoUnavailable) as caught:
            await make_client(server, policy=policy).get_product(3)

        assert caught.value.retry_after == 60.0
        assert len(server.requests) == 1
        assert sleep.waits == []

    async def test_transport_errors_are_retried(
        self, make_client: ClientFactory, fake_sleep: FakeSleep
    ) -> None:
        server = Server().on(
            "GET", PRODUCT, httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
            replay("product_create"),
        )  # fmt: skip

        product = await make_client(server).get_product(3)

        assert product.id == 3
        assert len(fake_sleep.waits) == 2

    async def test_other_errors_are_not_retried(
        self, make_client: ClientFactory, fake_sleep: FakeSleep
    ) -> None:
        server = Server().on("GET", PRODUCT, replay("product_not_found"))

        with pytest.raises(DojoNotFound):
            await make_client(server).get_product(3)

        assert len(server.requests) == 1
        assert fake_sleep.waits == []

    async def test_token_login_is_retried(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", "/api/v2/api-token-auth/", busy(502), replay("api_token_auth"))

        token = await make_client(server, token=None).api_token_auth("alice", "pw")

        assert token == recording("api_token_auth")["body"]["token"]
        assert len(server.requests) == 2

    async def test_each_retry_is_logged(
        self, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
    ) -> None:
        server = Server().on("GET", PRODUCT, busy(503, "2"), replay("product_create"))
        caplog.set_level(logging.INFO, logger="app.dojo")

        await make_client(server).get_product(3)

        [retry] = [r for r in caplog.records if r.getMessage() == "dojo.retry"]
        fields = vars(retry)
        assert (fields["method"], fields["path"]) == ("GET", PRODUCT)
        assert (fields["attempt"], fields["wait_seconds"], fields["status"]) == (1, 2.0, 503)


class TestWritesAreNotRetried:
    async def test_create_product(self, make_client: ClientFactory, fake_sleep: FakeSleep) -> None:
        server = Server().on("POST", "/api/v2/products/", busy(503))

        with pytest.raises(DojoUnavailable):
            await make_client(server).create_product("P", 1)

        assert len(server.requests) == 1
        assert fake_sleep.waits == []

    async def test_create_engagement(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", "/api/v2/engagements/", httpx.ReadTimeout("slow"))

        with pytest.raises(DojoUnavailable):
            await make_client(server).create_engagement(3, "Smart Upload")

        assert len(server.requests) == 1

    async def test_reimport(self, make_client: ClientFactory) -> None:
        server = Server().on("POST", "/api/v2/reimport-scan/", busy(502))

        with pytest.raises(DojoUnavailable):
            await make_client(server).reimport_scan(
                io.BytesIO(b"x"), "s.nessus", ImportOptions(scan_type="Tenable Scan"), 10
            )

        assert len(server.requests) == 1


class TestRetryingAPushUnit:
    async def test_timed_out_import_that_landed_becomes_a_reimport(
        self, make_client: ClientFactory, policy: RetryPolicy
    ) -> None:
        """The pattern of app.dojo.retry: re-check for the test on every attempt."""
        test_row = recording("tests_in_engagement")["body"]["results"][0]
        landed: list[dict[str, object]] = []
        imports: list[bytes] = []
        reimports: list[bytes] = []

        def dojo(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/v2/tests/":
                return httpx.Response(
                    200, json={"count": len(landed), "next": None, "results": landed}
                )
            if request.url.path == "/api/v2/import-scan/":
                imports.append(request.content)
                landed.append(test_row)  # DD applied it, but the answer never arrived
                raise httpx.ReadTimeout("slow")
            reimports.append(request.content)
            return replay("reimport_scan_nessus")

        client = make_client(dojo)
        scan = io.BytesIO(b"<NessusClientData_v2>share</NessusClientData_v2>")
        options = ImportOptions(scan_type="Tenable Scan", test_title="Tenable Scan")

        async def push() -> ImportResult:
            test = await client.find_test(4, "Tenable Scan", "Tenable Scan")
            if test is None:
                return await client.import_scan(scan, "s.nessus", options, 4)
            return await client.reimport_scan(scan, "s.nessus", options, test.id)

        result = await policy.run(push)

        assert result.test_id == recording("reimport_scan_nessus")["body"]["test_id"]
        assert (len(imports), len(reimports)) == (1, 1)
        assert scan.getvalue() in reimports[0]


class TestPolicyValidation:
    @pytest.mark.parametrize(
        "kwargs", [{"attempts": 0}, {"initial_wait": -1.0}, {"deadline": -1.0}]
    )
    def test_refuses_nonsense(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError):
            RetryPolicy(**kwargs)  # type: ignore[arg-type]
