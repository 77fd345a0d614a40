"""The double's Generic, Nuclei, ZAP and Burp parsers against DefectDojo's own expectations.

Expected values are those of DefectDojo's unit tests on the same sample files
(unittests/tools/test_generic_parser.py, test_nuclei_parser.py, test_zap_parser.py,
test_burp_parser.py): /work/shared/scans/generic and the copies of DefectDojo's
unittests/scans files kept in tests/formats/samples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakedojo.importer import clean_endpoint
from tests.fakedojo.parsed import ParsedFinding, ParserError
from tests.fakedojo.parsers import hash_code, parse_scan
from tests.fakedojo_tests.conftest import scan

SAMPLES = Path(__file__).resolve().parents[1] / "formats" / "samples"


def sample(scan_type: str, relative: str) -> list[ParsedFinding]:
    return parse_scan(scan_type, relative.rsplit("/", 1)[-1], (SAMPLES / relative).read_bytes())


class TestGeneric:
    def test_csv_report1_is_one_finding_on_five_urls(self) -> None:
        [finding] = parse_scan(
            "Generic Findings Import", "r.csv", scan("generic/generic_report1.csv")
        )
        assert len(finding.endpoints) == 5
        first, second = finding.endpoints[:2]
        assert (first.host, first.path) == ("vulnerable.endpoint.com", "resource1/asdf")
        assert (second.protocol, second.path) == ("https", "resource2/qwerty")

    def test_json_report1_has_two_findings_without_endpoints(self) -> None:
        findings = parse_scan(
            "Generic Findings Import", "r.json", scan("generic/generic_report1.json")
        )
        assert [(f.title, f.endpoints) for f in findings] == [
            ("test title", []),
            ("test title2", []),
        ]

    def test_json_report3_endpoints_as_objects_and_strings(self) -> None:
        findings = sample("Generic Findings Import", "generic/generic_report3.json")
        assert len(findings) == 3
        assert [e.host for e in findings[0].endpoints] == ["exemple.com"]
        stored = [clean_endpoint(e, "3.2") for e in findings[1].endpoints]
        assert [(e.host, e.port, e.protocol) for e in stored] == [
            ("urlfiltering.paloaltonetworks.com", 80, "http"),
            ("urlfiltering.paloaltonetworks.com", 2345, "https"),
        ]
        assert findings[2].endpoints == []

    def test_unknown_csv_severity_is_info(self) -> None:
        csv = b"Date,Title,Url,Severity,Description\n2021-01-01,T,,Unknown,D\n"
        [finding] = parse_scan("Generic Findings Import", "f.csv", csv)
        assert finding.severity == "Info"

    def test_a_name_other_than_csv_is_read_as_json(self) -> None:
        with pytest.raises(ParserError):
            parse_scan("Generic Findings Import", "r.txt", scan("generic/generic_report1.csv"))
        findings = parse_scan(
            "Generic Findings Import", "r.TXT", scan("generic/generic_report1.json")
        )
        assert len(findings) == 2

    def test_json_item_with_an_unknown_field_fails(self) -> None:
        item = b'{"findings": [{"title": "t", "severity": "Low", "description": "d", "x": 1}]}'
        with pytest.raises(ParserError, match="Not allowed"):
            parse_scan("Generic Findings Import", "f.json", item)

    def test_json_severity_goes_through_the_importer_cleaning(self) -> None:
        items = b'{"findings": [{"title": "t", "severity": "informational", "description": "d"}]}'
        [finding] = parse_scan("Generic Findings Import", "f.json", items)
        assert finding.severity == "Info"
        bad = items.replace(b"informational", b"Severe")
        with pytest.raises(ParserError):
            parse_scan("Generic Findings Import", "f.json", bad)


class TestNuclei:
    def test_many_findings(self) -> None:
        findings = sample("Nuclei Scan", "nuclei/many_findings.json")
        assert len(findings) == 16
        assert (findings[0].title, findings[0].severity) == ("OpenSSH 5.3 Detection", "Low")
        assert [(e.host, e.port) for e in findings[0].endpoints] == [("nuclei-example.com", 22)]
        assert [(e.host, e.port, e.path) for e in findings[4].endpoints] == [
            ("127.0.0.1", 8080, "WebGoat"),
            ("127.0.0.1", 9090, "WebWolf"),
        ]
        assert findings[15].endpoints[0].port == 3306

    def test_new_format_carries_cve_and_cwe(self) -> None:
        findings = sample("Nuclei Scan", "nuclei/many_findings_new.json")
        assert len(findings) == 2
        assert (findings[0].severity, findings[0].cwe) == ("Medium", 362)
        assert findings[0].vulnerability_ids == ["CVE-2018-15473"]

    @pytest.mark.parametrize(
        ("name", "count"),
        [("multiple_v3.json", 5), ("issue_9201.json", 1), ("no_findings.json", 0)],
    )
    def test_sample_counts(self, name: str, count: int) -> None:
        assert len(sample("Nuclei Scan", f"nuclei/{name}")) == count

    def test_same_template_with_two_matchers_hashes_apart(self) -> None:
        findings = sample("Nuclei Scan", "nuclei/multiple_matches.json")
        assert len(findings) == 2
        assert findings[1].endpoints[0].host == "turquoise-estrellita-69.tiiny.site"
        assert len({hash_code("Nuclei Scan", f) for f in findings}) == 2


class TestZap:
    @pytest.mark.parametrize(
        ("name", "count"),
        [("0_zap_sample.xml", 4), ("some_2.9.0.xml", 7), ("empty_2.9.0.xml", 0)],
    )
    def test_sample_counts(self, name: str, count: int) -> None:
        assert len(sample("ZAP Scan", f"zap/{name}")) == count

    def test_xml_plus_format(self) -> None:
        [finding] = sample("ZAP Scan", "zap/zap-xml-plus-format.xml")
        assert (finding.title, finding.severity, finding.vuln_id_from_tool) == (
            "Insecure HTTP Method - PUT",
            "Medium",
            "90028",
        )
        assert [(e.host, e.port, e.protocol) for e in finding.endpoints] == [
            ("localhost", 8080, "http")
        ]

    def test_alert_without_cwe_hashes_the_legacy_way(self) -> None:
        """ZAP does not allow a null CWE (HASHCODE_ALLOWS_NULL_CWE): without one a finding
        falls back to the legacy hash (title, description...), so two alerts of one title
        hash apart by description; with a CWE they hash alike (title, cwe, severity)."""
        xml = (
            b'<OWASPZAPReport><site name="https://a"><alerts>'
            b"<alertitem><alert>X</alert><riskcode>1</riskcode><desc>one</desc>"
            b"<solution/><reference/></alertitem>"
            b"<alertitem><alert>X</alert><riskcode>1</riskcode><desc>two</desc>"
            b"<solution/><reference/></alertitem>"
            b"</alerts></site></OWASPZAPReport>"
        )
        findings = parse_scan("ZAP Scan", "z.xml", xml)
        assert len({hash_code("ZAP Scan", f) for f in findings}) == 2
        with_cwe = xml.replace(
            b"<riskcode>1</riskcode>", b"<riskcode>1</riskcode><cweid>16</cweid>"
        )
        findings = parse_scan("ZAP Scan", "z.xml", with_cwe)
        assert len({hash_code("ZAP Scan", f) for f in findings}) == 1

    def test_unknown_riskcode_fails(self) -> None:
        xml = (
            b"<OWASPZAPReport><site><alerts><alertitem><alert>X</alert><riskcode>7</riskcode>"
            b"<desc/><solution/><reference/></alertitem></alerts></site></OWASPZAPReport>"
        )
        with pytest.raises(ParserError):
            parse_scan("ZAP Scan", "z.xml", xml)


def burp_issue(serial: int, issue_type: str, name: str, host: str) -> str:
    return (
        f"<issue><serialNumber>{serial}</serialNumber><type>{issue_type}</type>"
        f"<name>{name}</name><host>{host}</host><path>/</path><location>/</location>"
        "<severity>Information</severity><confidence>Firm</confidence></issue>"
    )


class TestBurp:
    def test_seven_findings(self) -> None:
        findings = sample("Burp Scan", "burp/seven_findings.xml")
        assert len(findings) == 7
        first = findings[0]
        assert (first.vuln_id_from_tool, first.severity, first.title) == (
            "5245344",
            "Info",
            "Frameable response (potential Clickjacking)",
        )

    def test_one_finding_with_cwe(self) -> None:
        [finding] = sample("Burp Scan", "burp/one_finding_with_cwe.xml")
        assert (finding.unique_id_from_tool, finding.vuln_id_from_tool) == (
            "456437653765735",
            "7340288",
        )
        assert (finding.title, finding.cwe, finding.severity) == (
            "Cacheable HTTPS response",
            524,
            "Info",
        )

    def test_issues_of_a_type_merge_across_hosts_but_extension_issues_do_not(self) -> None:
        issues = [
            burp_issue(1, "5245344", "Frameable", "https://a.example.com"),
            burp_issue(2, "5245344", "Frameable", "https://b.example.com"),
            burp_issue(3, "134217728", "Ext one", "https://a.example.com"),
            burp_issue(4, "134217728", "Ext two", "https://a.example.com"),
        ]
        xml = f"<issues>{''.join(issues)}</issues>".encode()
        findings = parse_scan("Burp Scan", "b.xml", xml)
        assert [(f.title, [e.host for e in f.endpoints]) for f in findings] == [
            ("Frameable", ["a.example.com", "b.example.com"]),
            ("Ext one", ["a.example.com"]),
            ("Ext two", ["a.example.com"]),
        ]

    def test_issue_without_path_fails(self) -> None:
        xml = burp_issue(1, "1", "N", "https://a").replace("<path>/</path>", "")
        with pytest.raises(ParserError):
            parse_scan("Burp Scan", "b.xml", f"<issues>{xml}</issues>".encode())
