"""Tenable Scan, CSV export: records against DefectDojo's oracle, subsets, hostile input.

Oracle, DefectDojo's unittests/tools/test_tenable_parser.py on these same files:
- nessus_many_vuln.csv gives 4 findings, findings[0] on host 10.1.1.1 with CVE-2004-2761,
  findings[3] with CVE-2013-2566 and CVE-2015-2808 (test_parse_some_findings_csv_nessus_legacy).
  Its other ~500 rows are empty and skipped (csv_format.py skips rows without a title).
- nessus-template.csv gives 5 findings; findings[0] "SSL Medium Strength Cipher Suites
  Supported (SWEET32)" with ["CVE-2016-2183"], findings[1] "HTTP TRACE / TRACK Methods
  Allowed" with ["CVE-2003-1567"] (test_parse_findings_all_nessus). Its severities High and
  Medium come from the Risk column, as csv_format.py reads it; one version of DefectDojo's
  test asserts "High"/"Medium" for these two rows, a later one "Info" for both, which the
  parser source we follow does not produce.
Each row is its own finding here (they differ in title or host), so records = findings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.formats import registry
from app.formats.tenable_csv import FORMAT
from tests.formats import hostile
from tests.formats.infra_check import (
    essence,
    parse,
    subset,
)
from tests.formats.scan_files import samples

SAMPLES = samples("tenable", "*.csv")
EXPECTED = {
    "nessus_many_vuln.csv": (
        ["10.1.1.1", "10.1.1.1", "10.2.1.1", "10.2.1.1"],
        [
            "SSL Certificate Signed Using Weak Hashing Algorithm",
            "SSL Certificate Cannot Be Trusted",
            "SSL Self-Signed Certificate",
            "SSL RC4 Cipher Suites Supported (Bar Mitzvah)",
        ],
    ),
    "nessus-template.csv": (
        ["192.168.0.100", "192.168.0.100", "192.168.0.100", "192.168.0.101", "192.168.0.101"],
        [
            "SSL Medium Strength Cipher Suites Supported (SWEET32)",
            "HTTP TRACE / TRACK Methods Allowed",
            "SSH Terrapin Prefix Truncation Weakness (CVE-2023-48795)",
            "PHP 8.2.x < 8.2.20 Multiple Vulnerabilities",
            "Kibana < 7.17.22 / 8.0.x < 8.14 (ESA-2024-11)",
        ],
    ),
}
HEADER = "Plugin,Plugin Name,Severity,IP Address,DNS Name,Protocol,Port,CVE"


def by_name(name: str) -> bytes:
    return next(path for path in SAMPLES if path.name == name).read_bytes()


class TestSamples:
    def test_every_sample_has_expectations(self) -> None:
        assert {path.name for path in SAMPLES} == set(EXPECTED)

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
    def test_hosts_and_titles(self, path: Path) -> None:
        hosts, titles = EXPECTED[path.name]
        records = parse(FORMAT, path.read_bytes())
        assert [r.host.dd_host for r in records] == hosts
        assert [r.title for r in records] == titles
        assert FORMAT.sniff(path.read_bytes()[:65536])
        assert registry.resolve("Tenable Scan", path.read_bytes()[:65536]) is FORMAT
        with path.open("rb") as source:
            assert FORMAT.scope_title(source) is None

    def test_many_vuln_details(self) -> None:
        records = parse(FORMAT, by_name("nessus_many_vuln.csv"))
        assert records[0].vulnerability_ids == ("CVE-2004-2761",)
        assert records[3].vulnerability_ids == ("CVE-2013-2566", "CVE-2015-2808")
        assert (records[0].port, records[0].protocol, records[0].severity) == (443, "tcp", "Medium")
        assert (records[0].scanner_id, str(records[0].date)) == ("35291", "2021-01-05")

    def test_template_details(self) -> None:
        records = parse(FORMAT, by_name("nessus-template.csv"))
        assert [r.vulnerability_ids for r in records[:2]] == [
            ("CVE-2016-2183",),
            ("CVE-2003-1567",),
        ]
        assert [r.severity for r in records] == ["High", "Medium", "Medium", "Critical", "Medium"]


def table(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


class TestRules:
    @pytest.mark.parametrize(
        ("header", "row", "severity"),
        [
            ("Name,Risk,Severity,Host", "T,High,Low,h", "High"),
            ("Name,Risk,Severity,Host", "T,,Low,h", "Low"),
            ("Name,Risk,Host", "T,,h", "Info"),
            ("Name,Severity,Host", "T,3,h", "High"),
            ("Name,Severity,Host", "T,9,h", "Info"),
            ("Name,Severity,Host", "T,CRITICAL,h", "Critical"),
            ("Name,Severity,Host", "T,None,h", "Info"),
        ],
    )
    def test_severity(self, header: str, row: str, severity: str) -> None:
        (record,) = parse(FORMAT, table(row, header=header))
        assert record.severity == severity

    @pytest.mark.parametrize(
        ("header", "row", "host"),
        [
            ("Name,Host,DNS Name,IP Address", "T,h1,d1,10.0.0.1", "h1"),
            ("Name,Host,DNS Name,IP Address", "T,,d1,10.0.0.1", "d1"),
            ("Name,Host,DNS Name,IP Address", "T,,,10.0.0.1", "10.0.0.1"),
            ("Name,Port", "T,80", "localhost"),
            ("Name,Host", "T,https://web.example.com:8443/x", "web.example.com"),
        ],
    )
    def test_endpoint_host(self, header: str, row: str, host: str) -> None:
        (record,) = parse(FORMAT, table(row, header=header))
        assert record.host.dd_host == host

    def test_title_column_that_exists_wins_even_when_empty(self) -> None:
        records = parse(FORMAT, table("A,B,h", "", ",C,h", header="Name,Plugin Name,Host"))
        assert [r.title for r in records] == ["A"]

    def test_port_zero_and_protocol_case(self) -> None:
        records = parse(FORMAT, table("1,T,Info,10.0.0.1,,TCP,0,", "1,U,Info,10.0.0.1,,UDP,161,"))
        assert [(r.port, r.protocol) for r in records] == [(None, "tcp"), (161, "udp")]

    def test_semicolon_delimiter(self) -> None:
        (record,) = parse(FORMAT, b"Name;Host;Port\nT;h;22\n")
        assert (record.title, record.host.dd_host, record.port) == ("T", "h", 22)

    def test_identity_columns(self) -> None:
        header = "Name,IP Address,DNS Name,NetBIOS Name,MAC Address"
        (record,) = parse(
            FORMAT, table("T,10.0.0.5,a.example.com,A,00:11:22:33:44:55", header=header)
        )
        assert (record.host.ip, record.host.fqdn, record.host.netbios, record.host.mac) == (
            "10.0.0.5",
            "a.example.com",
            "A",
            "00:11:22:33:44:55",
        )
        assert record.host.dd_host == "a.example.com"


class TestSubset:
    def test_utf16_source_gives_utf8_subset(self) -> None:
        data = hostile.utf16_csv(by_name("nessus-template.csv"))
        written, document = subset(FORMAT, data, {0, 3})
        assert written == 2
        document.decode("utf-8")
        assert not document.startswith(b"\xef\xbb\xbf")
        assert [essence(r) for r in parse(FORMAT, document)] == [
            essence(r) for r in parse(FORMAT, data) if r.index in {0, 3}
        ]

    def test_semicolon_file_keeps_its_delimiter(self) -> None:
        _, document = subset(FORMAT, b"Name;Host\nA;h1\nB;h2\n", {1})
        assert document == b"Name;Host\r\nB;h2\r\n"


class TestHostile:
    def test_short_row_with_title_is_refused(self) -> None:
        error = hostile.assert_refused(FORMAT, table("1,T,High,10.0.0.1"), located=True)
        assert error.record == 1
