"""Scripted failures, the call log, the latency model and seeding."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.fakedojo import (
    CallRecord,
    FakeDojoState,
    FakeDojoTransport,
    LatencyModel,
    create_fakedojo,
    seed_state,
)
from tests.fakedojo_tests.conftest import BASE_URL, World, import_file, scan

PRODUCTS = "/api/v2/products/"


class TestFaults:
    async def test_fail_twice_then_answer_normally(self, world: World) -> None:
        world.state.faults.fail("GET", PRODUCTS, status=500, times=2)
        http = world.client()
        statuses = [(await http.get(PRODUCTS)).status_code for _ in range(3)]
        assert statuses == [500, 500, 200]
        assert world.state.calls == [CallRecord("GET", PRODUCTS, s) for s in statuses]

    async def test_fail_only_the_third_call(self, world: World) -> None:
        world.state.faults.fail(None, "/api/v2/*", status=502, skip=2)
        http = world.client()
        statuses = [(await http.get(PRODUCTS)).status_code for _ in range(4)]
        assert statuses == [200, 200, 502, 200]

    async def test_throttle_sends_retry_after(self, world: World) -> None:
        world.state.faults.throttle("GET", PRODUCTS, retry_after=3)
        response = await world.client().get(PRODUCTS)
        assert (response.status_code, response.headers["retry-after"]) == (429, "3")

    async def test_dropped_connection_after_the_change_was_applied(self, world: World) -> None:
        world.state.faults.drop_connection("POST", "/api/v2/import-scan/")
        http = world.client()
        with pytest.raises(httpx.ReadError):
            await import_file(
                http, world.engagement.id, "s.nessus", scan("tenable/nessus_v_unknown.xml")
            )
        assert len(world.state.tests) == 1 and len(world.state.findings) == 32
        assert world.state.calls == [CallRecord("POST", "/api/v2/import-scan/", 201)]
        retry = await import_file(
            http, world.engagement.id, "s.nessus", scan("tenable/nessus_v_unknown.xml")
        )
        assert retry.status_code == 201  # the rule fired once

    async def test_delay_holds_the_answer(self, world: World) -> None:
        world.state.faults.delay("GET", PRODUCTS, seconds=0.05, times=1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        response = await world.client().get(PRODUCTS)
        assert response.status_code == 200
        assert loop.time() - started >= 0.05


class TestLatencyModel:
    def test_defaults_follow_the_recorded_timings(self) -> None:
        model = LatencyModel()
        # 32 findings, 290 (finding, host) statuses: the recorded 1 MB .nessus, ~0.5 s.
        assert model.import_cost(32, 290) == pytest.approx(0.15 + 0.128 + 0.232)

    async def test_import_waits_for_the_modelled_time(self) -> None:
        state = FakeDojoState()
        admin = state.add_user("admin", is_superuser=True)
        engagement = state.add_engagement(state.add_product("P").id)
        model = LatencyModel(
            import_seconds=0.05, per_finding_seconds=0.0, per_endpoint_status_seconds=0.0
        )
        app = create_fakedojo(state, latency=model)
        async with httpx.AsyncClient(
            transport=FakeDojoTransport(app),
            base_url=BASE_URL,
            headers={"Authorization": f"Token {admin.token}"},
        ) as http:
            loop = asyncio.get_running_loop()
            started = loop.time()
            response = await import_file(
                http, engagement.id, "n.xml", scan("nmap/nmap_1port.xml"), scan_type="Nmap Scan"
            )
            assert response.status_code == 201
            assert loop.time() - started >= 0.05


def test_seed_document_builds_users_products_and_endpoints() -> None:
    state = seed_state(
        FakeDojoState(),
        {
            "users": [
                {"username": "admin", "token": "t0k", "is_superuser": True},
                {"username": "alice", "password": "pw"},
            ],
            "product_types": [{"name": "Infra", "members": ["alice"]}],
            "products": [
                {"name": "Payments", "prod_type": "Infra", "members": ["alice"]},
                {"name": "Loose"},
            ],
            "engagements": [{"product": "Payments"}],
            "endpoints": [
                {"product": "Payments", "host": "10.0.4.7", "port": 443, "protocol": "https"}
            ],
        },
    )
    alice = next(u for u in state.users.values() if u.username == "alice")
    payments = next(p for p in state.products.values() if p.name == "Payments")
    loose = next(p for p in state.products.values() if p.name == "Loose")
    assert state.user_by_token("t0k") is not None
    assert alice.id in payments.members and loose.prod_type_id == 1
    assert [(e.host, e.port, e.product_id) for e in state.endpoints.values()] == [
        ("10.0.4.7", 443, payments.id)
    ]
    assert [e.name for e in state.engagements.values()] == ["Smart Upload"]
