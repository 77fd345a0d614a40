"""An upload split over the products that own its hosts, the rest kept unassigned."""

from __future__ import annotations

from collections import Counter

from app.formats.registry import FORMATS
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS, World


def _records_by_host() -> Counter[str]:
    with NESSUS_SEVEN_HOSTS.open("rb") as source:
        return Counter(r.host.dd_host or "" for r in FORMATS["tenable-xml"].records(source))


async def _seed(world: World) -> tuple[int, int]:
    payments = world.product("Payments", world.alice)
    build = world.product("Build", world.alice)
    for host in ("qa3app01", "qa3app02"):
        world.dojo.add_endpoint(payments.id, host)
    world.dojo.add_endpoint(build.id, "qa3app03")
    world.dojo.add_endpoint(payments.id, "qa3app04")
    world.dojo.add_endpoint(build.id, "qa3app04")
    await world.refresh_index()
    return payments.id, build.id


class TestSplitUpload:
    async def test_routes_known_hosts_and_keeps_the_rest(self, world: World) -> None:
        payments_id, build_id = await _seed(world)
        per_host = _records_by_host()

        response = await world.upload(NESSUS_SEVEN_HOSTS)

        assert response.status_code == 201, response.text
        summary = response.json()
        assert summary["status"] == "completed"
        products = {p["product_id"]: p for p in summary["products"]}
        assert set(products) == {payments_id, build_id}
        assert products[payments_id]["records"] == per_host["qa3app01"] + per_host["qa3app02"]
        assert products[build_id]["records"] == per_host["qa3app03"]
        assert sorted(products[payments_id]["hosts"]) == ["qa3app01", "qa3app02"]
        assert all(p["status"] == "pushed" and p["push"] == "import" for p in products.values())
        records = summary["records"]
        assert records["parsed"] == sum(per_host.values())
        assert (
            records["routed"] + records["unassigned"] + records["dropped_below_minimum_severity"]
            == records["parsed"]
        )
        assert summary["unassigned"]["by_reason"] == {
            "ambiguous": per_host["qa3app04"],
            "no_match": per_host["qa3app05"] + per_host["qa3app06"] + per_host["qa3app09"],
        }

    async def test_shares_land_in_a_smart_upload_engagement_test_named_after_the_scan(
        self, world: World
    ) -> None:
        payments_id, build_id = await _seed(world)

        await world.upload(NESSUS_SEVEN_HOSTS)

        payments = world.dojo.products[payments_id]
        tests = world.tests_of(payments)
        assert [(t.title, t.scan_type) for t in tests] == [("2459_Coinstar", "Tenable Scan")]
        engagement = world.dojo.engagements[tests[0].engagement_id]
        assert engagement.name == "Smart Upload"
        hosts = {host for _, host in world.finding_hosts(payments)}
        assert hosts == {"qa3app01", "qa3app02"}
        assert {host for _, host in world.finding_hosts(world.dojo.products[build_id])} == {
            "qa3app03"
        }

    async def test_ambiguous_findings_list_both_candidates(self, world: World) -> None:
        payments_id, build_id = await _seed(world)
        await world.upload(NESSUS_SEVEN_HOSTS)

        listed = await world.unassigned(reason="ambiguous")

        assert listed["count"] == _records_by_host()["qa3app04"]
        item = listed["results"][0]
        assert item["host"]["fqdn"] == "qa3app04"
        assert {c["product_id"] for c in item["candidates"]} == {payments_id, build_id}
        assert {c["product_name"] for c in item["candidates"]} == {"Payments", "Build"}
        assert "qa3app04" in item["explanation"]
        assert item["reporter"] == "alice"
        assert item["scan_type"] == "Tenable Scan"

    async def test_unknown_hosts_are_unassigned_with_no_match(self, world: World) -> None:
        await _seed(world)
        await world.upload(NESSUS_SEVEN_HOSTS)

        listed = await world.unassigned(reason="no_match")

        hosts = {item["host"]["fqdn"] for item in listed["results"]}
        assert hosts == {"qa3app05", "qa3app06", "qa3app09"}

    async def test_dry_run_plans_without_storing_or_pushing(self, world: World) -> None:
        payments_id, _ = await _seed(world)

        response = await world.upload(NESSUS_SEVEN_HOSTS, dry_run="true")

        assert response.status_code == 200, response.text
        plan = response.json()
        assert plan["dry_run"] is True
        planned = {p["product_id"]: p for p in plan["products"]}
        assert {item["host"] for item in planned[payments_id]["items"]} == {
            "qa3app01",
            "qa3app02",
        }
        assert len(plan["unassigned"]["items"]) == plan["records"]["unassigned"]
        assert world.dojo.tests == {}
        assert (await world.unassigned())["count"] == 0
        uploads = await world.client.get(
            "/api/v2/smart_upload/uploads/", headers=world.auth(world.alice)
        )
        assert uploads.json()["count"] == 0
