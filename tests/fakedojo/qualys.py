"""`Qualys Scan` as DefectDojo's `dojo/tools/qualys/` (parser.py, csv_parser.py) reads it.

Read from DefectDojo's source (default settings: legacy severity parsing, last-seen dates),
rewritten here so the double is an independent oracle:
- a file name ending in `.csv` (any case) is read as CSV, anything else as XML;
- XML (asset data report): every `VULN_INFO` of every child of the root's `HOST_LIST` is its
  own finding (nothing merged), titled "QID-<n> | <TITLE>" from the glossary entry
  `VULN_DETAILS[@id]` found anywhere in the document; its endpoint is the host's `DNS` when
  not empty, else its `IP`, without port. Severity from the glossary's `SEVERITY`
  (1 "Informational", which the importer stores as Info, ... 5 Critical). A QID missing from
  the glossary, or an entry without `TITLE`, `SOLUTION` or `IMPACT`, crashes the parser;
- CSV: rows whose "Title" is set and is not "Title" (or whose "VULN TITLE" is set) are read;
  rows merge into one finding per "QID" (title and severity of the QID's first row), each
  row adding its endpoint: "FQDN" parsed as a URL (a bare name has no host), else "DNS",
  else "IP".
Parser-provided statuses (fixed detections are parsed as mitigated) are not modelled.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlsplit

from lxml import etree

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError, to_float
from tests.fakedojo.scanread import children, required
from tests.fakedojo.tenable import safe_xml_root

XML_SEVERITY = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
CSV_SEVERITY = {"1": "Info", "2": "Low", "3": "Medium", "4": "High", "5": "Critical"}
_XML_TIME = "%Y-%m-%dT%H:%M:%SZ"
_CSV_TIME = "%m/%d/%Y %H:%M:%S"


def parse_qualys(filename: str, content: bytes) -> list[ParsedFinding]:
    """Dispatch on the extension exactly like DefectDojo's QualysParser."""
    if filename.lower().endswith(".csv"):
        return parse_qualys_csv(content)
    return parse_qualys_xml(content)


def _strptime(text: str, layout: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, layout)
    except ValueError as exc:
        raise ParserError(f"unreadable time {text!r}") from exc


def _split_cvss(value: str | None) -> float | None:
    """The score of a CVSS cell as DefectDojo splits it ("8.2" or "9.0 (AV:N/...)")."""
    if value is None or value in ("", "-"):
        return None
    if len(value) > 4 and len(value.split(" (")) < 2:
        raise ParserError(f"CVSS {value!r} has no vector to split off")
    return to_float(value.split(" (")[0])


def parse_qualys_xml(content: bytes) -> list[ParsedFinding]:
    """One finding per detection of each host."""
    root = safe_xml_root(content)
    host_list = root.find("HOST_LIST")
    if host_list is None:
        return []
    findings: list[ParsedFinding] = []
    for host in children(host_list):
        dns = host.findtext("DNS")
        endpoint = ParsedEndpoint(host=(dns if dns else host.findtext("IP")) or "")
        for detection in host.iterfind("VULN_INFO_LIST/VULN_INFO"):
            findings.append(_xml_finding(root, detection, endpoint))
    return findings


def _xml_finding(
    root: etree._Element, detection: etree._Element, endpoint: ParsedEndpoint
) -> ParsedFinding:
    qid = required(detection.find("QID"), "QID of a detection").get("id")
    if qid is None:
        raise ParserError("QID without id")
    date = None
    if last_found := detection.findtext("LAST_FOUND"):
        try:
            date = dt.datetime.strptime(last_found, _XML_TIME).date()
        except ValueError:
            date = None
    status = detection.findtext("VULN_STATUS")
    last_fixed = detection.findtext("LAST_FIXED")
    if status not in ("Active", "Re-Opened", "New") and last_fixed is not None:
        _strptime(last_fixed, _XML_TIME)
    score = _split_cvss(detection.findtext("CVSS3_FINAL"))
    if score is None and detection.findtext("CVSS3_FINAL") in (None, "-"):
        score = _split_cvss(detection.findtext("CVSS_FINAL"))
    details = root.find(f".//GLOSSARY/VULN_DETAILS_LIST/VULN_DETAILS[@id='{qid}']")
    details = required(details, f"glossary entry {qid}")
    title = required(details.findtext("TITLE"), f"TITLE of {qid}")
    required(details.findtext("SOLUTION"), f"SOLUTION of {qid}")
    required(details.findtext("IMPACT"), f"IMPACT of {qid}")
    if score is None:
        base = details.findtext("CVSS3_SCORE/CVSS3_BASE")
        score = _split_cvss(base if base not in (None, "-") else details.findtext("CVSS_FINAL"))
    raw_severity = details.findtext("SEVERITY") or "-1"
    try:
        severity = XML_SEVERITY.get(int(raw_severity), "Informational")
    except ValueError as exc:
        raise ParserError(f"SEVERITY {raw_severity!r} of {qid}") from exc
    return ParsedFinding(
        title=f"QID-{qid[4:]} | {title}",
        severity=severity,
        description=str(details.findtext("THREAT")),
        date=date,
        vuln_id_from_tool=qid,
        cvssv3_score=score,
        vulnerability_ids=[
            cve
            for entry in details.findall("CVE_ID_LIST/CVE_ID")
            if (cve := entry.findtext("ID")) is not None
        ],
        endpoints=[endpoint],
    )


