"""Hostile and careless clients: oversized and stalled bodies, too many uploads at once,
and filters that are not what the list accepts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.reliability.conftest import WorldFactory
from tests.reliability.helpers import own_hosts, run_queued
from tests.reliability.world import ReliabilityWorld

IMPORT_PATH = "/api/v2/smart_upload_import/"
FORM_ALLOWANCE = 1024 * 1024
FILE_PART = (
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.nessus"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)


class _Client:
    """A raw ASGI client: the test decides exactly what the body stream does, and sees how
    much of it the service pulled."""

    def __init__(self, world: ReliabilityWorld) -> None:
        self.world = world
        self.pulled = 0
        self.sent: list[dict[str, Any]] = []

    async def post(
        self, headers: dict[str, str], next_chunk: Callable[[], Awaitable[bytes | None]]
    ) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": IMPORT_PATH,
            "raw_path": IMPORT_PATH.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "server": ("su.test", 80),
            "client": ("127.0.0.1", 1234),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            chunk = await next_chunk()
            self.pulled += 1
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            self.sent.append(message)

        await self.world.app(scope, receive, send)
        status: int = self.sent[0]["status"]
        return status


def _headers(world: ReliabilityWorld, **more: str) -> dict[str, str]:
    return {
        **world.auth(world.alice),
        "content-type": "multipart/form-data; boundary=xyz",
        **more,
    }


class TestSizeLimit:
    async def test_declared_length_over_the_limit_is_refused_before_reading(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(max_upload_bytes=1000) as world:
            client = _Client(world)

            async def never() -> bytes | None:
                raise AssertionError("the body was read")

            headers = _headers(world, **{"content-length": str(1000 + FORM_ALLOWANCE + 1)})
            status = await client.post(headers, never)

            assert (status, client.pulled) == (413, 0)
            assert b"larger than the limit" in client.sent[1]["body"]

    async def test_streamed_body_is_cut_off_as_soon_as_it_passes_the_limit(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(max_upload_bytes=1000) as world:
            client = _Client(world)
            chunk = b"x" * 64 * 1024

            async def endless() -> bytes | None:
                return FILE_PART if client.pulled == 0 else chunk

            status = await client.post(_headers(world), endless)

            assert status == 413
            # the chunk that passed the limit was the last one pulled
            assert len(FILE_PART) + (client.pulled - 2) * len(chunk) <= 1000 + FORM_ALLOWANCE
            assert len(FILE_PART) + (client.pulled - 1) * len(chunk) > 1000 + FORM_ALLOWANCE

    async def test_file_over_the_limit_within_the_form_allowance_is_refused(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world(max_upload_bytes=1000) as world:
            response = await world.upload(NESSUS_SEVEN_HOSTS)

            assert response.status_code == 413
            assert "1000 bytes" in response.json()["detail"]
            assert world.dojo.tests == {}

    async def test_other_routes_have_a_body_limit_too(self, make_world: WorldFactory) -> None:
        async with make_world() as world:
            response = await world.client.post(
                "/api/v2/smart_upload/unassigned_findings/disregard/",
                headers={**world.auth(world.alice), "content-type": "application/json"},
                content=b'{"ids": [' + b"1," * (9 * 1024 * 1024) + b"1]}",
            )

            assert response.status_code == 413


class TestSlowClient:
    async def test_stalled_body_is_a_408(self, make_world: WorldFactory) -> None:
        async with make_world(request_body_timeout_seconds=0.2) as world:
            client = _Client(world)
            chunks = iter([b"--xyz\r\n"])
            stalled = asyncio.Event()

            async def trickle() -> bytes | None:
                chunk = next(chunks, None)
                if chunk is None:
                    await stalled.wait()  # never set: the client stopped sending
                return chunk

            status = await client.post(_headers(world), trickle)

            assert status == 408
            assert b"stalled" in client.sent[1]["body"]


class TestUploadsInProgress:
    async def test_per_user_bound_is_a_429_with_retry_after(self, make_world: WorldFactory) -> None:
        async with make_world(max_active_uploads_per_user=2) as world:
            await own_hosts(world)
            for _ in range(2):
                queued = await world.upload(NESSUS_SEVEN_HOSTS, wait="false")
                assert queued.status_code == 202

            refused = await world.upload(NESSUS_SEVEN_HOSTS, wait="false")
            other_user = await world.upload(NESSUS_SEVEN_HOSTS, wait="false", user=world.bob)
            await run_queued(world)
            after = await world.upload(NESSUS_SEVEN_HOSTS, wait="false")

            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "30"
            assert "limit is 2" in refused.json()["detail"]
            assert other_user.status_code == 202
            assert after.status_code == 202

    async def test_racing_requests_cannot_pass_the_bound(self, make_world: WorldFactory) -> None:
        async with make_world(max_active_uploads_per_user=3) as world:
            await own_hosts(world)

            answers = await asyncio.gather(
                *(world.upload(NESSUS_SEVEN_HOSTS, wait="false") for _ in range(6))
            )

            assert sorted(a.status_code for a in answers) == [202] * 3 + [429] * 3


class TestListFilters:
    @pytest.mark.parametrize(
        ("params", "named"),
        [
            ({"upload": "abc"}, "upload"),
            ({"upload": "0"}, "upload"),
            ({"upload": str(2**70)}, "upload"),
            ({"severity": "Severe"}, "severity"),
            ({"reason": "whatever"}, "reason"),
            ({"date_from": "2026-13-01"}, "date_from"),
            ({"ordering": "password"}, "ordering"),
            ({"limit": "0"}, "limit"),
            ({"limit": "100000"}, "limit"),
            ({"offset": "-1"}, "offset"),
            ({"offset": str(2**70)}, "offset"),
            ({"host": "h" * 256}, "host"),
            ({"q": "q" * 256}, "q"),
        ],
    )
    async def test_bad_filter_is_a_400_naming_it(
        self, make_world: WorldFactory, params: dict[str, str], named: str
    ) -> None:
        async with make_world() as world:
            response = await world.client.get(
                "/api/v2/smart_upload/unassigned_findings/",
                headers=world.auth(world.alice),
                params=params,
            )

            assert response.status_code == 400, response.text
            assert named in response.json()["detail"]

    async def test_filter_text_is_data_never_sql_or_a_pattern(
        self, make_world: WorldFactory
    ) -> None:
        async with make_world() as world:
            await world.refresh_index()
            await world.upload(NESSUS_SEVEN_HOSTS)
            listed = await world.unassigned()
            assert listed["count"] > 0

            for text in ("' OR '1'='1", "%", "_", "qa3app01'; DROP TABLE uploads; --"):
                response = await world.client.get(
                    "/api/v2/smart_upload/unassigned_findings/",
                    headers=world.auth(world.alice),
                    params={"q": text, "host": text},
                )
                assert response.status_code == 200, response.text
                assert response.json()["count"] == 0, text
            assert (await world.unassigned())["count"] == listed["count"]

    @pytest.mark.parametrize("name", ["q", "host", "scan_type"])
    async def test_text_the_database_cannot_hold_is_a_400(
        self, make_world: WorldFactory, name: str
    ) -> None:
        async with make_world() as world:
            response = await world.client.get(
                "/api/v2/smart_upload/unassigned_findings/",
                headers=world.auth(world.alice),
                params={name: "qa3\x00app"},
            )

            assert response.status_code == 400, response.text
            assert "cannot be used" in response.json()["detail"]
