"""`ZAP Scan` (XML report) as DefectDojo's `dojo/tools/zap/parser.py` reads it.

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
- for each `site` child of the root, each `alerts/alertitem` is one finding; nothing is
  merged, so an alert found on two sites is two findings with the same title;
- title `alert`; severity `riskcode` 0-3 → Info/Low/Medium/High (any other value leaves
  no severity, which the importer rejects); `cweid` when all digits is the CWE;
- each `instances/instance/uri` is an endpoint, query and fragment dropped; the `site`
  attributes never make an endpoint;
- `desc`, `solution` and `reference` go through html2text, which crashes on a missing one.
Descriptions are kept as the raw text (html2text is not reproduced).
"""

from __future__ import annotations

import dataclasses

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding
from tests.fakedojo.scanread import required
from tests.fakedojo.tenable import safe_xml_root

SEVERITY_BY_RISK = {"0": "Info", "1": "Low", "2": "Medium", "3": "High"}


def parse_zap(filename: str, content: bytes) -> list[ParsedFinding]:
    """One finding per alert item of every site."""
    root = safe_xml_root(content)
    findings: list[ParsedFinding] = []
    for site in root.findall("site"):
        for item in site.findall("alerts/alertitem"):
            for tag in ("solution", "reference"):
                required(item.findtext(tag), f"<{tag}> of an alert")
            cwe = item.findtext("cweid")
            finding = ParsedFinding(
                title=str(item.findtext("alert")),
                severity=required(
                    SEVERITY_BY_RISK.get(str(item.findtext("riskcode"))), "a known riskcode"
                ),
                description=required(item.findtext("desc"), "<desc> of an alert"),
                vuln_id_from_tool=item.findtext("pluginid"),
                cwe=int(cwe) if cwe is not None and cwe.isdigit() else None,
            )
            for instance in item.findall("instances/instance"):
                uri = required(instance.findtext("uri"), "<uri> of an instance")
                endpoint = ParsedEndpoint.from_uri(uri)
                finding.endpoints.append(dataclasses.replace(endpoint, query=None, fragment=None))
            findings.append(finding)
    return findings