def _column(row: dict[str, str], name: str) -> str:
    """`row[name]`: a column missing from the header is DefectDojo's KeyError (500)."""
    if name not in row:
        raise ParserError(f"no {name!r} column")
    return row[name] or ""


def _csv_endpoint(row: dict[str, str]) -> ParsedEndpoint:
    """ "FQDN" through `Endpoint.from_uri` (a bare name parses as a path: no host), else
    "DNS", else "IP"."""
    if fqdn := row.get("FQDN"):
        if urlsplit(fqdn).hostname:
            return ParsedEndpoint.from_uri(fqdn)
        return ParsedEndpoint(host="", path=fqdn)
    if dns := row.get("DNS"):
        return ParsedEndpoint(host=dns)
    return ParsedEndpoint(host=_column(row, "IP"))


def _csv_finding(row: dict[str, str]) -> ParsedFinding:
    """The finding the first row of a QID makes."""
    if "CVSS3 Base" in row:
        _column(row, "CVSS3 Temporal")
    elif "CVSS3.1 Base" in row:
        _column(row, "CVSS3.1 Temporal")
    else:
        raise ParserError("no CVSS3 Base or CVSS3.1 Base column")
    for column in ("Solution", "Impact", "Vuln Status"):
        _column(row, column)
    if fixed := _column(row, "Date Last Fixed"):
        _strptime(fixed, _CSV_TIME)
    date = None
    if last := row.get("Last Detected"):
        try:
            date = dt.datetime.strptime(last, _CSV_TIME).date()
        except ValueError:
            date = None
    return ParsedFinding(
        title=f"QID-{row['QID']} | {row['Title']}",
        severity=CSV_SEVERITY.get(_column(row, "Severity"), "Info"),
        description=_column(row, "Threat"),
        date=date,
        vuln_id_from_tool=row["QID"],
    )


def _pci_finding(row: dict[str, str]) -> ParsedFinding:
    """The finding the first row of a QID makes in the PCI export's shape."""
    for column in ("SOLUTION", "IMPACT"):
        _column(row, column)
    return ParsedFinding(
        title=f"QID-{row['QID']} | {row['VULN TITLE']}",
        severity=_column(row, "SEVERITY"),
        description=_column(row, "THREAT"),
        vuln_id_from_tool=row["QID"],
    )


def _cves(row: dict[str, str]) -> list[str]:
    cves = row.get("CVE ID", row.get("CVEID", ""))
    if cves is None:
        raise ParserError("short row: no CVE cell")
    return [cve.strip() for cve in cves.split(",")] if cves else []


def parse_qualys_csv(content: bytes) -> list[ParsedFinding]:
    """One finding per QID, with an endpoint per row."""
    reader = csv.DictReader(io.StringIO(content.decode("utf-8")), delimiter=",", quotechar='"')
    findings: dict[str, ParsedFinding] = {}
    for row in reader:
        if not ((row.get("Title") and row["Title"] != "Title") or row.get("VULN TITLE")):
            continue
        endpoint = _csv_endpoint(row)
        cves = _cves(row)
        qid = _column(row, "QID")
        finding = findings.get(qid)
        if finding is None:
            finding = _csv_finding(row) if row.get("Title") else _pci_finding(row)
            findings[qid] = finding
        finding.vulnerability_ids += cves
        finding.endpoints.append(endpoint)
    return list(findings.values())
