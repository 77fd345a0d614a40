"""iter_endpoints: large pages, a few in flight, robust to DD's page cap and changing counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import httpx
import pytest

from app.dojo.errors import DojoNotFound
from app.dojo.models import EndpointRow
from tests.dojo.conftest import ClientFactory, recording

ENDPOINTS = "/api/v2/endpoints/"


class EndpointServer:
    """/api/v2/endpoints/ over a list of rows, with DD's limit cap and ordering by id.

    Each request yields to the event loop while "in flight", so concurrent page fetches
    overlap and the largest overlap is measured.
    """

    def __init__(self, rows: list[dict[str, object]], *, max_limit: int = 1000) -> None:
        self.rows = rows
        self.max_limit = max_limit
        self.offsets: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail_at_offset: int | None = None
        self.grow_after_first_page: list[dict[str, object]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == ENDPOINTS
        assert request.url.params["o"] == "id"
        limit = min(int(request.url.params["limit"]), self.max_limit)
        offset = int(request.url.params["offset"])
        self.offsets.append(offset)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        for _ in range(3):
            await asyncio.sleep(0)
        self.in_flight -= 1
        if offset == self.fail_at_offset:
            return httpx.Response(404, json={"detail": "Invalid page."})
        body: dict[str, object] = {
            "count": len(self.rows),
            "next": None,
            "previous": None,
            "results": self.rows[offset : offset + limit],
            "prefetch": {},
        }
        if offset == 0 and self.grow_after_first_page:
            self.rows.extend(self.grow_after_first_page)
            self.grow_after_first_page = []
        return httpx.Response(200, json=body)


def rows_like(version: str, count: int) -> list[dict[str, object]]:
    """`count` rows shaped like DD's recorded rows of that version, ids 1..count."""
    name = "endpoints_list"
    template = recording(name, version)["body"]["results"][0]
    return [{**template, "id": i, "host": f"host{i}.example.com"} for i in range(1, count + 1)]


async def collect(rows: AsyncGenerator[EndpointRow, None]) -> list[EndpointRow]:
    return [row async for row in rows]


class TestIterEndpoints:
    @pytest.mark.parametrize("version", ["3.2.0", "2.58.4"])
    async def test_all_rows_in_order_with_bounded_concurrency(
        self, make_client: ClientFactory, version: str
    ) -> None:
        server = EndpointServer(rows_like(version, 95))

        rows = await collect(make_client(server).iter_endpoints(page_size=10, concurrency=3))

        assert [r.id for r in rows] == list(range(1, 96))
        assert sorted(server.offsets) == list(range(0, 95, 10))
        assert server.most_in_flight == 3

    async def test_first_page_alone_when_it_holds_everything(
        self, make_client: ClientFactory
    ) -> None:
        server = EndpointServer(rows_like("3.2.0", 4))

        rows = await collect(make_client(server).iter_endpoints(page_size=10))

        assert len(rows) == 4
        assert server.offsets == [0]

    async def test_steps_by_dd_page_cap(self, make_client: ClientFactory) -> None:
        server = EndpointServer(rows_like("3.2.0", 50), max_limit=7)

        rows = await collect(make_client(server).iter_endpoints(page_size=1000, concurrency=4))

        assert [r.id for r in rows] == list(range(1, 51))
        assert sorted(server.offsets) == list(range(0, 50, 7))

    async def test_rows_added_during_the_walk_are_fetched(self, make_client: ClientFactory) -> None:
        server = EndpointServer(rows_like("2.58.4", 30))
        server.grow_after_first_page = rows_like("2.58.4", 45)[30:]

        rows = await collect(make_client(server).iter_endpoints(page_size=10, concurrency=2))

        assert [r.id for r in rows] == list(range(1, 46))

    async def test_shrinking_list_ends_early(self, make_client: ClientFactory) -> None:
        server = EndpointServer(rows_like("3.2.0", 40))
        client = make_client(server)
        iterator = client.iter_endpoints(page_size=10, concurrency=1)

        first_row = await anext(iterator)
        del server.rows[15:]
        rest = await collect(iterator)

        assert [first_row.id] + [r.id for r in rest] == list(range(1, 16))
        assert sorted(server.offsets) == [0, 10]

    async def test_empty(self, make_client: ClientFactory) -> None:
        server = EndpointServer([])

        assert await collect(make_client(server).iter_endpoints()) == []

    async def test_failed_page_raises_and_cancels_the_rest(
        self, make_client: ClientFactory
    ) -> None:
        server = EndpointServer(rows_like("3.2.0", 100))
        server.fail_at_offset = 20
        before = asyncio.all_tasks()

        with pytest.raises(DojoNotFound):
            await collect(make_client(server).iter_endpoints(page_size=10, concurrency=4))

        assert not [t for t in asyncio.all_tasks() - before if not t.done()]

    async def test_stopping_early_cancels_pages_in_flight(self, make_client: ClientFactory) -> None:
        server = EndpointServer(rows_like("3.2.0", 100))
        iterator = make_client(server).iter_endpoints(page_size=10, concurrency=4)
        before = asyncio.all_tasks()

        async for row in iterator:
            if row.id == 15:
                break
        await iterator.aclose()

        assert not [t for t in asyncio.all_tasks() - before if not t.done()]
        assert len(server.offsets) <= 1 + 4 + 1
