"""Hostile input that every format module must refuse cleanly, from one table.

The same defect is applied to each format's own valid sample (see `hostile`), so a new
format joins by adding its row. What only one format refuses, because of a DefectDojo rule
for its own fields, stays in that format's test module.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.formats import (
    burp,
    generic_csv,
    nexpose,
    nmap,
    openvas_csv,
    openvas_xml,
    qualys_csv,
    qualys_xml,
    tenable_csv,
    tenable_xml,
    zap,
)
from app.formats.base import ScanFormat
from app.formats.registry import FORMATS
from bench import (
    gen_nexpose,
    gen_nmap,
    gen_openvas,
    gen_qualys,
)
from tests.formats import hostile
from tests.formats.infra_check import parse
from tests.formats.scan_files import SCANS, samples
from tests.formats.test_burp import TWO_HOSTS as BURP_TWO_HOSTS
from tests.formats.test_openvas_csv import ROW as OPENVAS_ROW
from tests.formats.test_openvas_csv import rows as openvas_rows
from tests.formats.test_qualys_csv import ROW as QUALYS_ROW
from tests.formats.test_qualys_csv import rows as qualys_rows
from tests.formats.webcheck import assert_no_external_dtd, xml_hostile_cases

SAMPLES = Path(__file__).parent / "samples"


def sample(family: str, name: str) -> Callable[[], bytes]:
    return lambda: (SCANS / family / name).read_bytes()


def written(write: Callable[[io.BytesIO], object]) -> Callable[[], bytes]:
    """The bytes a generator writes, for another format's file of one host and finding."""

    def document() -> bytes:
        out = io.BytesIO()
        write(out)
        return out.getvalue()

    return document


@dataclass(frozen=True)
class Xml:
    """A network-scanner XML format: its root, a valid sample, and a document naming an
    external DTD at a URL (some roots need an attribute or a child to be readable)."""

    fmt: ScanFormat
    root: str
    valid: Callable[[], bytes]
    with_external_dtd: Callable[[str], bytes]


XML = {
    "nexpose": Xml(
        nexpose.FORMAT,
        nexpose.ROOT,
        sample("nexpose", "report_auth.xml"),
        lambda url: hostile.external_dtd(nexpose.ROOT, url),
    ),
    "nmap": Xml(
        nmap.FORMAT,
        nmap.ROOT,
        sample("nmap", "nmap_1port.xml"),
        lambda url: hostile.external_dtd(nmap.ROOT, url, 'start="1"'),
    ),
    "openvas-xml": Xml(
        openvas_xml.FORMAT,
        "report",
        lambda: samples("openvas", "*.xml")[2].read_bytes(),
        lambda url: hostile.external_dtd("report", url).replace(
            b"&unknown;", b"&unknown;<report><results/></report>"
        ),
    ),
    "qualys-xml": Xml(
        qualys_xml.FORMAT,
        qualys_xml.ROOT,
        lambda: samples("qualys", "*.xml")[0].read_bytes(),
        lambda url: hostile.external_dtd(qualys_xml.ROOT, url),
    ),
    "tenable-xml": Xml(
        tenable_xml.FORMAT,
        tenable_xml.ROOT,
        lambda: samples("tenable", "*.xml")[0].read_bytes(),
        lambda url: hostile.external_dtd(tenable_xml.ROOT, url),
    ),
}
WEB_XML = {
    "burp": (burp.FORMAT, "issues", SAMPLES / "burp" / "seven_findings.xml"),
    "zap": (zap.FORMAT, "OWASPZAPReport", SAMPLES / "zap" / "0_zap_sample.xml"),
}
HUGE_TEXT_HOSTS = {
    **{name: (xml.fmt, xml.valid) for name, xml in XML.items()},
    # hostile.huge_xml_text places its padding after a DOCTYPE without internal subset.
    "burp": (burp.FORMAT, lambda: BURP_TWO_HOSTS),
    "zap": (zap.FORMAT, lambda: WEB_XML["zap"][2].read_bytes()),
}


class TestEmpty:
    @pytest.mark.parametrize("fmt", FORMATS.values(), ids=FORMATS)
    def test_is_refused_as_empty(self, fmt: ScanFormat) -> None:
        hostile.assert_refused(fmt, hostile.empty(), located=False, match="empty")


