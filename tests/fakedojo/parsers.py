"""The double's parser registry: scan type name → parse function, plus DefectDojo's dedupe rules.

`PARSERS` is a plain dict so tests can register more scan types (`register_parser`). A scan
type DefectDojo knows but the double has no parser for fails like an unreadable file (500):
an upload of it through the double is never silently "accepted".

`DEDUPLICATION` mirrors `DEDUPLICATION_ALGORITHM_PER_PARSER` and
`HASHCODE_FIELDS_PER_SCANNER` of DefectDojo's `settings.dist.py` for the scan types this
project handles; any other scan type uses DefectDojo's default (`legacy`, default fields).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.fakedojo.nmap import parse_nmap
from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError
from tests.fakedojo.tenable import parse_tenable

Parser = Callable[[str, bytes], list[ParsedFinding]]

PARSERS: dict[str, Parser] = {
    "Tenable Scan": parse_tenable,
    "Nmap Scan": parse_nmap,
}


@dataclass(frozen=True)
class DedupeConfig:
    """How DefectDojo matches a reimported finding and what its hash_code covers."""

    algorithm: str
    hash_code_fields: tuple[str, ...] | None


DEDUPLICATION: dict[str, DedupeConfig] = {
    "Tenable Scan": DedupeConfig(
        "hash_code", ("title", "severity", "vulnerability_ids", "cwe", "description")
    ),
    "Nexpose Scan": DedupeConfig("hash_code", ("title", "severity", "vulnerability_ids", "cwe")),
    "Qualys Scan": DedupeConfig("hash_code", ("title", "severity", "endpoints")),
    "ZAP Scan": DedupeConfig("hash_code", ("title", "cwe", "severity")),
}
LEGACY = DedupeConfig("legacy", None)
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
        return parser(filename, content)
    except ParserError:
        raise
    except Exception as exc:  # DefectDojo turns any parser crash into a 500
        raise ParserError(f"{type(exc).__name__}: {exc}") from exc


def endpoint_text(endpoint: ParsedEndpoint) -> str:
    """`str(Endpoint)` closely enough for hash codes that include endpoints."""
    text = f"{endpoint.protocol}://" if endpoint.protocol else ""
    text += f"{endpoint.userinfo}@" if endpoint.userinfo else ""
    text += endpoint.host
    text += f":{endpoint.port}" if endpoint.port is not None else ""
    text += f"/{endpoint.path}" if endpoint.path else ""
    text += f"?{endpoint.query}" if endpoint.query else ""
    return text + (f"#{endpoint.fragment}" if endpoint.fragment else "")


def hash_code(scan_type: str, finding: ParsedFinding) -> str:
    """DefectDojo's `Finding.compute_hash_code` for an unsaved finding."""
    fields = dedupe_config(scan_type).hash_code_fields
    if fields is None:
        fields = DEFAULT_HASH_FIELDS + (("endpoints",) if finding.dynamic_finding else ())
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
