"""Generic Findings Import CSV: records, subsets and hostile input.

Oracle: DefectDojo's unittests/tools/test_generic_parser.py — generic_report1.csv gives one
finding with five endpoints, all on vulnerable.endpoint.com port 443 https
(test_parse_report1); two different rows give two findings and two identical rows one
(test_parse_csv_with_multiple_vulnerabilities_results_in_multiple_findings,
test_parse_csv_with_duplicates_results_in_single_findings); an unknown severity becomes
Info (test_parsed_finding_with_invalid_severity_has_info_severity).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.formats.base import ScanFormatError
from app.formats.generic_csv import FORMAT
from tests.formats import hostile
from tests.formats.infra_check import assert_round_trip, parse, subset

SHARED = Path(__file__).parents[3] / "shared" / "scans" / "generic"
SAMPLES = Path(__file__).parent / "samples" / "generic"
HEADER = "Date,Title,CweId,Url,Severity,Description\n"


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(row + "\n" for row in rows)).encode()


class TestRecords:
    def test_report1_is_one_finding_on_one_host(self) -> None:
        records = parse(FORMAT, (SHARED / "generic_report1.csv").read_bytes())
        assert [(r.title, r.severity, r.host.dd_host, r.port, r.protocol) for r in records] == [
            ("ASDF", "Low", "vulnerable.endpoint.com", 443, "https")
        ]
        assert str(records[0].date) == "2021-02-28"

    def test_two_rows_without_url_are_two_findings_without_host(self) -> None:
        records = parse(FORMAT, (SAMPLES / "generic_multiple.csv").read_bytes())
        assert [(r.title, r.host.dd_host) for r in records] == [
            ("Potential XSS Vulnerability", None),
            ("Potential SQL Injection", None),
        ]

    def test_identical_rows_on_two_hosts_are_one_finding_two_records(self) -> None:
        row = "2021-01-01,T,79,{},High,D"
        records = parse(FORMAT, _csv(row.format("https://a.example"), row.format("b.example:81")))
        assert [(r.title, r.host.dd_host, r.port) for r in records] == [
            ("T", "a.example", 443),
            ("T", "b.example", 81),
        ]

    def test_unknown_severity_becomes_info_and_columns_may_be_reordered(self) -> None:
        header = "Severity,Description,Url,Title,Date\n"
        records = parse(FORMAT, _csv("Unknown,D,10.0.0.9,T,2021-01-01", header=header))
        assert [(r.severity, r.host.ip, r.port) for r in records] == [("Info", "10.0.0.9", None)]

    def test_sniff(self) -> None:
        assert FORMAT.sniff((SHARED / "generic_report1.csv").read_bytes())
        assert not FORMAT.sniff(b"Plugin ID,CVE,CVSS,Risk,Host\n")


class TestSubset:
    def test_each_record_of_a_two_host_file(self) -> None:
        row = "2021-01-01,T,79,{},High,D"
        data = _csv(row.format("https://a.example/1"), row.format("https://b.example/2"))
        for keep in ({0}, {1}, {0, 1}, set()):
            assert_round_trip(FORMAT, data, keep)

    def test_report1_keeps_all_rows_of_its_record(self) -> None:
        data = (SHARED / "generic_report1.csv").read_bytes()
        document = assert_round_trip(FORMAT, data, {0})
        assert document.count(b"vulnerable.endpoint.com") == 5

    def test_formula_cells_stay_inert_text(self) -> None:
        formula = "=cmd|' /C calc'!A0"
        data = _csv(f'2021-01-01,"{formula}",79,a.example,High,"+SUM(1,2)"')
        assert parse(FORMAT, data)[0].title == formula
        document = assert_round_trip(FORMAT, data, {0})
        assert formula.encode() in document and b'"+SUM(1,2)"' in document

    def test_utf16_export_is_read_and_written_back_as_utf8(self) -> None:
        data = _csv("2021-01-01,Caf\u00e9,79,a.example,High,D").decode().encode("utf-16")
        assert parse(FORMAT, data)[0].title == "Caf\u00e9"
        _, document = subset(FORMAT, data, {0})
        assert "Caf\u00e9".encode() in document and not document.startswith(b"\xff\xfe")


class TestHostile:
    @pytest.mark.parametrize(
        ("data", "fragment"),
        [
            (_csv('2021-01-01,"T,79,a.example,High,D'), "fewer fields"),
            (
                "Date,Title,Url,Severity,Description\n2021-01-01,Caf\u00e9,a,High,D\n".encode(
                    "latin-1"
                ),
                "UTF-8",
            ),
            (b"Date,Title,Url,Description\n2021-01-01,T,a,D\n", "Severity"),
            (_csv("2021-01-01,T,79,a.example,High"), "fewer fields"),
            (_csv("yesterday-ish,T,79,a.example,High,D"), "Date"),
            (_csv("2021-01-01,T,,a.example,High,D"), "CweId"),
            (_csv("2021-01-01,T,79,https://,High,D"), "no host"),
            (_csv("2021-01-01,T,79,a.example,High," + "x" * 200_000), "at most 131072"),
            (_csv("2021-01-01,T,79,a.example,High," + "x" * 10_000_000), "field"),
        ],
    )
    def test_refused_with_position(self, data: bytes, fragment: str) -> None:
        with pytest.raises(ScanFormatError) as caught:
            parse(FORMAT, data)
        assert fragment in str(caught.value)
        if fragment not in ("Severity",):
            assert caught.value.line is not None or caught.value.record is not None


class TestSharedHostileBuilders:
    """The builders of tests/formats/hostile.py applied to the shared sample."""

    VALID = (SHARED / "generic_report1.csv").read_bytes()

    def test_truncated_file_keeps_a_consistent_subset(self) -> None:
        data = hostile.truncated(self.VALID)
        records = parse(FORMAT, data)
        assert [r.host.dd_host for r in records] == ["vulnerable.endpoint.com"]
        assert_round_trip(FORMAT, data, {0})
