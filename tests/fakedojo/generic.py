"""`Generic Findings Import` as DefectDojo's `dojo/tools/generic/` (JSON and CSV) reads it.

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
- the importer asks the parser for tests (`get_tests`): a name ending in `.csv` (any case)
  is read as CSV, anything else as JSON;
- JSON (`json_parser.py`): every item of `findings` is a finding, never merged;
  `endpoints`, `files`, `tags`, `vulnerability_ids` and `cwes` are popped, `date` and
  `mitigated` parsed with dateutil (text only), then the rest must hold `title`,
  `severity`, `description` and only the Finding keywords the parser allows. An endpoint
  is a URL, a bare `host[:port][/path]` (read as "//" + it), or an object of
  `LocationData.url` (3.2) or `Endpoint` (2.58) keywords;
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
import datetime as dt
import hashlib
import io
import json
from typing import Any
from urllib.parse import urlsplit

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError, to_float, to_int
from tests.fakedojo.scanread import parse_date, url_endpoint

SEVERITIES = frozenset({"Info", "Low", "Medium", "High", "Critical"})
# What GenericJSONParser pops from an item before checking it: endpoints, files, tags,
# vulnerability ids and the list of CWEs are not Finding fields.
POPPED = ("endpoints", "files", "tags", "vulnerability_ids", "cwes")
REQUIRED = frozenset({"title", "severity", "description"})
# The parser's `allowed` keywords of Finding (DefectDojo 3.x, with `required` added), grouped
# here by what they describe; anything else in an item fails the import.
ALLOWED = REQUIRED | frozenset(
    {
        "date", "publish_date", "mitigated", "is_mitigated", "numerical_severity",
        "cwe", "cve", "cvssv3", "cvssv3_score", "cvssv4", "cvssv4_score",
        "epss_score", "epss_percentile", "kev_date", "known_exploited", "ransomware_used",
        "mitigation", "impact", "steps_to_reproduce", "severity_justification", "references",
        "fix_available", "fix_version", "planned_remediation_date",
        "planned_remediation_version", "effort_for_fixing",
        "active", "verified", "false_p", "out_of_scope", "risk_accepted", "under_review",
        "thread_id", "param", "payload", "line", "file_path", "component_name",
        "component_version", "service", "static_finding", "dynamic_finding",
        "scanner_confidence", "unique_id_from_tool", "vuln_id_from_tool", "nb_occurences",
        "sast_source_object", "sast_sink_object", "sast_source_line", "sast_source_file_path",
        "tags",
    }
)  # fmt: skip
# An endpoint object is passed as keywords: to `LocationData.url` in 3.2 (`url` or the
# parts, with `user_info`), to `Endpoint` in 2.58 (`userinfo`). The double's parsers do not
# know the version, so either spelling is taken; any other key is a TypeError (500).
LOCATION_KEYWORDS = frozenset(
    {"url", "protocol", "user_info", "userinfo", "host", "port", "path", "query", "fragment"}
)


def parse_generic(filename: str, content: bytes) -> list[ParsedFinding]:
    """Dispatch on the extension exactly like DefectDojo's GenericParser.get_tests."""
    if filename.lower().endswith(".csv"):
        return parse_generic_csv(content)
    return parse_generic_json(content)


def _dateutil(value: Any) -> dt.date:
    """`dateutil.parser.parse(value)`, which refuses anything but text."""
    if not isinstance(value, str):
        raise ParserError(f"dateutil cannot parse {value!r}")
    return parse_date(value)


def _url_location(url: str) -> ParsedEndpoint:
    """`URL.from_value`: the text as a URL; one with neither host nor scheme is read again
    as scheme-relative ("//" + text), and still no host fails."""
    parts = urlsplit(url)
    return ParsedEndpoint.from_uri(url if parts.hostname or parts.scheme else "//" + url)


def _location_object(keywords: dict[str, Any]) -> ParsedEndpoint:
    if unexpected := sorted(set(keywords) - LOCATION_KEYWORDS):
        raise ParserError(f"unexpected keyword arguments {unexpected}")
    if keywords.get("url"):
        return _url_location(str(keywords["url"]))
    port = keywords.get("port")
    return ParsedEndpoint(
        host=str(keywords.get("host") or ""),
        protocol=keywords.get("protocol") or None,
        port=to_int(str(port)) if port not in (None, "") else None,
        path=keywords.get("path") or None,
        userinfo=keywords.get("user_info") or keywords.get("userinfo") or None,
        query=keywords.get("query") or None,
        fragment=keywords.get("fragment") or None,
    )


def _location(entry: Any) -> ParsedEndpoint:
    """A string is a URL when it holds "://", else a bare host[:port][/path]."""
    if isinstance(entry, str):
        return url_endpoint(entry)
    if not isinstance(entry, dict):
        raise ParserError(f"an endpoint is a string or an object, not {entry!r}")
    return _location_object(entry)


def _json_finding(item: dict[str, Any]) -> ParsedFinding:
    popped = {key: item[key] for key in POPPED if key in item}
    fields = {key: value for key, value in item.items() if key not in POPPED}
    # Dates are parsed before the required fields are checked, `mitigated` included.
    date = _dateutil(fields["date"]) if "date" in fields else None
    if "mitigated" in fields:
        _dateutil(fields["mitigated"])
    if missing := sorted(REQUIRED - fields.keys()):
        raise ParserError(f"Required fields are missing: {missing}")
    if not_allowed := sorted(fields.keys() - ALLOWED):
        raise ParserError(f"Not allowed fields are present: {not_allowed}")
    cwe = fields.get("cwe")
    finding = ParsedFinding(
        title=str(fields["title"]),
        severity=str(fields["severity"]),
        description=str(fields["description"]),
        mitigation=fields.get("mitigation"),
        impact=fields.get("impact"),
        references=fields.get("references"),
        cwe=to_int(str(cwe)) if cwe is not None else None,
        date=date,
        component_name=fields.get("component_name"),
        component_version=fields.get("component_version"),
        vuln_id_from_tool=fields.get("vuln_id_from_tool"),
        unique_id_from_tool=fields.get("unique_id_from_tool"),
        static_finding=bool(fields.get("static_finding", False)),
        dynamic_finding=bool(fields.get("dynamic_finding", True)),
    )
    finding.endpoints = [_location(entry) for entry in popped.get("endpoints") or []]
    if fields.get("cve"):
        finding.vulnerability_ids.append(str(fields["cve"]))
    finding.vulnerability_ids += [str(v) for v in popped.get("vulnerability_ids") or []]
    return finding


def parse_generic_json(content: bytes) -> list[ParsedFinding]:
    """One finding per item of the report's `findings`; nothing is merged."""
    data = json.loads(content)
    if not isinstance(data, dict):
        raise ParserError("a Generic Findings Import JSON report is an object")
    return [_json_finding(item) for item in data.get("findings", [])]


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
