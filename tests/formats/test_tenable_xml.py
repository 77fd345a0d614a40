"""Tenable Scan, .nessus v2 XML: records against DefectDojo's oracle, subsets, hostile input.

Oracle, DefectDojo's unittests/tools/test_tenable_parser.py on these same files:
- nessus_many_vuln.xml gives 6 findings; findings[5] has endpoints https then tcp
  (test_parse_some_findings_nessus_legacy).
- nessus_v_unknown.xml gives 32 findings; findings[0] is "Nessus Scan Information",
  findings[25] "Nessus SYN scanner" whose endpoints[26] is http and [37] tcp, findings[9]
  has 7 vulnerability ids, all CVE-2005-1794 (test_parse_some_findings_samples_nessus_legacy).
- The recorded DefectDojo 3.2 import of nessus_v_unknown.xml
  (shared/defectdojo/responses/import_scan_nessus.json) counts 27 Info, 1 Low, 4 Medium.
Record counts: one per ReportItem, as xml_format.py adds one endpoint per item (design
section 2a: "7 hosts and 296 report items"). Hosts: host-fqdn, else ReportHost@name.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from app.formats import registry
from app.formats.base import Record
from app.formats.tenable_xml import FORMAT
from tests.formats import hostile
from tests.formats.infra_check import (
    indices_on,
    parse,
    subset,
)
from tests.formats.scan_files import samples


@dataclass(frozen=True)
class Expected:
    records: int
    findings: int
    hosts: frozenset[str]
    severities: dict[str, int] = field(default_factory=dict)


EXPECTED = {
    "nessus_many_vuln.xml": Expected(7, 6, frozenset({"preprod.boardvantage.net"})),
    "nessus_v_unknown.xml": Expected(
        296,
        32,
        frozenset(f"qa3app0{n}" for n in (1, 2, 3, 4, 5, 6, 9)),
        {"Info": 27, "Low": 1, "Medium": 4},
    ),
}
SAMPLES = samples("tenable", "*.xml")


def findings_of(records: list[Record]) -> dict[tuple[str, str], list[Record]]:
    """Records grouped as DefectDojo merges them (severity + title), in first-seen order."""
    grouped: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        grouped.setdefault((record.severity, record.title), []).append(record)
    return grouped


def plugin_names(path: Path) -> set[str]:
    """DefectDojo's titles: the pluginName of every ReportItem (read here with a DOM)."""
    return {item.get("pluginName", "") for item in etree.parse(str(path)).iter("ReportItem")}


class TestSamples:
    def test_every_sample_has_expectations(self) -> None:
        assert {path.name for path in SAMPLES} == set(EXPECTED)

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
    def test_counts_hosts_titles(self, path: Path) -> None:
        expected = EXPECTED[path.name]
        records = parse(FORMAT, path.read_bytes())
        findings = findings_of(records)
        assert len(records) == expected.records
        assert len(findings) == expected.findings
        assert {r.host.dd_host for r in records} == expected.hosts
        assert {r.title for r in records} == plugin_names(path)
        assert [r.index for r in records] == list(range(len(records)))
        if expected.severities:
            assert Counter(severity for severity, _ in findings) == expected.severities

    def test_many_vuln_merged_finding_endpoints(self) -> None:
        records = parse(FORMAT, (SAMPLES[0]).read_bytes())
        finding = list(findings_of(records).values())[5]
        assert [(r.protocol, r.port) for r in finding] == [("https", 443), ("tcp", 264)]

    def test_v_unknown_findings_as_dd_lists_them(self) -> None:
        records = parse(FORMAT, (SAMPLES[1]).read_bytes())
        findings = list(findings_of(records).items())
        assert findings[0][0] == ("Info", "Nessus Scan Information")
        assert findings[25][0] == ("Info", "Nessus SYN scanner")
        syn = findings[25][1]
        assert (syn[26].protocol, syn[37].protocol) == ("http", "tcp")
        assert [r.vulnerability_ids for r in findings[9][1]] == [("CVE-2005-1794",)] * 7

    def test_host_identity(self) -> None:
        record = parse(FORMAT, (SAMPLES[1]).read_bytes())[0]
        assert record.host.ip == "10.31.112.29"
        assert record.host.fqdn == "qa3app09"
        assert record.host.netbios == "QA3APP09"
        assert record.host.mac == "00:50:56:81:01:e3"
        assert (record.scanner_id, record.port, record.protocol) == ("19506", None, "tcp")
        assert record.date is not None and record.date.isoformat() == "2013-07-01"

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
    def test_scope_title_and_sniff(self, path: Path) -> None:
        data = path.read_bytes()
        assert FORMAT.sniff(data[:65536])
        assert registry.resolve("Tenable Scan", data[:65536]) is FORMAT
        with path.open("rb") as source:
            assert FORMAT.scope_title(source) in {"Remote", "2459_Coinstar"}


