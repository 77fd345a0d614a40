"""Every sample of the scan types the service splits, imported and reimported through the
double's API as DefectDojo would: 201, one stored finding per parsed finding, and a reimport
of the same file that creates nothing new, except where DefectDojo's `legacy` reimport
compares the parsed title with the stored, title-cased one (OpenVAS Parser, Nmap Scan)."""

from __future__ import annotations

from pathlib import Path

import pytest
from titlecase import titlecase

from tests.fakedojo.parsers import dedupe_config, parse_scan
from tests.fakedojo_tests.conftest import SCANS, World, import_file, reimport_file

LOCAL_SAMPLES = Path(__file__).resolve().parents[1] / "formats" / "samples"
SCAN_TYPES = {
    "openvas": "OpenVAS Parser",
    "qualys": "Qualys Scan",
    "nexpose": "Nexpose Scan",
    "generic": "Generic Findings Import",
    "nuclei": "Nuclei Scan",
    "zap": "ZAP Scan",
    "burp": "Burp Scan",
}
FILES = sorted(
    path
    for root in (SCANS, LOCAL_SAMPLES)
    for family in SCAN_TYPES
    for path in (root / family).glob("*")
    if path.is_file()
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
async def test_import_then_reimport(world: World, path: Path) -> None:
    scan_type = SCAN_TYPES[path.parent.name]
    content = path.read_bytes()
    parsed = parse_scan(scan_type, path.name, content)
    http = world.client(world.admin)

    imported = await import_file(http, world.engagement.id, path.name, content, scan_type=scan_type)

    assert imported.status_code == 201, imported.text
    assert imported.json()["statistics"]["after"]["total"]["total"] == len(parsed)
    test_id = imported.json()["test"]
    reimported = await reimport_file(
        http, test_id, path.name, content, scan_type=scan_type, close_old_findings="false"
    )
    assert reimported.status_code == 201, reimported.text
    created = reimported.json()["statistics"]["delta"]["created"]["total"]["total"]
    if dedupe_config(scan_type).algorithm == "legacy":
        # DD's legacy reimport looks the raw title up among stored (title-cased) ones.
        assert created == sum(titlecase(f.title[:511]) != f.title for f in parsed)
    else:
        assert created == 0
