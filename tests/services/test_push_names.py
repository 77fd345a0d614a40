"""The name a subset is pushed under decides which variant of DefectDojo's parser reads it."""

from __future__ import annotations

import pytest

from app.formats.registry import FORMATS
from app.services.push import subset_file_name


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
        ],
    )
    def test_keeps_or_adds_the_extension_dd_expects(
        self, name: str, fmt: str, expected: str
    ) -> None:
        assert subset_file_name(name, FORMATS[fmt]) == expected
