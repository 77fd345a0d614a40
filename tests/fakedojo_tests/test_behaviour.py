"""Pagination, permissions, filters and import/reimport semantics of the double."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakedojo import register_parser
from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding
from tests.fakedojo.parsers import DEDUPLICATION, PARSERS
from tests.fakedojo.state import ROLE_READER
from tests.fakedojo_tests.conftest import World, import_file, reimport_file, scan

NESSUS = "tenable/nessus_v_unknown.xml"


def two_host_nessus(hosts: list[str], items: list[tuple[str, str]]) -> bytes:
    """A .nessus where every host reports every (pluginName, severity) item on port 0.

    Items carry a synopsis but no plugin output, so DefectDojo's description (and hash
    code) is the same whichever hosts a file contains.
    """
    report_items = "".join(
        f'<ReportItem port="0" svc_name="general" protocol="tcp" severity="{sev}" '
        f'pluginID="{i}" pluginName="{name}"><synopsis>{name} found</synopsis></ReportItem>'
        for i, (name, sev) in enumerate(items)
    )
    report_hosts = "".join(
        f'<ReportHost name="{h}"><HostProperties><tag name="host-fqdn">{h}</tag>'
        f"</HostProperties>{report_items}</ReportHost>"
        for h in hosts
    )
    return (
        f'<NessusClientData_v2><Report name="r">{report_hosts}</Report></NessusClientData_v2>'
    ).encode()


class TestPagination:
    async def test_walking_next_links_returns_every_row_once(self, world: World) -> None:
        http = world.client()
        await import_file(http, world.engagement.id, "scan.nessus", scan(NESSUS))
        seen: list[int] = []
        url: str | None = f"/api/v2/endpoints/?product={world.product.id}&limit=7"
        while url is not None:
            page = (await http.get(url)).json()
            seen += [row["id"] for row in page["results"]]
            url = page["next"]
        assert sorted(seen) == sorted(e.id for e in world.state.endpoints.values())
        assert len(seen) == len(set(seen)) == 101

    async def test_links_are_absolute_with_sorted_query(self, world: World) -> None:
        http = world.client()
        await import_file(http, world.engagement.id, "scan.nessus", scan(NESSUS))
        page = (
            await http.get(f"/api/v2/endpoints/?product={world.product.id}&offset=3&limit=3")
        ).json()
        assert page["next"] == (
            f"http://127.0.0.1:8080/api/v2/endpoints/?limit=3&offset=6&product={world.product.id}"
        )
        assert page["previous"] == (
            f"http://127.0.0.1:8080/api/v2/endpoints/?limit=3&product={world.product.id}"
        )

    async def test_default_limit_is_25_and_bad_limits_fall_back(self, world: World) -> None:
        http = world.client()
        await import_file(http, world.engagement.id, "scan.nessus", scan(NESSUS))
        for query in ("", "?limit=0", "?limit=abc", "?limit=-3"):
            page = (await http.get(f"/api/v2/findings/{query}")).json()
            assert len(page["results"]) == 25
            assert parse_qs(urlsplit(page["next"]).query)["limit"] == ["25"]
        big = (await http.get("/api/v2/findings/?limit=1000")).json()
        assert (len(big["results"]), big["next"]) == (32, None)
        past = (await http.get("/api/v2/findings/?offset=500")).json()
        assert (past["count"], past["results"]) == (32, [])


class TestPermissions:
    async def test_outsider_sees_nothing_and_gets_404_on_detail(self, world: World) -> None:
        outsider = world.state.add_user("alice")
        http = world.client(outsider)
        await import_file(world.client(), world.engagement.id, "scan.nessus", scan(NESSUS))
        for path in (
            "/api/v2/products/",
            "/api/v2/endpoints/?limit=2",
            "/api/v2/findings/",
            "/api/v2/engagements/",
            "/api/v2/tests/",
        ):
            body = (await http.get(path)).json()
            assert (body["count"], body["results"]) == (0, []), path
        detail = await http.get(f"/api/v2/products/{world.product.id}/")
        assert detail.status_code == 404

    async def test_product_and_product_type_members_see_and_import(self, world: World) -> None:
        member = world.state.add_user("member")
        type_member = world.state.add_user("type_member")
        world.product.members[member.id] = 4
        world.state.product_types[world.product.prod_type_id].members[type_member.id] = 4
        for user in (member, type_member):
            http = world.client(user)
            assert (await http.get("/api/v2/products/")).json()["count"] == 1
            response = await import_file(http, world.engagement.id, "s.nessus", scan(NESSUS))
            assert response.status_code == 201

    async def test_2_58_reader_sees_but_cannot_import(self, world: World) -> None:
        if world.version != "2.58":
            pytest.skip("roles exist in 2.x only")
        reader = world.state.add_user("reader")
        world.product.members[reader.id] = ROLE_READER
        http = world.client(reader)
        assert (await http.get("/api/v2/products/")).json()["count"] == 1
        response = await import_file(http, world.engagement.id, "s.nessus", scan(NESSUS))
        assert response.status_code == 403

    async def test_3_2_staff_sees_everything(self, world: World) -> None:
        staff = world.state.add_user("staff", is_staff=True)
        count = (await world.client(staff).get("/api/v2/products/")).json()["count"]
        assert count == (1 if world.version == "3.2" else 0)

    async def test_unknown_engagement_is_a_400_list(self, world: World) -> None:
        response = await import_file(world.client(), 999, "s.nessus", scan(NESSUS))
        assert (response.status_code, response.json()) == (400, ['Engagement "999" does not exist'])


class TestEndpointFilter:
    async def test_host_filter_is_substring_in_3_2_and_exact_in_2_58(self, world: World) -> None:
        world.state.add_endpoint(
            world.product.id, "build07.corp.example.com", port=443, protocol="https"
        )
        body = (await world.client().get("/api/v2/endpoints/?host=build07")).json()
        assert body["count"] == (1 if world.version == "3.2" else 0)
        exact = (
            await world.client().get("/api/v2/endpoints/?host=build07.corp.example.com")
        ).json()
        assert exact["count"] == 1
        row = exact["results"][0]
        assert row["path"] == ("" if world.version == "3.2" else None)


class TestImportAndReimport:
    async def test_import_merges_across_hosts(self, world: World) -> None:
        response = await import_file(world.client(), world.engagement.id, "s.nessus", scan(NESSUS))
        assert response.status_code == 201
        findings = list(world.state.findings.values())
        assert len(findings) == 32
        hosts = {e.host for e in world.state.endpoints.values()}
        assert hosts == {f"qa3app0{i}" for i in (1, 2, 3, 4, 5, 6, 9)}

    async def test_reimport_same_file_creates_nothing(self, world: World) -> None:
        http = world.client()
        test_id = (await import_file(http, world.engagement.id, "s.nessus", scan(NESSUS))).json()[
            "test"
        ]
        response = await reimport_file(
            http, test_id, "s.nessus", scan(NESSUS), close_old_findings="false"
        )
        stats = response.json()["statistics"]
        assert stats["delta"]["created"]["total"]["total"] == 0
        assert stats["delta"]["untouched"]["total"]["total"] == 32
        assert stats["after"]["total"]["active"] == 32
        assert not any(s.mitigated for s in world.state.statuses.values())

    async def test_reimporting_one_hosts_share_mitigates_the_other_host(self, world: World) -> None:
        http = world.client()
        both = two_host_nessus(
            ["a.example.com", "b.example.com"], [("Weak Cipher", "2"), ("Old TLS", "1")]
        )
        test_id = (await import_file(http, world.engagement.id, "both.nessus", both)).json()["test"]
        only_a = two_host_nessus(["a.example.com"], [("Weak Cipher", "2")])
        response = await reimport_file(
            http, test_id, "a.nessus", only_a, close_old_findings="false"
        )
        delta = response.json()["statistics"]["delta"]
        assert (delta["created"]["total"]["total"], delta["untouched"]["total"]["total"]) == (0, 1)
        weak = next(f for f in world.state.findings.values() if f.title == "Weak Cipher")
        status = {
            world.state.endpoints[s.endpoint_id].host: s.mitigated
            for s in world.state.statuses_of(weak.id)
        }
        assert status == {"a.example.com": False, "b.example.com": True}
        old_tls = next(f for f in world.state.findings.values() if f.title == "Old TLS")
        assert old_tls.active  # close_old_findings=false leaves unmatched findings open
        closing = await reimport_file(http, test_id, "a.nessus", only_a)
        assert closing.json()["statistics"]["delta"]["closed"]["total"]["total"] == 1
        assert (old_tls.active, old_tls.is_mitigated) == (False, True)
        assert [n.entry for n in old_tls.notes] == ["Mitigated by Tenable Scan re-upload."]

    async def test_reimport_reactivates_a_mitigated_match(self, world: World) -> None:
        http = world.client()
        file = two_host_nessus(["a.example.com"], [("Weak Cipher", "2")])
        test_id = (await import_file(http, world.engagement.id, "a.nessus", file)).json()["test"]
        empty = two_host_nessus([], [])
        await reimport_file(http, test_id, "empty.nessus", empty)
        again = await reimport_file(http, test_id, "a.nessus", file)
        assert again.json()["statistics"]["delta"]["reactivated"]["total"]["total"] == 1

    async def test_nmap_and_csv_imports(self, world: World) -> None:
        http = world.client()
        nmap = await import_file(
            http,
            world.engagement.id,
            "n.xml",
            scan("nmap/nmap_multiple_port.xml"),
            scan_type="Nmap Scan",
        )
        assert nmap.json()["statistics"]["after"]["total"]["total"] == 13
        titles = {f.title for f in world.state.findings.values()}
        assert "Open Port: 21/TCP" in titles  # Finding.save title-cases
        csv = await import_file(
            http, world.engagement.id, "t.csv", scan("tenable/nessus_many_vuln.csv")
        )
        assert csv.status_code == 201

    async def test_valid_scan_type_without_parser_is_500_until_registered(
        self, world: World
    ) -> None:
        http = world.client()
        response = await import_file(
            http, world.engagement.id, "a.xml", b"<report/>", scan_type="Acunetix Scan"
        )
        assert response.status_code == 500

        def parse(filename: str, content: bytes) -> list[ParsedFinding]:
            return [
                ParsedFinding(
                    "Custom", "High", "d", endpoints=[ParsedEndpoint("10.0.0.1", "tcp", 22)]
                )
            ]

        register_parser("Acunetix Scan", parse)
        try:
            ok = await import_file(
                http, world.engagement.id, "a.xml", b"<report/>", scan_type="Acunetix Scan"
            )
            assert ok.json()["statistics"]["after"]["high"]["total"] == 1
        finally:
            PARSERS.pop("Acunetix Scan")
            DEDUPLICATION.pop("Acunetix Scan", None)

    async def test_minimum_severity_drops_lower_findings(self, world: World) -> None:
        response = await import_file(
            world.client(), world.engagement.id, "s.nessus", scan(NESSUS), minimum_severity="Medium"
        )
        assert response.json()["statistics"]["after"]["total"]["total"] == 4
