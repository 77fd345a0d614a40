"""The double's parser registry: scan type name → parse function, plus DefectDojo's dedupe rules.

`PARSERS` is a plain dict so tests can register more scan types (`register_parser`). A scan
type DefectDojo knows but the double has no parser for fails like an unreadable file (500):
an upload of it through the double is never silently "accepted". Every parser's findings
then go through the importer's severity cleaning (`sanitize_severity`).

`DEDUPLICATION` mirrors `DEDUPLICATION_ALGORITHM_PER_PARSER`, `HASHCODE_FIELDS_PER_SCANNER`
and `HASHCODE_ALLOWS_NULL_CWE` of DefectDojo's `settings.dist.py` for the scan types this
project handles (Burp Scan's from the 2.44 upgrade notes and its parser page); any other
scan type uses DefectDojo's default (`legacy`, default fields). OpenVAS Parser (v1) and
Nmap Scan have no entry there: they dedupe and reimport the `legacy` way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.fakedojo.burp import parse_burp
from tests.fakedojo.generic import parse_generic
from tests.fakedojo.nexpose import parse_nexpose
from tests.fakedojo.nmap import parse_nmap
from tests.fakedojo.nuclei import parse_nuclei
from tests.fakedojo.openvas import parse_openvas
from tests.fakedojo.parsed import ParsedFinding, ParserError
from tests.fakedojo.qualys import parse_qualys
from tests.fakedojo.scanread import endpoint_text
from tests.fakedojo.tenable import parse_tenable
from tests.fakedojo.zap import parse_zap

Parser = Callable[[str, bytes], list[ParsedFinding]]

PARSERS: dict[str, Parser] = {
    "Tenable Scan": parse_tenable,
    "Nmap Scan": parse_nmap,
    "OpenVAS Parser": parse_openvas,
    "Qualys Scan": parse_qualys,
    "Nexpose Scan": parse_nexpose,
    "Generic Findings Import": parse_generic,
    "Nuclei Scan": parse_nuclei,
    "ZAP Scan": parse_zap,
    "Burp Scan": parse_burp,
}
SEVERITIES = ("Critical", "High", "Medium", "Low", "Info")


@dataclass(frozen=True)
class DedupeConfig:
    """How DefectDojo matches a reimported finding and what its hash_code covers.

    Without `allows_null_cwe`, a finding whose CWE is unset (0 in DefectDojo) falls back to
    the legacy hash, as `Finding.compute_hash_code` does.
    """

    algorithm: str
    hash_code_fields: tuple[str, ...] | None
    allows_null_cwe: bool = True


DEDUPLICATION: dict[str, DedupeConfig] = {
    "Tenable Scan": DedupeConfig(
        "hash_code", ("title", "severity", "vulnerability_ids", "cwe", "description")
    ),
    "Nexpose Scan": DedupeConfig("hash_code", ("title", "severity", "vulnerability_ids", "cwe")),
    "Qualys Scan": DedupeConfig("hash_code", ("title", "severity", "endpoints")),
    "ZAP Scan": DedupeConfig("hash_code", ("title", "cwe", "severity"), allows_null_cwe=False),
    "Generic Findings Import": DedupeConfig("hash_code", None),
    "Nuclei Scan": DedupeConfig("hash_code", ("title", "cwe", "severity", "component_name")),
    "Burp Scan": DedupeConfig("hash_code", ("title", "severity", "vuln_id_from_tool")),
}
LEGACY = DedupeConfig("legacy", None)
# `compute_hash_code_legacy` of DefectDojo 3.x: no endpoints, whatever the finding's kind.
DEFAULT_HASH_FIELDS = ("title", "cwe", "line", "file_path", "description")
DATA_DIR = Path(__file__).parent / "data"


def register_parser(scan_type: str, parser: Parser, dedupe: DedupeConfig | None = None) -> None:
    """Teach the double a scan type (and, optionally, its dedupe configuration)."""
    PARSERS[scan_type] = parser
    if dedupe is not None:
        DEDUPLICATION[scan_type] = dedupe


def dedupe_config(scan_type: str) -> DedupeConfig:
    """The dedupe configuration DefectDojo applies to tests of this scan type."""
    return DEDUPLICATION.get(scan_type, LEGACY)


@cache
def scan_type_names(version: str) -> tuple[str, ...]:
    """Every scan type name the given DefectDojo version accepts (from its OpenAPI enum)."""
    path = DATA_DIR / f"scan_types_{version}.json"
    names: list[str] = json.loads(path.read_text(encoding="utf-8"))
    return tuple(names)


def parse_scan(scan_type: str, filename: str, content: bytes) -> list[ParsedFinding]:
    """Run the registered parser; every failure is a ParserError (DefectDojo's 500)."""
    parser = PARSERS.get(scan_type)
    if parser is None:
        raise ParserError(f"the double has no parser for {scan_type!r}")
    try:
        findings = parser(filename, content)
    except ParserError:
        raise
    except Exception as exc:  # DefectDojo turns any parser crash into a 500
        raise ParserError(f"{type(exc).__name__}: {exc}") from exc
    for finding in findings:
        finding.severity = sanitize_severity(finding.severity)
    return findings


def sanitize_severity(severity: str) -> str:
    """`BaseImporter.sanitize_severity`: info-like words and "none" become Info; any other
    severity outside DefectDojo's five fails the import."""
    lowered = str(severity).lower()
    if severity != "Info" and (lowered.startswith("info") or lowered == "none"):
        return "Info"
    if severity not in SEVERITIES:
        raise ParserError(f'Finding severity "{severity}" is not supported.')
    return severity


def hash_code(scan_type: str, finding: ParsedFinding) -> str:
    """DefectDojo's `Finding.compute_hash_code` for an unsaved finding."""
    config = dedupe_config(scan_type)
    fields = config.hash_code_fields
    if fields is None or (not finding.cwe and not config.allows_null_cwe):
        fields = DEFAULT_HASH_FIELDS
    text = ""
    for name in fields:
        if name == "vulnerability_ids":
            text += "".join(sorted(dict.fromkeys(finding.vulnerability_ids)))
        elif name == "endpoints":
            text += "".join(sorted({endpoint_text(e) for e in finding.endpoints}))
        elif name in ("line", "file_path", "payload", "unique_id_from_tool"):
            text += str(getattr(finding, name, None))
        else:
            text += str(getattr(finding, name))
    return hashlib.sha256(text.casefold().encode("utf-8").strip()).hexdigest()


# Ids of test types as the recorded instances have them; other names get free ids in order.
PINNED_TEST_TYPE_IDS = {
    "3.2": {"Tenable Scan": 72, "Nmap Scan": 236},
    "2.58": {"Tenable Scan": 57},
}


@cache
def test_type_ids(version: str) -> dict[str, int]:
    """Test type name → id for a DefectDojo version (one test type per scan type)."""
    pinned = PINNED_TEST_TYPE_IDS[version]
    ids = dict(pinned)
    free = (i for i in range(1, 10_000) if i not in pinned.values())
    for name in scan_type_names(version):
        if name not in ids:
            ids[name] = next(free)
    return ids
