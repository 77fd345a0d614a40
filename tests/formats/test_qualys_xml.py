"""Qualys Scan, asset data report XML: records against DD's oracle, subsets, hostile input.

Oracle, DefectDojo's unittests/tools/test_qualys_parser.py on these same files:
- empty.xml gives 0 findings (parse_file_with_no_vuln_has_no_findings).
- Qualys_Sample_Report.xml gives 301 findings; findings[0] is "QID-6 | DNS Host Name",
  Informational (DD's importer stores Info), on demo13.s02.sjc01.qualys.com, dated 2019-07-31
  (parse_file_with_multiple_vuln_has_multiple_findings); with the default legacy mapping
  177 Informational, 65 Low, 46 Medium, 6 High, 7 Critical (test_get_severity_legacy);
  "QID-370876 | AMD Processors ..." on demo13 and demo14 has CVE-2018-8930..8936 and
  'QID-121695 | NTP "monlist"  Feature ...' on demo14 has CVE-2013-5211
  (test_parse_file_with_cvss_values_and_scores).
Nothing merges, so records = findings. Hosts (DNS else IP) and titles ("QID-" + id[4:] +
" | " + glossary TITLE) are rebuilt with a DOM by `dd_view`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from app.formats import registry
from app.formats.qualys_xml import FORMAT, ROOT
from tests.formats import hostile
from tests.formats.infra_check import assert_round_trip, parse, subset
from tests.formats.scan_files import samples

SAMPLES = samples("qualys", "*.xml")
AMD = (
    "QID-370876 | AMD Processors Multiple Security Vulnerabilities "
    "(RYZENFALL/MASTERKEY/CHIMERA-FW/FALLOUT)"
)
NTP = 'QID-121695 | NTP "monlist"  Feature Denial of Service Vulnerability'


def dd_view(path: Path) -> tuple[set[str | None], set[str]]:
    """The endpoint hosts and titles DD's parser makes, rebuilt with a DOM."""
    tree = etree.parse(str(path))
    titles = {d.get("id"): d.findtext("TITLE") for d in tree.iterfind(".//VULN_DETAILS")}
    hosts, found = set(), set()
    for host in tree.getroot().iterfind("HOST_LIST/*"):
        for info in host.iterfind("VULN_INFO_LIST/VULN_INFO"):
            gid = info.find("QID").get("id", "")  # type: ignore[union-attr]
            hosts.add(host.findtext("DNS") or host.findtext("IP"))
            found.add(f"QID-{gid[4:]} | {titles[gid]}")
    return hosts, found


def report(hosts: str, glossary: str) -> bytes:
    return (
        f"<{ROOT}><HEADER><TEMPLATE>T</TEMPLATE></HEADER><HOST_LIST>{hosts}</HOST_LIST>"
        f"<GLOSSARY><VULN_DETAILS_LIST>{glossary}</VULN_DETAILS_LIST></GLOSSARY></{ROOT}>"
    ).encode()


HOST = (
    "<HOST><IP>10.0.0.1</IP>{dns}<VULN_INFO_LIST><VULN_INFO>{info}</VULN_INFO></VULN_INFO_LIST>"
    "</HOST>"
)
DETAILS = (
    '<VULN_DETAILS id="qid_9"><TITLE>Nine</TITLE><SEVERITY>{severity}</SEVERITY>'
    "<SOLUTION>s</SOLUTION><IMPACT>i</IMPACT>{extra}</VULN_DETAILS>"
)


def one(
    info: str = '<QID id="qid_9">9</QID>', dns: str = "", severity: str = "3", extra: str = ""
) -> bytes:
    return report(HOST.format(dns=dns, info=info), DETAILS.format(severity=severity, extra=extra))


class TestSamples:
    def test_every_sample_is_checked(self) -> None:
        assert {path.name for path in SAMPLES} == {"Qualys_Sample_Report.xml", "empty.xml"}

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
    def test_hosts_and_titles(self, path: Path) -> None:
        records = parse(FORMAT, path.read_bytes())
        hosts, titles = dd_view(path)
        assert {r.host.dd_host for r in records} == hosts
        assert {r.title for r in records} == titles
        assert registry.resolve("Qualys Scan", path.read_bytes()[:65536]) is FORMAT

    def test_empty_has_no_records_and_its_template_title(self) -> None:
        assert parse(FORMAT, SAMPLES[1].read_bytes()) == []
        with SAMPLES[1].open("rb") as source:
            assert FORMAT.scope_title(source) == "Report Template1"

    def test_sample_as_dd_shows_it(self) -> None:
        records = parse(FORMAT, SAMPLES[0].read_bytes())
        assert len(records) == 301
        assert Counter(r.severity for r in records) == {
            "Info": 177,
            "Low": 65,
            "Medium": 46,
            "High": 6,
            "Critical": 7,
        }
        first = records[0]
        assert (first.title, first.severity, first.host.dd_host) == (
            "QID-6 | DNS Host Name",
            "Info",
            "demo13.s02.sjc01.qualys.com",
        )
        assert first.date is not None and first.date.isoformat() == "2019-07-31"
        amd = {r.host.dd_host: r.vulnerability_ids for r in records if r.title == AMD}
        expected = tuple(f"CVE-2018-{n}" for n in range(8930, 8937))
        assert amd["demo13.s02.sjc01.qualys.com"] == amd["demo14.s02.sjc01.qualys.com"] == expected
        ntp = [
            r for r in records if r.title == NTP and r.host.dd_host == "demo14.s02.sjc01.qualys.com"
        ]
        assert [r.vulnerability_ids for r in ntp] == [("CVE-2013-5211",)]
        with SAMPLES[0].open("rb") as source:
            assert FORMAT.scope_title(source) == "All confirmed and Information Vulnerabilities 1-5"


