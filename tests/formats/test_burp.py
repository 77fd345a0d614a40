"""Burp XML: records, subsets and hostile input.

Oracle: DefectDojo's unittests/tools/test_burp_parser.py — seven_findings.xml gives 7
findings (16 issues of 7 types), the first "Frameable response (potential Clickjacking)",
type 5245344, severity Info (test_burp_with_multiple_vulns_has_multiple_findings);
one_finding_with_cwe.xml gives "Cacheable HTTPS response", type 7340288, Info
(test_burp_with_one_vuln_with_cwe); extension-generated issues (type 134217728) are not
merged across names (test_burp_extension_generated_issues_are_not_merged). All issues of
the samples are on one host, so each finding is one record.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from app.formats.base import ScanFormatError
from app.formats.burp import FORMAT
from tests.formats.infra_check import assert_round_trip, parse

SAMPLES = Path(__file__).parent / "samples" / "burp"
SEVEN = [
    ("Frameable response (potential Clickjacking)", "Info"),
    ("HTML does not specify charset", "Info"),
    ("Cross-site scripting (reflected)", "High"),
    ("SQL injection", "High"),
    ("Cleartext submission of password", "High"),
    ("Password field with autocomplete enabled", "Low"),
    ("Cookie without HttpOnly flag set", "Low"),
]


def _issue(
    serial: int, kind: str, name: str, host: str, ip: str = "", severity: str = "High"
) -> bytes:
    return (
        f"<issue><serialNumber>{serial}</serialNumber><type>{kind}</type><name>{name}</name>"
        f'<host ip="{ip}">{host}</host><path>/p</path><location>/p</location>'
        f"<severity>{severity}</severity><confidence>Firm</confidence></issue>"
    ).encode()


def _export(*issues: bytes) -> bytes:
    return (
        b'<?xml version="1.0"?><issues burpVersion="2024.1" exportTime="now">'
        + b"".join(issues)
        + b"</issues>"
    )


TWO_HOSTS = _export(
    _issue(1, "1049088", "SQL injection", "https://shop.example.com", "203.0.113.5"),
    _issue(2, "1049088", "SQL injection", "http://10.0.0.7:8080", "10.0.0.7", "Medium"),
    _issue(3, "134217728", "Vulnerable Software detected", "https://shop.example.com"),
    _issue(4, "134217728", "Interesting Header(s)", "https://shop.example.com", "", "Low"),
    _issue(5, "1049088", "SQL injection", "https://shop.example.com/other"),
)


class TestRecords:
    def test_seven_findings(self) -> None:
        records = parse(FORMAT, (SAMPLES / "seven_findings.xml").read_bytes())
        assert [(r.title, r.severity) for r in records] == SEVEN
        assert {(r.host.dd_host, r.host.ip, r.port, r.protocol) for r in records} == {
            ("bwa", "192.168.187.137", 80, "http")
        }
        assert records[0].scanner_id == "5245344"

    def test_one_finding_with_cwe(self) -> None:
        (record,) = parse(FORMAT, (SAMPLES / "one_finding_with_cwe.xml").read_bytes())
        assert (record.title, record.severity, record.scanner_id) == (
            "Cacheable HTTPS response",
            "Info",
            "7340288",
        )
        assert (record.host.fqdn, record.host.ip, record.port) == (
            "example.com",
            "54.12.18.21",
            443,
        )

    def test_type_merges_across_hosts_but_extension_issues_split_by_name(self) -> None:
        records = parse(FORMAT, TWO_HOSTS)
        assert [(r.title, r.severity, r.host.dd_host, r.port) for r in records] == [
            ("SQL injection", "High", "shop.example.com", 443),
            ("SQL injection", "High", "10.0.0.7", 8080),
            ("Vulnerable Software detected", "High", "shop.example.com", 443),
            ("Interesting Header(s)", "Low", "shop.example.com", 443),
        ]

    def test_sniff(self) -> None:
        assert FORMAT.sniff((SAMPLES / "seven_findings.xml").read_bytes())
        assert not FORMAT.sniff(b'<?xml version="1.0"?><OWASPZAPReport version="2"/>')
        assert FORMAT.scope_title(io.BytesIO(TWO_HOSTS)) is None


class TestSubset:
    @pytest.mark.parametrize("name", ["seven_findings.xml", "one_finding_with_cwe.xml"])
    def test_each_single_record(self, name: str) -> None:
        data = (SAMPLES / name).read_bytes()
        for index in range(len(parse(FORMAT, data))):
            assert_round_trip(FORMAT, data, {index})

    def test_record_keeps_all_its_issues_and_the_root(self) -> None:
        document = assert_round_trip(FORMAT, TWO_HOSTS, {0})
        assert document.count(b"<issue>") == 2
        assert b'burpVersion="2024.1"' in document


class TestHostile:
    @pytest.mark.parametrize(
        ("change", "fragment"),
        [
            ((b"<confidence>Firm</confidence>", b""), "no <confidence>"),
            ((b"<severity>Low</severity>", b"<severity>Severe</severity>"), "refuses severity"),
            ((b"<severity>Low</severity>", b"<severity/>"), "empty <severity>"),
            ((b">https://shop.example.com/other<", b">https://<"), "no host"),
            ((b"</issues>", b""), "not well-formed"),
        ],
    )
    def test_broken_issue_points_at_its_line(
        self, change: tuple[bytes, bytes], fragment: str
    ) -> None:
        with pytest.raises(ScanFormatError) as caught:
            parse(FORMAT, TWO_HOSTS.replace(*change, 1))
        assert fragment in str(caught.value)
        assert caught.value.line is not None

    def test_ten_megabyte_text_is_read(self) -> None:
        data = TWO_HOSTS.replace(b"<path>/p</path>", b"<path>" + b"x" * 10_000_000 + b"</path>", 1)
        assert len(parse(FORMAT, data)) == 4
