"""`Nuclei Scan` (JSON array or JSONL) as DefectDojo's `dojo/tools/nuclei/parser.py` reads it.

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
- the whole file is decoded as UTF-8; a first character "[" makes it one JSON array, "{"
  makes it JSONL (every non-empty line one result); anything else yields no findings;
- title `info.name`; severity `info.severity` title-cased, Low when not one of the five;
  the endpoint is `matched` (else `matched-at`), a URL or a bare `host:port`;
- results merge on template id + `type` + matcher name + endpoint host, so a finding never
  spans hosts; a merged result adds its endpoint unless the finding already has it. The
  matcher name is the finding's component name, part of this scan type's hash code.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakedojo.parsed import ParsedFinding, ParserError
from tests.fakedojo.scanread import parse_date, required, url_endpoint

SEVERITIES = frozenset({"Info", "Low", "Medium", "High", "Critical"})


def _results(content: bytes) -> list[dict[str, Any]]:
    text = content.decode("utf-8")
    if text.startswith("["):
        results: list[dict[str, Any]] = json.loads(text)
        return results
    if text.startswith("{"):
        return [json.loads(line) for line in text.split("\n") if line != ""]
    return []


def _classify(finding: ParsedFinding, classification: dict[str, Any]) -> None:
    """CVEs (upper-cased) and the first CWE, which is part of the hash code."""
    finding.vulnerability_ids = [str(cve).upper() for cve in classification.get("cve-id") or []]
    if cwes := classification.get("cwe-id"):
        try:
            finding.cwe = int(str(cwes[0])[4:])
        except ValueError:
            finding.cwe = None


def parse_nuclei(filename: str, content: bytes) -> list[ParsedFinding]:
    """Findings of a Nuclei report, merged per template, matcher and host."""
    dupes: dict[str, ParsedFinding] = {}
    for item in _results(content):
        template_id = str(item.get("templateID", item.get("template-id", "")))
        info = required(item.get("info"), "info of a result")
        severity = str(required(info.get("severity"), "info.severity")).title()
        matched = item.get("matched", item.get("matched-at", ""))
        endpoint = url_endpoint(required(matched, "matched URL"))
        if not endpoint.host:
            raise ParserError(f"no host in {matched!r}")
        matcher = item.get("matcher-name", item.get("matcher_name")) or ""
        key = template_id + str(item.get("type") or "") + str(matcher) + endpoint.host
        finding = dupes.get(key)
        if finding is None:
            finding = ParsedFinding(
                title=str(info.get("name")),
                severity=severity if severity in SEVERITIES else "Low",
                description=str(info.get("description") or ""),
                vuln_id_from_tool=template_id,
                component_name=str(matcher) or None,
                date=parse_date(item["timestamp"]) if item.get("timestamp") else None,
            )
            _classify(finding, info.get("classification") or {})
            dupes[key] = finding
        if endpoint not in finding.endpoints:
            finding.endpoints.append(endpoint)
    return list(dupes.values())