class TestRules:
    @pytest.mark.parametrize(
        ("severity", "expected"),
        [
            ("1", "Info"),
            ("2", "Low"),
            ("3", "Medium"),
            ("4", "High"),
            ("5", "Critical"),
            ("0", "Info"),
            ("", "Info"),
        ],
    )
    def test_severity(self, severity: str, expected: str) -> None:
        (record,) = parse(FORMAT, one(severity=severity))
        assert record.severity == expected

    def test_dns_else_ip_and_the_detection_port(self) -> None:
        info = '<QID id="qid_9">9</QID><PORT>443</PORT><PROTOCOL>tcp</PROTOCOL>'
        (by_ip,) = parse(FORMAT, one(info))
        (by_dns,) = parse(FORMAT, one(info, dns="<DNS>web.example.com</DNS><NETBIOS>WEB</NETBIOS>"))
        assert (by_ip.host.dd_host, by_ip.port, by_ip.protocol) == ("10.0.0.1", 443, "tcp")
        assert (by_dns.host.dd_host, by_dns.host.netbios, by_dns.title) == (
            "web.example.com",
            "WEB",
            "QID-9 | Nine",
        )

    def test_glossary_before_the_hosts(self) -> None:
        host = HOST.format(dns="", info='<QID id="qid_9">9</QID>')
        document = (
            f"<{ROOT}><GLOSSARY><VULN_DETAILS_LIST>{DETAILS.format(severity=4, extra='')}"
            f"</VULN_DETAILS_LIST></GLOSSARY><HOST_LIST>{host}</HOST_LIST></{ROOT}>"
        ).encode()
        (record,) = parse(FORMAT, document)
        assert (record.title, record.severity) == ("QID-9 | Nine", "High")
        assert_round_trip(FORMAT, document, {0})

    @pytest.mark.parametrize(
        ("document", "problem"),
        [
            (one("<TYPE>Vuln</TYPE>"), "no QID id"),
            (one('<QID id="qid_8">8</QID>'), "missing from the glossary"),
            (one(severity="high"), "SEVERITY"),
            (one(extra="").replace(b"<SOLUTION>s</SOLUTION>", b""), "SOLUTION"),
            (one('<QID id="qid_9">9</QID><LAST_FIXED>yesterday</LAST_FIXED>'), "LAST_FIXED"),
            (one('<QID id="qid_9">9</QID><CVSS3_FINAL>9.8 (bad vector)</CVSS3_FINAL>'), "CVSS"),
            (one(extra="<CVSS3_SCORE><CVSS3_BASE>high</CVSS3_BASE></CVSS3_SCORE>"), "CVSS"),
        ],
    )
    def test_detections_dd_cannot_read(self, document: bytes, problem: str) -> None:
        hostile.assert_refused(FORMAT, document, located=True, match=problem)

    def test_readable_cvss_values_pass(self) -> None:
        vector = "8.1 (AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H)"
        info = '<QID id="qid_9">9</QID><CVSS3_FINAL>-</CVSS3_FINAL><CVSS_FINAL>5.0</CVSS_FINAL>'
        assert (
            len(
                parse(
                    FORMAT,
                    one(
                        info, extra=f"<CVSS3_SCORE><CVSS3_BASE>{vector}</CVSS3_BASE></CVSS3_SCORE>"
                    ),
                )
            )
            == 1
        )

    def test_scan_results_file_is_named(self) -> None:
        hostile.assert_refused(
            FORMAT, b"<SCAN value='x'><IP value='1.2.3.4'/></SCAN>", located=False, match="SCAN"
        )


class TestSubset:
    def test_subset_keeps_header_and_only_used_glossary_entries(self) -> None:
        data = SAMPLES[0].read_bytes()
        records = parse(FORMAT, data)
        keep = {r.index for r in records if r.title == AMD}
        written, document = subset(FORMAT, data, keep)
        tree = etree.fromstring(document)
        assert written == 2
        assert tree.findtext("HEADER/COMPANY") == "Training-Qualys"
        assert [d.get("id") for d in tree.iterfind("GLOSSARY/VULN_DETAILS_LIST/VULN_DETAILS")] == [
            "qid_370876"
        ]
        assert len(tree.findall("HOST_LIST/HOST")) == 2
        assert tree.find("APPENDICES") is not None


class TestHostile:
    @property
    def valid(self) -> bytes:
        return SAMPLES[0].read_bytes()

    def test_real_doctype_is_not_copied_into_subsets(self) -> None:
        _, document = subset(FORMAT, self.valid, {0})
        assert b"DOCTYPE" in self.valid and b"DOCTYPE" not in document

    def test_utf16_reads_like_utf8(self) -> None:
        utf16 = hostile.utf16_xml(SAMPLES[1].read_bytes())
        assert FORMAT.sniff(utf16[:65536])
        assert parse(FORMAT, utf16) == []
        document = one()
        assert parse(FORMAT, document.decode().encode("utf-16")) == parse(FORMAT, document)
