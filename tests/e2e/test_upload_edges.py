"""Re-uploads, thresholds, empty reports, bad files, tokens and DefectDojo's refusals."""

from __future__ import annotations

import pytest

from tests.conftest import SCANS
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS, World

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE NessusClientData_v2 [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<NessusClientData_v2><Report name="&xxe;"></Report></NessusClientData_v2>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<NessusClientData_v2><Report name="&lol3;"></Report></NessusClientData_v2>"""


async def _own_all_hosts(world: World) -> int:
    product = world.product("Everything", world.alice)
    for host in ("qa3app01", "qa3app02", "qa3app03", "qa3app04", "qa3app05", "qa3app06"):
        world.dojo.add_endpoint(product.id, host)
    await world.refresh_index()
    return product.id


async def _upload_count(world: World) -> int:
    response = await world.client.get(
        "/api/v2/smart_upload/uploads/", headers=world.auth(world.admin)
    )
    count: int = response.json()["count"]
    return count


class TestReupload:
    async def test_same_scan_twice_reimports_into_the_same_test(self, world: World) -> None:
        product_id = await _own_all_hosts(world)
        first = (await world.upload(NESSUS_SEVEN_HOSTS)).json()
        findings_after_first = len(world.dojo.findings)

        second = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

        [pushed_first] = first["products"]
        [pushed_second] = second["products"]
        assert pushed_first["push"] == "import" and pushed_second["push"] == "reimport"
        assert pushed_second["test_id"] == pushed_first["test_id"]
        assert len(world.tests_of(world.dojo.products[product_id])) == 1
        assert len(world.dojo.findings) == findings_after_first


class TestCounts:
    async def test_below_minimum_severity_is_dropped_and_counted(self, world: World) -> None:
        await _own_all_hosts(world)

        summary = (await world.upload(NESSUS_SEVEN_HOSTS, minimum_severity="Medium")).json()

        records = summary["records"]
        assert records["dropped_below_minimum_severity"] > 0
        assert records["parsed"] == 296
        assert (
            records["routed"] + records["unassigned"] + records["dropped_below_minimum_severity"]
            == records["parsed"]
        )
        severities = {item["severity"] for item in (await world.unassigned())["results"]}
        assert severities <= {"Medium", "High", "Critical"}

    @pytest.mark.parametrize(
        ("path", "scan_type"),
        [(SCANS / "nmap" / "nmap_0port.xml", "Nmap Scan")],
    )
    async def test_report_without_findings_is_a_201_with_zero_records(
        self, world: World, path: object, scan_type: str
    ) -> None:
        from pathlib import Path

        assert isinstance(path, Path)
        response = await world.upload(path, scan_type=scan_type)

        assert response.status_code == 201, response.text
        assert response.json()["records"]["parsed"] == 0
        assert response.json()["status"] == "completed"


class TestBadInput:
    @pytest.mark.parametrize(
        ("content", "scan_type", "expected"),
        [
            (NESSUS_SEVEN_HOSTS.read_bytes(), "Nmap Scan", "Nmap"),
            (b"<NessusClientData_v2><Report name='x'><ReportHost", "Tenable Scan", "XML"),
            (XXE, "Tenable Scan", "entities"),
            (BILLION_LAUGHS, "Tenable Scan", "entities"),
            (b"", "Tenable Scan", "empty"),
            (NESSUS_SEVEN_HOSTS.read_bytes(), "No Such Scan", "not supported"),
        ],
        ids=["wrong-type", "malformed", "xxe", "billion-laughs", "zero-bytes", "unknown-type"],
    )
    async def test_refused_with_a_clear_400_and_nothing_stored(
        self, world: World, content: bytes, scan_type: str, expected: str
    ) -> None:
        response = await world.upload(NESSUS_SEVEN_HOSTS, content=content, scan_type=scan_type)

        assert response.status_code == 400, response.text
        assert expected.lower() in response.json()["detail"].lower()
        assert await _upload_count(world) == 0
        assert world.dojo.tests == {}

    async def test_bad_option_is_a_400_naming_it(self, world: World) -> None:
        response = await world.upload(NESSUS_SEVEN_HOSTS, minimum_severity="Severe")

        assert response.status_code == 400
        assert "minimum_severity" in response.json()["detail"]


class TestTokens:
    async def test_missing_token_is_401(self, world: World) -> None:
        response = await world.client.get("/api/v2/smart_upload/uploads/")

        assert response.status_code == 401
        assert "Token" in response.json()["detail"]

    async def test_invalid_token_is_401(self, world: World) -> None:
        response = await world.client.get(
            "/api/v2/smart_upload/unassigned_findings/",
            headers={"Authorization": "Token not-a-real-token"},
        )

        assert response.status_code == 401
        assert "did not accept" in response.json()["detail"]


class TestDojoRefusals:
    async def test_forbidden_product_keeps_its_records_others_pushed(self, world: World) -> None:
        mine = world.product("Mine", world.alice)
        theirs = world.product("Theirs", world.bob)
        world.dojo.add_endpoint(mine.id, "qa3app01")
        world.dojo.add_endpoint(theirs.id, "qa3app02")
        await world.refresh_index()

        summary = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

        products = {p["product_id"]: p for p in summary["products"]}
        assert products[mine.id]["status"] == "pushed"
        assert products[theirs.id]["status"] == "failed"
        assert summary["status"] == "completed_with_errors"
        forbidden = await world.unassigned(reason="forbidden")
        assert forbidden["count"] == products[theirs.id]["records"]
        assert {i["host"]["fqdn"] for i in forbidden["results"]} == {"qa3app02"}
        assert "permission" in forbidden["results"][0]["explanation"]
        records = summary["records"]
        assert records["routed"] + records["unassigned"] == records["parsed"]

    async def test_two_500s_then_success_pushes_once(self, world: World) -> None:
        product_id = await _own_all_hosts(world)
        world.dojo.faults.fail("POST", "/api/v2/import-scan/", status=500, times=2)

        summary = (await world.upload(NESSUS_SEVEN_HOSTS)).json()

        [pushed] = summary["products"]
        assert pushed["status"] == "pushed"
        imports = [call for call in world.dojo.calls if call.path == "/api/v2/import-scan/"]
        assert [call.status for call in imports] == [500, 500, 201]
        assert len(world.tests_of(world.dojo.products[product_id])) == 1
