"""The name a subset is pushed under decides which variant of DefectDojo's parser reads it."""

from __future__ import annotations

import io

import pytest

from app.formats.registry import FORMATS
from app.services.push import subset_file_name
from bench.generate import generate
from tests.fakedojo.parsers import parse_scan

# Names a person may well upload: no extension, another case, another format's extension.
AWKWARD_NAMES = ("scan", "scan.XML", "scan.xml", "scan.nessus", "scan.CSV", "scan.json", "a.txt")


class TestSubsetFileName:
    @pytest.mark.parametrize(
        ("name", "fmt", "expected"),
        [
            ("weekly.nessus", "tenable-xml", "weekly.nessus"),
            ("weekly.XML", "tenable-xml", "weekly.XML"),
            ("weekly", "tenable-xml", "weekly.xml"),
            ("export.txt", "tenable-csv", "export.txt.csv"),
            ("findings", "generic-json", "findings.json"),
            ("findings.csv", "generic-csv", "findings.csv"),
            # DefectDojo's OpenVAS parser compares extensions case-sensitively.
            ("scan.XML", "openvas-xml", "scan.XML.xml"),
            ("scan.nessus", "openvas-xml", "scan.nessus.xml"),
            ("scan.xml", "openvas-xml", "scan.xml"),
            ("scan.CSV", "openvas-csv", "scan.CSV.csv"),
            # Qualys and Generic read a ".csv" name (any case) as CSV, anything else not.
            ("report.csv", "qualys-xml", "report.csv.xml"),
            ("report.CSV", "qualys-csv", "report.CSV"),
            ("report.csv", "generic-json", "report.csv.json"),
        ],
    )
    def test_keeps_or_adds_the_extension_dd_expects(
        self, name: str, fmt: str, expected: str
    ) -> None:
        assert subset_file_name(name, FORMATS[fmt]) == expected

    @pytest.mark.parametrize("fmt", sorted(FORMATS))
    def test_the_double_reads_every_format_under_any_uploaded_name(self, fmt: str) -> None:
        """Whatever the upload was called, DefectDojo's parser (the double's independent copy,
        which picks its variant by name as DefectDojo does) reads the subset as this format."""
        out = io.BytesIO()
        generate(fmt, out, hosts=2, findings=2)
        scan_type = FORMATS[fmt].scan_type
        canonical = {"xml": "scan.xml", "csv": "scan.csv", "json": "scan.json"}
        expected = parse_scan(scan_type, canonical[fmt.rsplit("-", 1)[1]], out.getvalue())
        assert expected
        for name in AWKWARD_NAMES:
            sent = subset_file_name(name, FORMATS[fmt])
            assert parse_scan(scan_type, sent, out.getvalue()) == expected, sent
