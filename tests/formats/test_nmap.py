"""Nmap Scan, XML: records against DefectDojo's oracle, subsets, hostile input.

Oracle, DefectDojo's unittests/tools/test_nmap_parser.py on these same files:
- nmap_0port.xml gives no finding (test_parse_file_with_no_open_ports_has_no_findings).
- nmap_1port.xml gives 1 finding, Info, "Open port: 5432/tcp", dated 2014-03-29 14:46:56,
  one endpoint localhost.localdomain:5432 tcp (..._single_open_ports_has_single_finding).
- nmap_multiple_port.xml gives 13 findings; findings[0] is Info "Open port: 21/tcp", dated
  2016-05-16 17:56:59, with one endpoint mocha2005.mochahost.com:21 tcp
  (..._multiple_open_ports_has_multiple_finding). Its one host has 13 open tcp ports, so
  each finding has one endpoint and records = findings.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from app.formats import registry
from app.formats.base import Record
from app.formats.nmap import FORMAT
from bench import gen_nmap
from tests.formats import hostile
from tests.formats.infra_check import (
    assert_round_trip,
    essence,
    indices_on,
    parse,
    subset,
)
from tests.formats.scan_files import samples

SAMPLES = samples("nmap", "*.xml")
MULTIPLE_PORTS = (21, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 2525, 3306)
EXPECTED = {
    "nmap_0port.xml": ([], set(), None),
    "nmap_1port.xml": (["Open port: 5432/tcp"], {"localhost.localdomain"}, dt.date(2014, 3, 29)),
    "nmap_multiple_port.xml": (
        [f"Open port: {port}/tcp" for port in MULTIPLE_PORTS],
        {"mocha2005.mochahost.com"},
        dt.date(2016, 5, 16),
    ),
}


def by_name(name: str) -> bytes:
    return next(path for path in SAMPLES if path.name == name).read_bytes()


class TestSamples:
    def test_every_sample_has_expectations(self) -> None:
        assert {path.name for path in SAMPLES} == set(EXPECTED)

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
    def test_titles_hosts_dates(self, path: Path) -> None:
        titles, hosts, date = EXPECTED[path.name]
        records = parse(FORMAT, path.read_bytes())
        assert [r.title for r in records] == titles
        assert {r.host.dd_host for r in records} == hosts
        assert {r.severity for r in records} <= {"Info"}
        assert all(r.date == date and r.protocol == "tcp" for r in records)
        assert FORMAT.sniff(path.read_bytes()[:65536])
        assert registry.resolve("Nmap Scan", path.read_bytes()[:65536]) is FORMAT
        with path.open("rb") as source:
            assert FORMAT.scope_title(source) is None

    def test_identity(self) -> None:
        (record,) = parse(FORMAT, by_name("nmap_1port.xml"))
        assert (record.host.ip, record.host.fqdn, record.port) == (
            "127.0.0.1",
            "localhost.localdomain",
            5432,
        )
        first = parse(FORMAT, by_name("nmap_multiple_port.xml"))[0]
        assert (first.host.ip, first.host.dd_host, first.port) == (
            "198.38.82.159",
            "mocha2005.mochahost.com",
            21,
        )


def scan(*hosts: str, start: str = 'start="1700000000"') -> bytes:
    return f'<?xml version="1.0"?><nmaprun {start}>{"".join(hosts)}</nmaprun>'.encode()


def host(ip: str, ports: str, names: str = "", extra: str = "") -> str:
    address = f'<address addr="{ip}" addrtype="ipv4"/>' if ip else ""
    return f"<host>{address}<hostnames>{names}</hostnames><ports>{ports}</ports>{extra}</host>"


def port(number: int, protocol: str = "tcp", state: str = "open", script: str = "") -> str:
    return (
        f'<port protocol="{protocol}" portid="{number}"><state state="{state}"/>'
        f'<service name="x"/>{script}</port>'
    )


def vulners(*entries: tuple[str, str, str]) -> str:
    tables = "".join(
        f'<table><elem key="id">{ident}</elem><elem key="cvss">{score}</elem>'
        f'<elem key="type">{kind}</elem></table>'
        for ident, score, kind in entries
    )
    return f'<script id="vulners" output="..."><table key="cpe:/a:x:y:1">{tables}</table></script>'


class TestRules:
    def test_only_open_ports(self) -> None:
        document = scan(
            host("10.0.0.1", port(1) + port(2, state="closed") + port(3, state="filtered"))
        )
        assert [r.port for r in parse(FORMAT, document)] == [1]

    def test_host_is_ptr_name_else_ip(self) -> None:
        document = scan(
            host("10.0.0.1", port(22), '<hostname name="a.example" type="PTR"/>'),
            host("10.0.0.2", port(22), '<hostname name="b.example" type="user"/>'),
        )
        records = parse(FORMAT, document)
        assert [r.host.dd_host for r in records] == ["a.example", "10.0.0.2"]
        assert [r.host.fqdn for r in records] == ["a.example", "b.example"]

    def test_port_number_merges_across_protocols(self) -> None:
        document = scan(host("10.0.0.1", port(53)), host("10.0.0.2", port(53, "udp")))
        records = parse(FORMAT, document)
        assert [(r.title, r.protocol) for r in records] == [
            ("Open port: 53/tcp", "tcp"),
            ("Open port: 53/tcp", "udp"),
        ]

    def test_vulners_findings(self) -> None:
        script = vulners(("CVE-2018-15919", "5.0", "cve"), ("EDB-ID:1", "0.0", "exploitdb"))
        records = parse(FORMAT, scan(host("10.0.0.1", port(22, script=script))))
        assert [(r.title, r.severity, r.vulnerability_ids, r.port) for r in records] == [
            ("Open port: 22/tcp", "Info", (), 22),
            ("CVE-2018-15919", "Medium", ("CVE-2018-15919",), 22),
            ("EDB-ID:1", "Info", (), 22),
        ]

    def test_netbios_and_mac(self) -> None:
        nbstat = '<script id="nbstat" output="NetBIOS name: WS01, NetBIOS user: x"/>'
        extra = f"<hostscript>{nbstat}</hostscript>"
        document = scan(host("10.0.0.1", port(445), extra=extra)).replace(
            b"</hostnames>", b'</hostnames><address addr="AA:BB:CC:00:11:22" addrtype="mac"/>'
        )
        (record,) = parse(FORMAT, document)
        assert (record.host.netbios, record.host.mac) == ("WS01", "AA:BB:CC:00:11:22")

    def test_non_numeric_start_leaves_records_undated(self) -> None:
        (record,) = parse(FORMAT, scan(host("10.0.0.1", port(1)), start='start="soon"'))
        assert record.date is None


class TestSubset:
    def test_subset_keeps_metadata_and_only_kept_ports(self) -> None:
        data = by_name("nmap_multiple_port.xml")
        written, document = subset(FORMAT, data, {0, 5})
        tree = etree.fromstring(document)
        assert written == 2
        assert tree.get("start") == "1463421419"
        assert tree.find("runstats/finished") is not None
        assert tree.find("verbose") is not None
        assert [p.get("portid") for p in tree.iterfind("host/ports/port")] == ["21", "143"]
        assert tree.find("host/hostnames/hostname[@type='PTR']") is not None

    def test_vulners_record_brings_its_port(self) -> None:
        script = vulners(("CVE-1", "9.5", "cve"), ("CVE-2", "7.0", "cve"))
        data = scan(host("10.0.0.1", port(22, script=script) + port(80)))
        written, document = subset(FORMAT, data, {2})
        assert written == 2
        assert [r.title for r in parse(FORMAT, document)] == ["Open port: 22/tcp", "CVE-2"]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        hosts=st.integers(1, 6),
        findings=st.integers(1, 8),
        seed=st.integers(0, 10_000),
        data=st.data(),
    )
    def test_generated_files_round_trip(
        self, hosts: int, findings: int, seed: int, data: st.DataObject
    ) -> None:
        out = io.BytesIO()
        gen_nmap.nmap_xml(out, hosts=hosts, findings_per_host=findings, seed=seed)
        document = out.getvalue()
        records = parse(FORMAT, document)
        assert sum(r.title.startswith("Open port: ") for r in records) == hosts * findings
        names = sorted({r.host.dd_host for r in records}, key=str)
        chosen = data.draw(st.sets(st.sampled_from(names)), label="hosts")
        assert_round_trip(FORMAT, document, indices_on(records, chosen))
        keep = data.draw(st.sets(st.integers(0, len(records) - 1)), label="records")
        written, part = subset(FORMAT, document, keep)
        expected = [essence(r) for r in with_their_ports(records, keep)]
        assert [essence(r) for r in parse(FORMAT, part)] == expected
        assert written == len(expected)


def with_their_ports(records: list[Record], keep: set[int]) -> list[Record]:
    """The kept records plus the open-port record of every port with a kept record."""
    port_of: dict[int, int] = {}
    for record in records:
        is_port = record.title.startswith("Open port: ")
        port_of[record.index] = record.index if is_port else port_of[record.index - 1]
    ports = {port_of[index] for index in keep}
    return [r for r in records if r.index in keep or r.index in ports]


class TestHostile:
    @pytest.mark.parametrize(
        ("document", "problem"),
        [
            (scan(host("", port(22))), "no IPv4 address"),
            (scan(host("10.0.0.1", port(22)).replace("<hostnames></hostnames>", "")), "hostnames"),
            (scan(host("10.0.0.1", port(22), '<hostname name="a"/>')), "no type"),
            (scan(host("10.0.0.1", '<port protocol="tcp" portid="1"/>')), "no <state>"),
            (scan(host("10.0.0.1", '<port portid="1"><state state="open"/></port>')), "protocol"),
            (scan(host("10.0.0.1", port(22)), start=""), "no start"),
            (scan(host("10.0.0.1", port(22, script=vulners(("X", "high", "x"))))), "cvss"),
        ],
    )
    def test_files_dd_cannot_import(self, document: bytes, problem: str) -> None:
        hostile.assert_refused(FORMAT, document, located=True, match=problem)