@pytest.mark.parametrize("xml", XML.values(), ids=XML)
class TestXml:
    def test_malformed_and_truncated_are_refused_with_their_place(self, xml: Xml) -> None:
        hostile.assert_refused(xml.fmt, hostile.malformed_xml(xml.valid()), located=True)
        hostile.assert_refused(xml.fmt, hostile.truncated(xml.valid()), located=True)

    def test_xxe_and_billion_laughs_are_refused(self, xml: Xml) -> None:
        for document in (hostile.xxe(xml.root), hostile.billion_laughs(xml.root)):
            hostile.assert_refused(xml.fmt, document, located=False, match="entities")

    def test_external_dtd_is_not_fetched(self, xml: Xml) -> None:
        with hostile.listening_socket() as (url, contacted):
            assert parse(xml.fmt, xml.with_external_dtd(url)) == []
            assert not contacted()

    def test_deep_nesting_is_refused(self, xml: Xml) -> None:
        deep = f"<{xml.root}>".encode() + b"<a>" * 300 + b"</a>" * 300 + f"</{xml.root}>".encode()
        hostile.assert_refused(xml.fmt, deep, located=True)

    def test_utf16_reads_like_utf8(self, xml: Xml) -> None:
        utf16 = hostile.utf16_xml(xml.valid())
        assert xml.fmt.sniff(utf16[:65536])
        assert parse(xml.fmt, utf16) == parse(xml.fmt, xml.valid())


@pytest.mark.parametrize(("fmt", "valid"), HUGE_TEXT_HOSTS.values(), ids=HUGE_TEXT_HOSTS)
def test_ten_mib_text_is_refused_with_its_place(
    fmt: ScanFormat, valid: Callable[[], bytes]
) -> None:
    hostile.assert_refused(fmt, hostile.huge_xml_text(valid()), located=True)


@pytest.mark.parametrize(("fmt", "root", "path"), WEB_XML.values(), ids=WEB_XML)
class TestWebXml:
    @pytest.mark.parametrize("name", sorted(xml_hostile_cases("x", b"<x/>")))
    def test_refused(self, fmt: ScanFormat, root: str, path: Path, name: str) -> None:
        located = name in ("truncated", "malformed", "deep", "utf-16", "utf-7")
        document = xml_hostile_cases(root, path.read_bytes())[name]
        hostile.assert_refused(fmt, document, located=located)

    def test_external_dtd_is_neither_fetched_nor_expanded(
        self, fmt: ScanFormat, root: str, path: Path
    ) -> None:
        assert_no_external_dtd(fmt, root)


OTHER_FORMATS = {
    "nexpose": (
        nexpose.FORMAT,
        written(lambda out: gen_qualys.write_xml(out, hosts=1, findings=1)),
        False,
        "Nexpose.*ASSET_DATA_REPORT",
    ),
    "nmap": (
        nmap.FORMAT,
        lambda: samples("tenable", "*.xml")[0].read_bytes(),
        False,
        "Nmap XML.*found root element <NessusClientData_v2>",
    ),
    "openvas-xml": (
        openvas_xml.FORMAT,
        written(lambda out: gen_nexpose.write(out, hosts=1, findings=1)),
        False,
        "OpenVAS.*found <NexposeReport>",
    ),
    "qualys-xml": (
        qualys_xml.FORMAT,
        written(lambda out: gen_openvas.write_xml(out, hosts=1, findings=1)),
        False,
        "Qualys.*found <report>",
    ),
    "tenable-xml": (
        tenable_xml.FORMAT,
        written(lambda out: gen_nmap.nmap_xml(out, hosts=1, findings_per_host=1)),
        False,
        r"Nessus v2 .*found root element <nmaprun>",
    ),
    "openvas-csv": (
        openvas_csv.FORMAT,
        written(lambda out: gen_qualys.write_csv(out, hosts=1, findings=1)),
        True,
        "OpenVAS.*nvt name",
    ),
    "qualys-csv": (
        qualys_csv.FORMAT,
        written(lambda out: gen_openvas.write_csv(out, hosts=1, findings=1)),
        True,
        "Qualys CSV.*Title",
    ),
    "tenable-csv": (
        tenable_csv.FORMAT,
        lambda: samples("tenable", "*.xml")[0].read_bytes(),
        False,
        "Tenable/Nessus CSV",
    ),
}


