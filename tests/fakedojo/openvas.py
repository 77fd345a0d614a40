"""`OpenVAS Parser` as DefectDojo's `dojo/tools/openvas/` (parser_v1) reads it.

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
- the file name picks the variant, case-sensitively: `.csv` or `.xml`; for any other name
  DefectDojo's parser returns None, which the importer cannot iterate (500);
- nothing is merged across hosts: every result (XML) or row (CSV) is its own finding with
  one endpoint;
- XML: the root's tag must contain "report"; its first `<report>`'s first `<results>` holds
  the results. Title is `<name>` then "_" + the text of each direct `<hostname>`, `<host>` and
  `<port>` child; the endpoint host is the stripped `<hostname>` when it has text, else the
  stripped `<host>`; `<port>` "443/tcp" gives port and protocol ("general/tcp": no port).
  Severity is `<threat>` when it is one of DefectDojo's five, else Info. A result without a
  `<name>` or `<threat>` silently reuses the previous result's (a first one crashes);
- CSV: columns are applied in file order by lower-cased name; "hostname" (stripped, when not
  empty) wins over "ip" for the host; rows with the same endpoint, severity, title and
  description are one finding, the first kept.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import re

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError, to_float
from tests.fakedojo.scanread import children, endpoint_text, parse_date, required
from tests.fakedojo.tenable import safe_xml_root

SEVERITIES = frozenset({"Info", "Low", "Medium", "High", "Critical"})
_CVE = re.compile(r"CVE-\d{4}-\d{4,7}")


def parse_openvas(filename: str, content: bytes) -> list[ParsedFinding]:
    """Dispatch on the extension exactly like DefectDojo's OpenVASParser."""
    if filename.endswith(".csv"):
        return parse_openvas_csv(content)
    if filename.endswith(".xml"):
        return parse_openvas_xml(content)
    raise ParserError("OpenVAS Parser returns nothing for a file not named .csv or .xml")


def parse_openvas_xml(content: bytes) -> list[ParsedFinding]:
    """One finding per result of the report."""
    root = safe_xml_root(content)
    if "report" not in str(root.tag):
        raise ParserError("This doesn't seem to be a valid Greenbone OpenVAS XML file.")
    report = required(root.find("report"), "<report> in the report")
    results = required(report.find("results"), "<results> in the report")
    findings: list[ParsedFinding] = []
    title: str | None = None
    severity: str | None = None
    for result in children(results):
        host, port, protocol, oid = "", None, "", None
        for field in children(result):
            text = field.text
            if field.tag == "name":
                title = text
            elif field.tag in ("hostname", "host", "port"):
                title = required(title, "<name> before it") + "_" + required(text, field.tag)
                # <hostname> wins; <host> counts only while no hostname was seen.
                if text and (field.tag == "hostname" or (field.tag == "host" and not host)):
                    host = text.strip()
                elif field.tag == "port" and text:
                    number, protocol = _split_port(text)
                    with contextlib.suppress(ValueError):
                        port = int(number)
            elif field.tag == "nvt":
                oid = field.get("oid") or text
            elif field.tag == "threat":
                severity = text if text in SEVERITIES else "Info"
        findings.append(
            ParsedFinding(
                title=str(required(title, "<name>")),
                severity=required(severity, "<threat>"),
                description="",
                vuln_id_from_tool=oid,
                endpoints=[ParsedEndpoint(host=host, protocol=protocol or None, port=port)],
            )
        )
    return findings


def _split_port(text: str) -> tuple[str, str]:
    parts = text.split("/")
    if len(parts) != 2:
        raise ParserError(f"port {text!r} is not <port>/<protocol>")
    return parts[0], parts[1]


def parse_openvas_csv(content: bytes) -> list[ParsedFinding]:
    """One finding per distinct (endpoint, severity, title, description) row."""
    rows = csv.reader(io.StringIO(content.decode("utf-8")), delimiter=",", quotechar='"')
    header = [name.lower() for name in next(rows, [])]
    dupes: dict[str, ParsedFinding] = {}
    for row in rows:
        if len(row) > len(header):
            raise ParserError("a row has more cells than the header")
        finding = ParsedFinding(title="", severity="", description="")
        host, port, protocol, ip = "", None, None, None
        for name, value in zip(header, row, strict=False):
            if name == "timestamp":
                finding.date = parse_date(value)
            elif name == "nvt oid":
                finding.vulnerability_ids += _CVE.findall(value)
            elif name == "cves" and value != "":
                if "," in value:
                    finding.description += "\n**All CVEs:** " + value
                finding.vulnerability_ids += value.split(",")
            elif name == "nvt name":
                finding.title = value
            elif name == "cweid" and value.isdigit():
                finding.cwe = int(value)
            elif name == "hostname" and value:
                host = value.strip()
            elif name == "ip":
                host = host or value.strip()
                ip = value
            elif name == "severity":
                finding.severity = value if value in SEVERITIES else "Info"
            elif name == "cvss" and value:
                finding.cvssv3_score = to_float(value)
            elif name == "summary":
                finding.description = value
            elif name == "port" and value.isdigit():
                port = int(value)
            elif name == "port protocol" and value:
                protocol = value
        if ip:
            finding.description += f"\n**IP**: {ip}"
        endpoint = ParsedEndpoint(host=host, protocol=protocol, port=port)
        finding.endpoints.append(endpoint)
        key = "|".join((endpoint_text(endpoint), finding.severity, finding.title))
        key = hashlib.sha256(f"{key}|{finding.description}".encode()).hexdigest()
        dupes.setdefault(key, finding)
    return list(dupes.values())
