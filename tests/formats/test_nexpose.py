"""Nexpose Scan, XML 2.0: records against DefectDojo's oracle, subsets, hostile input.

Oracle, DefectDojo's unittests/tools/test_nexpose_parser.py on these same files:
- no_vuln.xml gives 1 finding, "Host Up", Info (test_nexpose_parser_has_no_finding): its
  definitions sit inside the node, where DD does not look.
- many_vulns.xml gives 38 findings (test_nexpose_parser_has_many_finding): "TCP Sequence
  Number Approximation Vulnerability", Medium, 3 endpoints, CVE-2004-0230; "TCP timestamp
  response", Low, 5 endpoints without port; 'Default SSH password: root password "root"' on
  22 ssh; "Missing HttpOnly Flag From Cookie" on 80 http; "TLS/SSL Server Supports DES and
  IDEA Cipher Suites" on 443 tcp; "Open port UDP/137" on 137 udp.
- report_auth.xml gives 5 findings (test_nexpose_parser_tests_outside_endpoint): "ICMP
  redirection enabled" High with 4 endpoints, "No password for Grub" Medium 4, "User home
  directory mode unsafe" Low 16.
DD merges by severity + title, so a finding's endpoints are its records; hosts are the
nodes' addresses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from app.formats import registry
from app.formats.base import Record
from app.formats.nexpose import FORMAT, ROOT
from tests.formats import hostile
from tests.formats.infra_check import indices_on, parse, subset
from tests.formats.scan_files import samples

SAMPLES = samples("nexpose", "*.xml")
FINDINGS = {"many_vulns.xml": 38, "no_vuln.xml": 1, "report_auth.xml": 5}


def findings_of(records: list[Record]) -> dict[tuple[str, str], list[Record]]:
    grouped: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        grouped.setdefault((record.severity, record.title), []).append(record)
    return grouped


def addresses(path: Path) -> set[str | None]:
    return {node.get("address") for node in etree.parse(str(path)).getroot().iterfind("nodes/node")}


def report(node_body: str, definitions: str) -> bytes:
    return (
        f'<{ROOT} version="2.0"><nodes><node address="10.0.0.1">{node_body}</node></nodes>'
        f"<VulnerabilityDefinitions>{definitions}</VulnerabilityDefinitions></{ROOT}>"
    ).encode()


def definition(vid: str, severity: str = "5", title: str = "V", body: str = "") -> str:
    return f'<vulnerability id="{vid}" title="{title}" severity="{severity}">{body}</vulnerability>'


def endpoint(port: str = "443", services: str = '<service name="HTTPS"><tests/></service>') -> str:
    return (
        f'<endpoints><endpoint protocol="tcp" port="{port}"><services>{services}</services>'
        "</endpoint></endpoints>"
    )


class TestSamples:
    def test_every_sample_has_expectations(self) -> None:
        assert {path.name for path in SAMPLES} == set(FINDINGS)

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
    def test_findings_and_hosts(self, path: Path) -> None:
        records = parse(FORMAT, path.read_bytes())
        assert len(findings_of(records)) == FINDINGS[path.name]
        assert {r.host.dd_host for r in records} == addresses(path)
        assert [r.index for r in records] == list(range(len(records)))
        assert registry.resolve("Nexpose Scan", path.read_bytes()[:65536]) is FORMAT
        with path.open("rb") as source:
            assert FORMAT.scope_title(source) is None

    def test_no_vuln_is_host_up(self) -> None:
        assert [(r.severity, r.title) for r in parse(FORMAT, SAMPLES[1].read_bytes())] == [
            ("Info", "Host Up")
        ]

    def test_many_vulns_as_dd_shows_it(self) -> None:
        findings = findings_of(parse(FORMAT, SAMPLES[0].read_bytes()))
        tcp_seq = findings["Medium", "TCP Sequence Number Approximation Vulnerability"]
        assert len(tcp_seq) == 3 and tcp_seq[0].vulnerability_ids == ("CVE-2004-0230",)
        timestamps = findings["Low", "TCP timestamp response"]
        assert len(timestamps) == 5 and {r.port for r in timestamps} == {None}

        def endpoint_of(title: str) -> tuple[int | None, str | None]:
            (record,) = next(v for (_, t), v in findings.items() if t == title)
            return record.port, record.extra.get("dd_protocol")

        assert endpoint_of('Default SSH password: root password "root"') == (22, "ssh")
        assert endpoint_of("Missing HttpOnly Flag From Cookie") == (80, "http")
        assert endpoint_of("TLS/SSL Server Supports DES and IDEA Cipher Suites") == (443, "tcp")
        assert endpoint_of("Open port UDP/137") == (137, "udp")
        mac = {r.host.mac for r in findings["Info", "Host Up"]} - {None}
        assert mac == {"E4CE8F490D7C"}

    def test_report_auth_as_dd_shows_it(self) -> None:
        findings = findings_of(parse(FORMAT, SAMPLES[2].read_bytes()))
        assert len(findings["High", "ICMP redirection enabled"]) == 4
        assert len(findings["Medium", "No password for Grub"]) == 4
        assert len(findings["Low", "User home directory mode unsafe"]) == 16
        assert findings["Info", "Host Up"][0].host.netbios == "host0"


class TestRules:
    @pytest.mark.parametrize(
        ("severity", "expected"),
        [
            ("10", "Critical"),
            ("9", "Critical"),
            ("7", "High"),
            ("4", "Medium"),
            ("1", "Low"),
            ("0", "Info"),
        ],
    )
    def test_severity(self, severity: str, expected: str) -> None:
        body = '<tests><test id="v" status="vulnerable-version"/></tests>'
        records = parse(FORMAT, report(body, definition("v", severity)))
        assert [(r.title, r.severity) for r in records] == [("V", expected), ("Host Up", "Info")]

    def test_only_vulnerable_tests_of_lower_cased_definition_ids_count(self) -> None:
        body = (
            '<tests><test id="v" status="not-vulnerable"/>'
            '<test id="V" status="vulnerable-exploited"/>'
            '<test id="w" status="vulnerable-potential"/></tests>'
        )
        records = parse(FORMAT, report(body, definition("v") + definition("W", title="Dub")))
        assert [r.title for r in records] == ["Dub", "Host Up"]

    def test_only_the_last_service_of_an_endpoint_counts(self) -> None:
        services = (
            '<service name="SSH"><tests><test id="v" status="vulnerable-version"/></tests>'
            "</service>"
            '<service name="DNS"><tests/></service>'
        )
        records = parse(FORMAT, report(endpoint("53", services), definition("v")))
        assert [(r.title, r.port, r.extra.get("dd_protocol")) for r in records] == [
            ("Host Up", None, None),
            ("Open port TCP/53", 53, "dns"),
        ]

    @pytest.mark.parametrize(
        ("body", "definitions", "problem"),
        [
            (endpoint(port="https"), "", "numeric port"),
            (endpoint(services=""), "", "no service"),
            (endpoint(services="<service/>"), "", "service has no name"),
            ("", definition("v", severity="high"), "severity"),
            (
                "",
                definition("v", body="<references><reference>x</reference></references>"),
                "source",
            ),
            ("", definition("v", body="<tags><tag/></tags>"), "empty tag"),
            ("", '<vulnerability title="x" severity="1"/>', "no id"),
        ],
    )
    def test_files_dd_cannot_read(self, body: str, definitions: str, problem: str) -> None:
        hostile.assert_refused(FORMAT, report(body, definitions), located=True, match=problem)


class TestSubset:
    def test_subset_keeps_only_used_definitions(self) -> None:
        data = SAMPLES[0].read_bytes()
        records = parse(FORMAT, data)
        keep = indices_on(records, {"192.168.1.34"})
        written, document = subset(FORMAT, data, keep)
        tree = etree.fromstring(document)
        used = {r.scanner_id for r in records if r.index in keep} - {None}
        kept = {v.get("id") for v in tree.iterfind("VulnerabilityDefinitions/vulnerability")}
        assert written == len(keep) and kept == used
        assert tree.find("scans/scan").get("name") == "Localhost"  # type: ignore[union-attr]

    def test_a_node_brings_its_host_up_and_an_endpoint_its_open_port(self) -> None:
        data = SAMPLES[0].read_bytes()
        records = parse(FORMAT, data)
        (des,) = [
            r for r in records if r.title == "TLS/SSL Server Supports DES and IDEA Cipher Suites"
        ]
        written, document = subset(FORMAT, data, {des.index})
        titles = [r.title for r in parse(FORMAT, document)]
        assert written == 3
        assert sorted(titles) == sorted([des.title, "Host Up", "Open port TCP/443"])

    def test_definitions_before_the_nodes(self) -> None:
        body = (
            '<tests><test id="v" status="vulnerable-version"/>'
            '<test id="w" status="vulnerable-version"/></tests>'
        )
        document = report(body, definition("v", title="Vee") + definition("w", title="Dub"))
        moved = document.replace(b"<nodes>", b"<X/><nodes>")
        first = moved.index(b"<VulnerabilityDefinitions>")
        definitions = moved[first : moved.index(b"</VulnerabilityDefinitions>") + 27]
        moved = moved.replace(definitions, b"").replace(b"<X/>", definitions)
        assert parse(FORMAT, moved) == parse(FORMAT, document)
        written, copy = subset(FORMAT, moved, {1, 2})
        assert written == 2 and b'id="v"' not in copy and b'id="w"' in copy
