"""`Generic Findings Import` as DefectDojo's `dojo/tools/generic/` (JSON and CSV) reads it.

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
- the importer asks the parser for tests (`get_tests`): a name ending in `.csv` (any case)
  is read as CSV, anything else as JSON;
- JSON: every item of `findings` is a finding, never merged; `endpoints`, `files`,
  `vulnerability_ids`, `cwes` are taken out, the rest must hold `title`, `severity`,
  `description` and only the model fields DefectDojo allows. An endpoint is a URL, a bare
  `host[:port][/path]` (read as "//" + it), or an object of Endpoint fields;
- CSV: each row needs `Title`, `Description`, `Date` (dateutil), `Severity` (one of the
  five, else Info); a non-empty `Url` is its endpoint; rows with the same severity, title
  and description are one finding collecting every row's endpoint. Empty optional cells
  (`CweId`, EPSS, dates) are skipped, as DefectDojo 3.x does; a malformed one fails.
A JSON report's `type` makes DefectDojo file the test under a test type of its own ("<type>
Scan (Generic Findings Import)"); the double keeps the scan type, which is also what
DefectDojo's dedupe settings fall back to for such a test.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import Any

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError, to_float, to_int
from tests.fakedojo.scanread import parse_date, url_endpoint

SEVERITIES = frozenset({"Info", "Low", "Medium", "High", "Critical"})
TAKEN_OUT = ("endpoints", "files", "vulnerability_ids", "cwes")
REQUIRED = frozenset({"title", "severity", "description"})
ALLOWED = REQUIRED | frozenset(
    {
        "date",
        "cwe",
        "cve",
        "cvssv3",
        "cvssv3_score",
        "mitigation",
        "impact",
        "steps_to_reproduce",
        "severity_justification",
        "references",
        "active",
        "verified",
        "false_p",
        "out_of_scope",
        "risk_accepted",
        "under_review",
        "is_mitigated",
        "thread_id",
        "mitigated",
        "numerical_severity",
        "param",
        "payload",
        "line",
        "file_path",
        "component_name",
        "component_version",
        "static_finding",
        "dynamic_finding",
        "scanner_confidence",
        "unique_id_from_tool",
        "vuln_id_from_tool",
        "sast_source_object",
        "sast_sink_object",
        "sast_source_line",
        "sast_source_file_path",
        "nb_occurences",
        "publish_date",
        "service",
        "planned_remediation_date",
        "planned_remediation_version",
        "effort_for_fixing",
        "tags",
    }
)
ENDPOINT_FIELDS = frozenset({"protocol", "userinfo", "host", "port", "path", "query", "fragment"})


def parse_generic(filename: str, content: bytes) -> list[ParsedFinding]:
    """Dispatch on the extension exactly like DefectDojo's GenericParser.get_tests."""
    if filename.lower().endswith(".csv"):
        return parse_generic_csv(content)
    return parse_generic_json(content)


def _object_endpoint(fields: dict[str, Any]) -> ParsedEndpoint:
    unknown = set(fields) - ENDPOINT_FIELDS
    if unknown:
        raise ParserError(f"Endpoint has no field {sorted(unknown)}")
    port = fields.get("port")
    return ParsedEndpoint(
        host=str(fields.get("host") or ""),
        protocol=fields.get("protocol"),
        port=to_int(str(port)) if port is not None else None,
        path=fields.get("path"),
        userinfo=fields.get("userinfo"),
        query=fields.get("query"),
        fragment=fields.get("fragment"),
    )


def _json_finding(item: dict[str, Any]) -> ParsedFinding:
    fields = {key: value for key, value in item.items() if key not in TAKEN_OUT}
    if missing := sorted(REQUIRED - set(fields)):
        raise ParserError(f"Required fields are missing: {missing}")
    if not_allowed := sorted(set(fields) - ALLOWED):
        raise ParserError(f"Not allowed fields are present: {not_allowed}")
    finding = ParsedFinding(
        title=str(fields["title"]),
        severity=str(fields["severity"]),
        description=str(fields["description"]),
        cwe=to_int(str(fields["cwe"])) if fields.get("cwe") is not None else None,
        date=parse_date(str(fields["date"])) if fields.get("date") else None,
        component_name=fields.get("component_name"),
        component_version=fields.get("component_version"),
        vuln_id_from_tool=fields.get("vuln_id_from_tool"),
        unique_id_from_tool=fields.get("unique_id_from_tool"),
        static_finding=bool(fields.get("static_finding", False)),
        dynamic_finding=bool(fields.get("dynamic_finding", True)),
    )
    if fields.get("cve"):
        finding.vulnerability_ids.append(str(fields["cve"]))
    finding.vulnerability_ids += [str(v) for v in item.get("vulnerability_ids") or []]
    for endpoint in item.get("endpoints") or []:
        finding.endpoints.append(
            url_endpoint(endpoint) if isinstance(endpoint, str) else _object_endpoint(endpoint)
        )
    return finding


def parse_generic_json(content: bytes) -> list[ParsedFinding]:
    """One finding per item of the report's `findings`."""
    data = json.loads(content)
    if not isinstance(data, dict):
        raise ParserError("a Generic Findings Import JSON report is an object")
    items = data.get("findings", [])
    return [_json_finding(item) for item in items]


def _row_finding(row: dict[str, str]) -> ParsedFinding:
    for column in ("Title", "Description", "Date", "Severity"):
        if row.get(column) is None:
            raise ParserError(f"no {column!r} cell")
    finding = ParsedFinding(
        title=row["Title"],
        severity=row["Severity"] if row["Severity"] in SEVERITIES else "Info",
        description=row["Description"],
        date=parse_date(row["Date"]),
    )
    if cwe := (row.get("CweId") or "").strip():
        finding.cwe = to_int(cwe)
    for column in ("epss_score", "epss_percentile", "CVSSV3_score", "CVSSV4_score"):
        if value := (row.get(column) or "").strip():
            to_float(value)
    for column in ("MitigatedDate", "kev_date"):
        if value := (row.get(column) or "").strip():
            parse_date(value)
    if "CVE" in row:
        finding.vulnerability_ids.append(row["CVE"] or "")
    if row.get("Vulnerability Id"):
        finding.vulnerability_ids.append(row["Vulnerability Id"])
    if row.get("Url"):
        finding.endpoints.append(url_endpoint(row["Url"]))
    return finding


def parse_generic_csv(content: bytes) -> list[ParsedFinding]:
    """Findings of the CSV, merged on severity, title and description."""
    reader = csv.DictReader(io.StringIO(content.decode("utf-8")), delimiter=",", quotechar='"')
    dupes: dict[str, ParsedFinding] = {}
    for row in reader:
        finding = _row_finding(row)
        key = f"{finding.severity}|{finding.title}|{finding.description}"
        digest = hashlib.sha256(key.encode()).hexdigest()
        if (existing := dupes.get(digest)) is None:
            dupes[digest] = finding
        else:
            existing.endpoints += finding.endpoints
            existing.vulnerability_ids += finding.vulnerability_ids
    return list(dupes.values())