@pytest.mark.parametrize(
    ("fmt", "other", "located", "match"), OTHER_FORMATS.values(), ids=OTHER_FORMATS
)
def test_other_format_is_named_and_not_sniffed(
    fmt: ScanFormat, other: Callable[[], bytes], located: bool, match: str
) -> None:
    document = other()
    hostile.assert_refused(fmt, document, located=located, match=match)
    assert not fmt.sniff(document[:65536])


@dataclass(frozen=True)
class Csv:
    """A CSV format, its valid sample, and where its own tests put each defect."""

    fmt: ScanFormat
    valid: Callable[[], bytes]
    huge_field_host: Callable[[], bytes]
    """The document whose first data row gets a 10 MiB field."""
    latin1_line: int = 2
    endless_line_bytes: int = 64 * 1024 * 1024


CSV = {
    "openvas-csv": Csv(
        openvas_csv.FORMAT,
        lambda: samples("openvas", "*.csv")[0].read_bytes(),
        lambda: openvas_rows(OPENVAS_ROW),
    ),
    "qualys-csv": Csv(
        qualys_csv.FORMAT,
        lambda: samples("qualys", "*.csv")[0].read_bytes(),
        lambda: qualys_rows(QUALYS_ROW),
    ),
    "tenable-csv": Csv(
        tenable_csv.FORMAT,
        sample("tenable", "nessus-template.csv"),
        sample("tenable", "nessus-template.csv"),
        latin1_line=3,
    ),
    "generic-csv": Csv(
        generic_csv.FORMAT,
        sample("generic", "generic_report1.csv"),
        sample("generic", "generic_report1.csv"),
        endless_line_bytes=20 * 1024 * 1024,
    ),
}


@pytest.mark.parametrize("csv", CSV.values(), ids=CSV)
class TestCsv:
    def test_latin1_is_refused_at_its_place(self, csv: Csv) -> None:
        document = hostile.latin1_csv(csv.valid(), line=csv.latin1_line)
        error = hostile.assert_refused(csv.fmt, document, located=True)
        assert (error.line, error.column) == (csv.latin1_line, 4)
        assert "UTF-8" in error.message

    def test_utf16_and_bom_read_like_utf8(self, csv: Csv) -> None:
        expected = parse(csv.fmt, csv.valid())
        assert parse(csv.fmt, hostile.utf16_csv(csv.valid())) == expected
        assert parse(csv.fmt, b"\xef\xbb\xbf" + csv.valid()) == expected
        assert csv.fmt.sniff(hostile.utf16_csv(csv.valid())[:65536])

    def test_ten_mib_field_is_refused(self, csv: Csv) -> None:
        error = hostile.assert_refused(
            csv.fmt, hostile.huge_csv_field(csv.huge_field_host()), located=True
        )
        assert error.record == 1

    def test_endless_line_is_refused(self, csv: Csv) -> None:
        document = hostile.huge_csv_line(csv.valid(), size=csv.endless_line_bytes)
        error = hostile.assert_refused(csv.fmt, document, located=True)
        assert error.line == 2


MISSING_COLUMNS = [
    ("openvas-csv", openvas_csv.FORMAT, CSV["openvas-csv"].valid, "NVT Name", "nvt name"),
    ("openvas-csv", openvas_csv.FORMAT, CSV["openvas-csv"].valid, "Severity", "severity"),
    ("qualys-csv", qualys_csv.FORMAT, lambda: qualys_rows(QUALYS_ROW), "Solution", "Solution"),
    (
        "qualys-csv",
        qualys_csv.FORMAT,
        lambda: qualys_rows(QUALYS_ROW),
        "Date Last Fixed",
        "Date Last Fixed",
    ),
    ("qualys-csv", qualys_csv.FORMAT, lambda: qualys_rows(QUALYS_ROW), "CVSS3 Base", "CVSS3 Base"),
    (
        "tenable-csv",
        tenable_csv.FORMAT,
        CSV["tenable-csv"].valid,
        "Name",
        "'Name' or 'Plugin Name'",
    ),
    ("generic-csv", generic_csv.FORMAT, CSV["generic-csv"].valid, "Severity", "Severity"),
]


@pytest.mark.parametrize(
    ("fmt", "valid", "column", "match"),
    [case[1:] for case in MISSING_COLUMNS],
    ids=[f"{case[0]}-{case[3]}" for case in MISSING_COLUMNS],
)
def test_missing_column_is_named(
    fmt: ScanFormat, valid: Callable[[], bytes], column: str, match: str
) -> None:
    hostile.assert_refused(fmt, hostile.without_column(valid(), column), located=True, match=match)