class TestRules:
    """DefectDojo's rules on small documents built for one rule each."""

    @staticmethod
    def one_item(item_attributes: str, children: str = "", fqdn: str = "") -> bytes:
        tag = f'<tag name="host-fqdn">{fqdn}</tag>' if fqdn else ""
        return (
            '<NessusClientData_v2><Report name="r"><ReportHost name="10.0.0.9">'
            f'<HostProperties>{tag}<tag name="host-ip">10.0.0.9</tag></HostProperties>'
            f'<ReportItem pluginName="T" pluginID="1" {item_attributes}>{children}</ReportItem>'
            "</ReportHost></Report></NessusClientData_v2>"
        ).encode()

    @pytest.mark.parametrize(
        ("attributes", "children", "severity"),
        [
            ('port="0" severity="3"', "", "High"),
            ('port="0" severity="7"', "", "Info"),
            ('port="0"', "", "Info"),
            ('port="0" severity="1"', "<cvss3_base_score>9.8</cvss3_base_score>", "Critical"),
            ('port="0" severity="3"', "<cvss3_base_score>4.9</cvss3_base_score>", "Low"),
            ('port="0" severity="3"', "<cvss3_base_score>0.0</cvss3_base_score>", "Info"),
            ('port="0" severity="2"', "<cvss3_base_score></cvss3_base_score>", "Medium"),
        ],
    )
    def test_severity(self, attributes: str, children: str, severity: str) -> None:
        (record,) = parse(FORMAT, self.one_item(attributes, children))
        assert record.severity == severity

    @pytest.mark.parametrize(
        ("attributes", "port", "protocol"),
        [
            ('port="80" svc_name="www" protocol="tcp"', 80, "http"),
            ('port="443" svc_name="https?" protocol="tcp"', 443, "https"),
            ('port="445" svc_name="cifs" protocol="tcp"', 445, "tcp"),
            ('port="0" svc_name="general" protocol="udp"', None, "udp"),
            ('port="0" svc_name="general"', None, None),
            ('port="22"', 22, None),
        ],
    )
    def test_port_and_protocol(self, attributes: str, port: int | None, protocol: str) -> None:
        (record,) = parse(FORMAT, self.one_item(attributes))
        assert (record.port, record.protocol) == (port, protocol)

    def test_host_is_fqdn_else_name_and_url_fqdn_gives_its_host(self) -> None:
        (by_name,) = parse(FORMAT, self.one_item('port="0"'))
        (by_fqdn,) = parse(FORMAT, self.one_item('port="0"', fqdn="web.example.com"))
        (by_url,) = parse(FORMAT, self.one_item('port="0"', fqdn="https://app.example.com/x"))
        assert by_name.host.dd_host == "10.0.0.9"
        assert by_fqdn.host.dd_host == "web.example.com"
        assert (by_url.host.dd_host, by_url.port, by_url.protocol) == (
            "app.example.com",
            443,
            "https",
        )

    def test_first_cve_only(self) -> None:
        children = "<cve>CVE-2020-0001</cve><cve>CVE-2020-0002</cve>"
        (record,) = parse(FORMAT, self.one_item('port="0"', children))
        assert record.vulnerability_ids == ("CVE-2020-0001",)


class TestSubset:
    def test_subset_keeps_metadata_and_drops_empty_hosts(self) -> None:
        data = SAMPLES[1].read_bytes()
        records = parse(FORMAT, data)
        written, document = subset(FORMAT, data, indices_on(records, {"qa3app04"}))
        tree = etree.fromstring(document)
        assert written == len(indices_on(records, {"qa3app04"}))
        assert tree.tag == "NessusClientData_v2"
        assert tree.find("Policy/policyName").text == "Internal Network Scan"  # type: ignore[union-attr]
        (report,) = tree.findall("Report")
        assert report.get("name") == "2459_Coinstar"
        assert report.nsmap.get("cm") == "http://www.nessus.org/cm"
        assert [host.get("name") for host in report.iter("ReportHost")] == ["qa3app04"]
        assert report.find("ReportHost/HostProperties/tag") is not None

    def test_empty_keep_gives_a_valid_document_without_hosts(self) -> None:
        written, document = subset(FORMAT, SAMPLES[0].read_bytes(), set())
        assert written == 0
        assert parse(FORMAT, document) == []


class TestHostile:
    @pytest.mark.parametrize(
        "attributes",
        ['port="0" severity="x"', 'severity="0"', 'port="eighty"'],
    )
    def test_items_dd_cannot_read(self, attributes: str) -> None:
        hostile.assert_refused(FORMAT, TestRules.one_item(attributes), located=True)

    def test_item_without_plugin_name(self) -> None:
        document = TestRules.one_item('port="0"').replace(b'pluginName="T" ', b"")
        hostile.assert_refused(FORMAT, document, located=True, match="pluginName")
