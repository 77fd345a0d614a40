"""What a scan parser of the double hands to the importer: DefectDojo's unsaved findings.

A parser returns `ParsedFinding`s the way DefectDojo's `get_findings` returns unsaved
`Finding`s with `unsaved_endpoints` and `unsaved_vulnerability_ids`; any exception it raises
is what DefectDojo turns into a 500 "Internal server error".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class ParserError(Exception):
    """The file cannot be read by the parser (DefectDojo answers 500)."""


@dataclass(frozen=True)
class ParsedEndpoint:
    """An `Endpoint` as a DefectDojo parser builds it, before cleaning."""

    host: str
    protocol: str | None = None
    port: int | None = None
    path: str | None = None
    userinfo: str | None = None
    query: str | None = None
    fragment: str | None = None

    @classmethod
    def from_uri(cls, uri: str) -> ParsedEndpoint:
        """Mirror `Endpoint.from_uri` for hosts given as URLs."""
        parts = urlsplit(uri)
        if not parts.hostname:
            raise ParserError(f"no host in {uri!r}")
        return cls(
            host=parts.hostname,
            protocol=parts.scheme or None,
            port=parts.port,
            path=parts.path.lstrip("/") or None,
            userinfo=parts.username,
            query=parts.query or None,
            fragment=parts.fragment or None,
        )


@dataclass
class ParsedFinding:
    """An unsaved DefectDojo `Finding` with the fields the double keeps."""

    title: str
    severity: str
    description: str
    mitigation: str | None = None
    impact: str | None = None
    references: str | None = None
    cwe: int | None = None
    cvssv3: str | None = None
    cvssv3_score: float | None = None
    component_name: str | None = None
    component_version: str | None = None
    vuln_id_from_tool: str | None = None
    unique_id_from_tool: str | None = None
    date: dt.date | None = None
    static_finding: bool = False
    dynamic_finding: bool = True
    vulnerability_ids: list[str] = field(default_factory=list)
    endpoints: list[ParsedEndpoint] = field(default_factory=list)


def to_int(value: str | None) -> int | None:
    """Convert like a Django IntegerField would on save; garbage fails the import."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ParserError(f"not an integer: {value!r}") from exc


def to_float(value: str | None) -> float | None:
    """Convert like a Django FloatField would on save; garbage fails the import."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ParserError(f"not a number: {value!r}") from exc
