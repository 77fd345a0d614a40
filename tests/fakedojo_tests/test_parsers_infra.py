"""The double's OpenVAS, Qualys and Nexpose parsers against DefectDojo's own expectations.

Expected values are those of DefectDojo's unit tests on the same sample files
(unittests/tools/test_openvas_parser.py `TestOpenVASParser`, test_qualys_parser.py,
test_nexpose_parser.py), which /work/shared/scans holds copies of.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.fakedojo.parsed import ParsedFinding, ParserError
from tests.fakedojo.parsers import parse_scan
from tests.fakedojo.scanread import endpoint_text
from tests.fakedojo_tests.conftest import scan


def parse(scan_type: str, relative: str, name: str | None = None) -> list[ParsedFinding]:
    return parse_scan(scan_type, name or relative.rsplit("/", 1)[-1], scan(relative))


class TestOpenVAS:
    def test_csv_many_vuln(self) -> None:
        findings = parse("OpenVAS Parser", "openvas/many_vuln.csv")
        assert len(findings) == 4
        last = findings[3]
        assert (last.title, last.severity) == (
            "HTTP Brute Force Logins With Default Credentials Reporting",
            "High",
        )
        [endpoint] = last.endpoints
        assert (endpoint.host.lower(), endpoint.protocol, endpoint.port) == ("logsrv", "tcp", 9200)
        assert findings[2].vulnerability_ids[0] == "CVE-2011-3389"

    def test_xml_one_vuln_title_carries_host_and_port(self) -> None:
        [finding] = parse("OpenVAS Parser", "openvas/one_vuln.xml")
        assert finding.title == (
            "Mozilla Firefox Security Update (mfsa_2023-32_2023-36) - Windows"
            "_10.0.101.2_general/tcp"
        )
        assert finding.severity == "High"
        assert [(e.host, e.port, e.protocol) for e in finding.endpoints] == [
            ("10.0.101.2", None, "tcp")
        ]

    def test_xml_many_vuln_one_endpoint_each(self) -> None:
        findings = parse("OpenVAS Parser", "openvas/many_vuln.xml")
        assert len(findings) == 44
        assert sum(len(f.endpoints) for f in findings) == 44
        assert endpoint_text(findings[0].endpoints[0]) == "tcp://192.168.1.1001:512"

    def test_xml_no_vuln(self) -> None:
        assert parse("OpenVAS Parser", "openvas/no_vuln.xml") == []

    @pytest.mark.parametrize("name", ["one_vuln.XML", "one_vuln.nessus", "one_vuln"])
    def test_extension_is_compared_case_sensitively(self, name: str) -> None:
        with pytest.raises(ParserError):
            parse("OpenVAS Parser", "openvas/one_vuln.xml", name)

    def test_hostname_wins_over_ip_and_rows_are_not_merged_across_hosts(self) -> None:
        csv = (
            b"IP,Hostname,Port,Port Protocol,Severity,NVT Name,Summary\n"
            b"10.0.0.1,web1.example.com,443,tcp,Medium,TLS weak,s\n"
            b"10.0.0.2,,443,tcp,Medium,TLS weak,s\n"
            b"10.0.0.2,,443,tcp,Medium,TLS weak,s\n"
        )
        findings = parse_scan("OpenVAS Parser", "x.csv", csv)
        assert [[e.host for e in f.endpoints] for f in findings] == [
            ["web1.example.com"],
            ["10.0.0.2"],
        ]

    def test_xml_result_without_threat_reuses_the_previous_severity(self) -> None:
        xml = (
            b"<report><report><results>"
            b"<result><name>A</name><host>h1</host><port>22/tcp</port><threat>High</threat></result>"
            b"<result><name>B</name><host>h2</host><port>22/tcp</port></result>"
            b"</results></report></report>"
        )
        findings = parse_scan("OpenVAS Parser", "x.xml", xml)
        assert [(f.title, f.severity) for f in findings] == [
            ("A_h1_22/tcp", "High"),
            ("B_h2_22/tcp", "High"),
        ]


class TestQualys:
    def test_xml_sample(self) -> None:
        findings = parse("Qualys Scan", "qualys/Qualys_Sample_Report.xml")
        assert len(findings) == 301
        first = findings[0]
        assert first.title == "QID-6 | DNS Host Name"
        assert first.endpoints[0].host == "demo13.s02.sjc01.qualys.com"
        # DD's parser says "Informational" (177 of them); its importer stores Info.
        assert Counter(f.severity for f in findings) == {
            "Info": 177,
            "Low": 65,
            "Medium": 46,
            "High": 6,
            "Critical": 7,
        }
        assert all(e.port is None for f in findings for e in f.endpoints)

    def test_csv_sample_merges_rows_per_qid(self) -> None:
        findings = parse("Qualys Scan", "qualys/Qualys_Sample_Report.csv")
        assert len(findings) == 3
        first = findings[0]
        assert first.title == "QID-105971 | EOL/Obsolete Software: Microsoft ASP.NET 1.0 Detected"
        assert first.severity == "Critical"
        assert first.endpoints[0].host == "ip-10-98-57-180.eu-west-1.compute.internal"
        assert sum(len(f.endpoints) for f in findings) == 6

    def test_empty_report(self) -> None:
        assert parse("Qualys Scan", "qualys/empty.xml") == []

    def test_upper_case_csv_extension_still_reads_csv(self) -> None:
        findings = parse("Qualys Scan", "qualys/Qualys_Sample_Report.csv", "REPORT.CSV")
        assert len(findings) == 3

    def test_detection_of_a_qid_missing_from_the_glossary_fails(self) -> None:
        xml = (
            b"<ASSET_DATA_REPORT><HOST_LIST><HOST><IP>10.0.0.1</IP><VULN_INFO_LIST>"
            b'<VULN_INFO><QID id="qid_1">1</QID></VULN_INFO>'
            b"</VULN_INFO_LIST></HOST></HOST_LIST></ASSET_DATA_REPORT>"
        )
        with pytest.raises(ParserError):
            parse_scan("Qualys Scan", "q.xml", xml)


class TestNexpose:
    def test_no_vuln_still_has_host_up(self) -> None:
        [finding] = parse("Nexpose Scan", "nexpose/no_vuln.xml")
        assert (finding.title, finding.severity) == ("Host Up", "Info")

    def test_many_vulns(self) -> None:
        findings = parse("Nexpose Scan", "nexpose/many_vulns.xml")
        assert len(findings) == 38

        def summary(i: int) -> tuple[str, int, int | None, str | None]:
            endpoint = findings[i].endpoints[0]
            return findings[i].title, len(findings[i].endpoints), endpoint.port, endpoint.protocol

        assert summary(0) == ("TCP Sequence Number Approximation Vulnerability", 3, None, None)
        assert findings[0].severity == "Medium"
        assert findings[0].vulnerability_ids == ["CVE-2004-0230"]
        assert summary(2) == ("TCP timestamp response", 5, None, None)
        assert summary(5) == ('Default SSH password: root password "root"', 1, 22, "ssh")
        assert summary(9) == ("Missing HttpOnly Flag From Cookie", 1, 80, "http")
        assert summary(33) == ("TLS/SSL Server Supports DES and IDEA Cipher Suites", 1, 443, "tcp")
        assert summary(37) == ("Open port UDP/137", 1, 137, "udp")

    def test_tests_outside_endpoints_merge_across_hosts(self) -> None:
        findings = parse("Nexpose Scan", "nexpose/report_auth.xml")
        assert [(f.severity, f.title, len(f.endpoints)) for f in findings[:3]] == [
            ("High", "ICMP redirection enabled", 4),
            ("Medium", "No password for Grub", 4),
            ("Low", "User home directory mode unsafe", 16),
        ]
        assert len(findings) == 5

    def test_endpoint_without_a_service_fails(self) -> None:
        xml = (
            b'<NexposeReport><nodes><node address="10.0.0.1"><endpoints>'
            b'<endpoint protocol="tcp" port="22"/></endpoints></node></nodes></NexposeReport>'
        )
        with pytest.raises(ParserError):
            parse_scan("Nexpose Scan", "n.xml", xml)
