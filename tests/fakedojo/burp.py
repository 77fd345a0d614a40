"""`Burp Scan` (XML issues export) as DefectDojo's `dojo/tools/burp/parser.py` reads it.

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
- every `issue` child of the root is read; it must have `serialNumber`, `type`, `name`,
  `host`, `path`, `location`, `severity` and `confidence` children (DefectDojo indexes
  `findall(tag)[0]`), `name`, `host`, `path`, `location` and `severity` with text,
  and each `requestresponse` a `request`;
- issues of the same `type` are one finding (title and severity of the first), collecting
  every issue's endpoint across hosts; extension-generated issues all share type 134217728
  and are told apart by name too (DefectDojo issue #6369, `test_burp_parser.py`
  test_burp_extension_generated_issues_are_not_merged);
- severity "Information" (any case) becomes Info; the endpoint is the `host` text, a base
  URL such as https://shop.example.com; the first `CWE-n` of the classifications is the CWE.
"""

from __future__ import annotations

import re

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError
from tests.fakedojo.scanread import first_text
from tests.fakedojo.tenable import safe_xml_root

EXTENSION_TYPE = "134217728"
_CWE = re.compile(r"CWE-(\d+)")


def _cwe(issue_text: str) -> int | None:
    found = _CWE.search(issue_text)
    return int(found.group(1)) if found else None


def parse_burp(filename: str, content: bytes) -> list[ParsedFinding]:
    """Findings of a Burp issues export, merged per issue type (and name for extensions)."""
    root = safe_xml_root(content)
    findings: dict[tuple[str, str | None], ParsedFinding] = {}
    for issue in root.findall("issue"):
        for tag in ("serialNumber", "type", "confidence"):
            if not issue.findall(tag):
                raise ParserError(f"<issue> without <{tag}>")
        for exchange in issue.findall("requestresponse"):
            if not exchange.findall("request"):
                raise ParserError("<requestresponse> without <request>")
        first_text(issue, "location")
        issue_type = str(issue.findtext("type"))
        title = first_text(issue, "name")
        host = first_text(issue, "host")
        path = first_text(issue, "path")
        severity = first_text(issue, "severity")
        if severity.lower() == "information":
            severity = "Info"
        classifications = "".join(
            node.text or "" for node in issue.findall("vulnerabilityClassifications")
        )
        endpoint = ParsedEndpoint.from_uri(host)
        key = (issue_type, title if issue_type == EXTENSION_TYPE else None)
        finding = findings.get(key)
        if finding is None:
            finding = ParsedFinding(
                title=title,
                severity=severity,
                description=f"URL: {host}{path}\n\n",
                vuln_id_from_tool=issue_type,
                unique_id_from_tool=issue.findtext("serialNumber"),
                cwe=_cwe(classifications),
            )
            findings[key] = finding
        finding.endpoints.append(endpoint)
    return list(findings.values())
