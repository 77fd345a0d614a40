"""OpenVAS Parser, GVM XML: records against DefectDojo's oracle, subsets, hostile input.

Oracle, DefectDojo's unittests/tools/test_openvas_parser.py (TestOpenVASParser, the parser
of "OpenVAS Parser") on these same files:
- no_vuln.xml gives 0 findings (test_openvas_xml_no_vuln).
- one_vuln.xml gives 1 finding, "Mozilla Firefox Security Update (mfsa_2023-32_2023-36) -
  Windows_10.0.101.2_general/tcp", High (test_openvas_xml_one_vuln).
- many_vuln.xml gives 44 findings with 44 locations, the first "tcp://192.168.1.1001:512"
  (test_openvas_xml_many_vuln).
Titles of every result follow parser_v1/xml_parser.py: name, "_" host text, "_" port text;
`dd_titles` rebuilds them with a DOM for the comparison.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree

from app.formats import registry
from app.formats.openvas_xml import FORMAT
from tests.formats import hostile
from tests.formats.infra_check import parse, subset
from tests.formats.scan_files import samples

SAMPLES = samples("openvas", "*.xml")
EXPECTED = {
    "no_vuln.xml": (0, set(), "HP-scan"),
    "one_vuln.xml": (1, {"10.0.101.2"}, "dc01-testlab-scan"),
    "many_vuln.xml": (44, {"192.168.1.1001"}, "metasploitable2-scan"),
}


def dd_titles(path: Path) -> set[str]:
    """DD's titles, rebuilt with a DOM from the first report's results."""
    results = etree.parse(str(path)).getroot().find("report/results")
    assert results is not None
    titles = set()
    for result in results:
        parts = [field.text or "" for field in result if field.tag in ("name", "host", "port")]
        titles.add("_".join(parts))
    return titles


def result(children: str) -> bytes:
    """A one-result GVM report."""
    return (
        '<report id="a"><task><name>t</name></task><report id="b"><gmp/><results>'
        f"<result>{children}</result></results></report></report>"
    ).encode()


class TestSamples:
    def test_every_sample_has_expectations(self) -> None:
        assert {path.name for path in SAMPLES} == set(EXPECTED)

    @pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
    def test_counts_hosts_titles(self, path: Path) -> None:
        count, hosts, task = EXPECTED[path.name]
        records = parse(FORMAT, path.read_bytes())
        assert len(records) == count
        assert {r.host.dd_host for r in records} == hosts
        assert {r.title for r in records} == dd_titles(path)
        assert [r.index for r in records] == list(range(count))
        with path.open("rb") as source:
            assert FORMAT.scope_title(source) == task
        assert registry.resolve("OpenVAS Parser", path.read_bytes()[:65536]) is FORMAT

    def test_one_vuln_as_dd_shows_it(self) -> None:
        (record,) = parse(FORMAT, SAMPLES[2].read_bytes())
        assert record.title == (
            "Mozilla Firefox Security Update (mfsa_2023-32_2023-36) - Windows"
            "_10.0.101.2_general/tcp"
        )
        assert (record.severity, record.port, record.protocol) == ("High", None, "tcp")
        assert record.scanner_id == "1.3.6.1.4.1.25623.1.0.832260"
        assert record.host.ip == "10.0.101.2"
        assert record.vulnerability_ids[0] == "CVE-2023-4573"

    def test_many_vuln_first_location(self) -> None:
        first = parse(FORMAT, SAMPLES[0].read_bytes())[0]
        assert (first.protocol, first.host.dd_host, first.port) == ("tcp", "192.168.1.1001", 512)
        assert first.host.netbios == "b6b9f466d63"


class TestRules:
    @pytest.mark.parametrize(
        ("threat", "severity"),
        [("High", "High"), ("Critical", "Critical"), ("Log", "Info"), ("high", "Info")],
    )
    def test_severity(self, threat: str, severity: str) -> None:
        (record,) = parse(FORMAT, result(f"<name>N</name><threat>{threat}</threat>"))
        assert record.severity == severity

    def test_direct_hostname_is_the_endpoint_and_joins_the_title(self) -> None:
        children = (
            "<name>N</name><hostname> web.example.com </hostname><host>10.0.0.5</host>"
            "<port>443/tcp</port><threat>Low</threat>"
        )
        (record,) = parse(FORMAT, result(children))
        assert record.title == "N_ web.example.com _10.0.0.5_443/tcp"
        assert record.host.dd_host == "web.example.com"
        assert (record.host.ip, record.host.fqdn, record.port) == (
            "10.0.0.5",
            "web.example.com",
            443,
        )

    def test_nested_hostname_is_an_identifier_only(self) -> None:
        children = (
            "<name>N</name><host>10.0.0.5<asset/><hostname>FILESRV</hostname></host>"
            "<threat>Low</threat>"
        )
        (record,) = parse(FORMAT, result(children))
        assert (record.host.dd_host, record.host.netbios, record.title) == (
            "10.0.0.5",
            "FILESRV",
            "N_10.0.0.5",
        )

    @pytest.mark.parametrize(
        ("children", "problem"),
        [
            ("<threat>Low</threat>", "no <name>"),
            ("<name>N</name>", "no <threat>"),
            ("<name>N</name><host></host><threat>Low</threat>", "empty <host>"),
            ("<name>N</name><port>443</port><threat>Low</threat>", "number/protocol"),
            ("<host>10.0.0.1</host><name>N</name><threat>Low</threat>", "before its <name>"),
        ],
    )
    def test_results_dd_cannot_read(self, children: str, problem: str) -> None:
        hostile.assert_refused(FORMAT, result(children), located=True, match=problem)

    def test_only_the_first_report_and_results_count(self) -> None:
        document = (
            b"<report><report><results><result><name>A</name><threat>Low</threat></result>"
            b"</results><results><result><name>B</name><threat>Low</threat></result></results>"
            b"</report><report><results><result><name>C</name><threat>Low</threat></result>"
            b"</results></report></report>"
        )
        assert [r.title for r in parse(FORMAT, document)] == ["A"]
        written, copy = subset(FORMAT, document, {0})
        assert written == 1
        assert copy.count(b"<result>") == 3

    def test_report_without_results_is_refused(self) -> None:
        hostile.assert_refused(FORMAT, b"<report><report/></report>", located=False)


class TestSubset:
    def test_subset_keeps_report_metadata(self) -> None:
        written, document = subset(FORMAT, SAMPLES[0].read_bytes(), {1, 2})
        tree = etree.fromstring(document)
        assert written == 2
        assert tree.findtext("task/name") == "metasploitable2-scan"
        assert tree.findtext("report/scan_run_status") == "Done"
        assert len(tree.findall("report/results/result")) == 2
        assert FORMAT.scope_title(io.BytesIO(document)) == "metasploitable2-scan"


class TestHostile:
    @property
    def valid(self) -> bytes:
        return SAMPLES[2].read_bytes()

    def test_entities_declared_past_the_first_64_kib_are_refused(self) -> None:
        document = (
            b'<?xml version="1.0"?><!-- <report> '
            + b"x" * 70_000
            + b' --><!DOCTYPE report [<!ENTITY a "b">]><report><report><results/></report>'
            b"</report>"
        )
        hostile.assert_refused(FORMAT, document, located=True, match="entities")

    def test_latin1_without_declaration_is_refused(self) -> None:
        document = self.valid.replace(b"Mozilla", b"Mozill\xe9", 1)
        hostile.assert_refused(FORMAT, document, located=True)
