"""`Tenable Scan` as DefectDojo's `dojo/tools/tenable/` reads it (.nessus/.xml and .csv).

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
- the file name's extension picks the format; anything else fails (500);
- XML: one finding per severity+title across all hosts of the report; each ReportItem adds
  an endpoint (host = `host-fqdn` tag, else the ReportHost name; port only when > 0;
  protocol = cleaned `svc_name` when it is a known URL scheme, else the item's `protocol`)
  and, when it has plugin output, a "Plugin Output: <name>[:port]" block to the description;
  `cvss3_base_score` overrides the severity;
- CSV: one finding per severity+title+host+port+synopsis; the description is DefectDojo's
  HTML summary of the row followed by each row's plugin output.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sys

from lxml import etree

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError, to_float, to_int

# hyperlink's SCHEME_PORT_MAP keys: DefectDojo keeps svc_name as protocol only for these.
_SCHEMES = (
    "acap afp dict dns file ftp git gopher http https imap ipp ipps irc ircs ldap ldaps mms "
    "msrp msrps mtqp nfs nntp nntps pop prospero redis rsync rtsp rtsps rtspu sftp smb snmp "
    "ssh steam svn telnet ventrilo vnc wais ws wss xmpp"
)
URL_SCHEMES = frozenset(_SCHEMES.split())
SEVERITY_BY_ID = {4: "Critical", 3: "High", 2: "Medium", 1: "Low"}
SEVERITIES = ("Critical", "High", "Medium", "Low", "Info")
_NOT_SCHEME_CHARS = re.compile(r"[^A-Za-z0-9\-\+]+")


def parse_tenable(filename: str, content: bytes) -> list[ParsedFinding]:
    """Dispatch on the extension exactly like DefectDojo's TenableParser."""
    name = filename.lower()
    if name.endswith((".xml", ".nessus")):
        return parse_tenable_xml(content)
    if name.endswith(".csv"):
        return parse_tenable_csv(content)
    raise ParserError("Filename extension not recognized. Use .xml, .nessus or .csv")


def safe_xml_root(content: bytes) -> etree._Element:
    """Parse without entity expansion or network access; broken XML fails the import."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ParserError(str(exc)) from exc


def _text(element: etree._Element | None) -> str | None:
    """DefectDojo's `safely_get_element_text`: empty text counts as missing."""
    if element is None or not element.text:
        return None
    return str(element.text)


def _cvss_severity(score: str) -> str:
    value = float(score)
    if value >= 9.0:
        return "Critical"
    if value >= 7.0:
        return "High"
    if value >= 5.0:
        return "Medium"
    return "Low" if value > 0.0 else "Info"


def _xml_protocol(item: etree._Element) -> str:
    protocol = str(item.get("svc_name", ""))
    if protocol != "":
        protocol = _NOT_SCHEME_CHARS.sub("", protocol)
        if protocol == "www":
            protocol = "http"
        if protocol not in URL_SCHEMES:
            protocol = _NOT_SCHEME_CHARS.sub("", item.get("protocol", protocol))
    return protocol


def _impact(item: etree._Element) -> str:
    impact = ""
    if (text := _text(item.find("description"))) is not None:
        impact = text + "\n\n"
    for tag, label in (
        ("cvss", "CVSS Score"),
        ("cvssv3", "CVSSv3 Score"),
        ("cvss_vector", "CVSS Vector"),
        ("cvss3_vector", "CVSSv3 Vector"),
        ("cvss_base_score", "CVSS Base Score"),
        ("cvss_temporal_score", "CVSS Temporal Score"),
    ):
        if (text := _text(item.find(tag))) is not None:
            impact += f"{label}: {text}\n"
    return impact


def _references(item: etree._Element) -> str:
    references = ""
    for ref in item.iter("see_also"):
        if (text := _text(ref)) is not None:
            references += "".join(part + "\n" for part in text.split())
    for xref in item.iter("xref"):
        if (text := _text(xref)) is not None:
            references += text + "\n"
    return references


def parse_tenable_xml(content: bytes) -> list[ParsedFinding]:
    """Findings of a NessusClientData_v2 document, merged across hosts on severity+title."""
    root = safe_xml_root(content)
    if "NessusClientData_v2" not in str(root.tag):
        raise ParserError("This version of Nessus report is not supported.")
    dupes: dict[str, ParsedFinding] = {}
    for report in root.iter("Report"):
        for host in report.iter("ReportHost"):
            ip = host.get("name")
            fqdn = _text(host.find('.//HostProperties/tag[@name="host-fqdn"]'))
            for item in host.iter("ReportItem"):
                title = item.get("pluginName")
                raw_port = item.get("port")
                if title is None or raw_port is None:
                    raise ParserError("ReportItem without pluginName or port")
                port = raw_port if float(raw_port) > 0 else None
                protocol = _xml_protocol(item)
                description = ""
                plugin_output = None
                if (synopsis := _text(item.find("synopsis"))) is not None:
                    description = f"{synopsis}\n\n"
                if (output := _text(item.find("plugin_output"))) is not None:
                    where = f"{ip}{f':{port}' if port is not None else ''}"
                    plugin_output = f"Plugin Output: {where}\n```\n{output}\n```\n\n"
                    description += plugin_output
                severity = SEVERITY_BY_ID.get(int(item.get("severity", 0)), "Info")
                if (cvss3 := _text(item.find("cvss3_base_score"))) is not None:
                    severity = _cvss_severity(cvss3)
                key = severity + title
                finding = dupes.get(key)
                if finding is None:
                    vector = _text(item.find("cvss3_vector"))
                    if vector is not None and "CVSS:3.0/" not in vector:
                        vector = f"CVSS:3.0/{vector}"
                    finding = ParsedFinding(
                        title=title,
                        severity=severity,
                        description=description,
                        mitigation=_text(item.find("solution")) or "N/A",
                        impact=_impact(item),
                        references=_references(item),
                        cwe=to_int(_text(item.find("cwe"))),
                        cvssv3=vector,
                        cvssv3_score=to_float(_text(item.find("cvssv3"))),
                    )
                    dupes[key] = finding
                elif plugin_output is not None:
                    finding.description += f"\n\n{plugin_output}"
                if (cve := _text(item.find("cve"))) is not None:
                    finding.vulnerability_ids.append(cve)
                finding.endpoints.append(_xml_endpoint(fqdn, ip, protocol, port))
    return list(dupes.values())


def _xml_endpoint(
    fqdn: str | None, ip: str | None, protocol: str, port: str | None
) -> ParsedEndpoint:
    if fqdn is not None and "://" in fqdn:
        return ParsedEndpoint.from_uri(fqdn)
    host = fqdn or ip
    if not host:
        raise ParserError("ReportHost without a name")
    if protocol == "general":
        return ParsedEndpoint(host=host)
    return ParsedEndpoint(host=host, protocol=protocol or None, port=to_int(port))


_CSV_DESCRIPTION_COLUMNS = (
    "Plugin",
    "Plugin Name",
    "Severity",
    "IP Address",
    "Protocol",
    "Port",
    "Exploit?",
    "MAC Address",
    "DNS Name",
    "NetBIOS Name",
    "Plugin Output",
    "First Discovered",
    "Last Observed",
    "Exploit Frameworks",
    "Synopsis",
    "Description",
    "Solution",
    "See Also",
    "Risk Factor",
    "STIG Severity",
    "Vulnerability Priority Rating",
    "CVSS V2 Base Score",
    "CVSS V3 Base Score",
    "CVSS V2 Temporal Score",
    "CVSS V3 Temporal Score",
    "CVSS V2 Vector",
    "CVSS V3 Vector",
    "CPE",
    "CVE",
    "BID",
    "Cross References",
    "Vuln Publication Date",
    "Patch Publication Date",
    "Plugin Publication Date",
    "Plugin Modification Date",
    "Exploit Ease",
    "Check Type",
    "Version",
    "Custom Id",
)


def _csv_description(row: dict[str, str]) -> str:
    return "".join(
        f"<p><strong>{column}:</strong> {row.get(column, '')}</p>"
        for column in _CSV_DESCRIPTION_COLUMNS
    )


def _csv_severity(raw: str) -> str:
    with contextlib.suppress(ValueError):
        return SEVERITY_BY_ID.get(int(raw), "Info")
    severity = raw.title() if raw else "Info"
    return severity if severity in SEVERITIES else "Info"


def _csv_text(value: str | None) -> str:
    """DefectDojo concatenates these cells; a missing cell (short row) crashes it."""
    if value is None:
        raise ParserError("short CSV row")
    return value


def parse_tenable_csv(content: bytes) -> list[ParsedFinding]:
    """Findings of a Tenable/Nessus CSV export (no merge across hosts)."""
    text = content.decode("utf-8")
    delimiter = ";" if ";" in text.split("\n")[0] else ","
    csv.field_size_limit(int(sys.maxsize / 10))
    dupes: dict[str, ParsedFinding] = {}
    for row in csv.DictReader(io.StringIO(text), delimiter=delimiter):
        title = row.get("Name", row.get("Plugin Name", row.get("asset.name")))
        if not title:
            continue
        raw_severity = row.get("Risk", row.get("severity", ""))
        if raw_severity == "":
            raw_severity = row.get("Severity", "Info")
        severity = _csv_severity(_csv_text(raw_severity))
        key = (
            severity
            + title
            + _csv_text(row.get("Host", row.get("asset.host_name", "No host")))
            + str(row.get("Port", row.get("asset.port", "No port")))
            + _csv_text(row.get("Synopsis", row.get("definition.synopsis", "No synopsis")))
        )
        finding = dupes.get(key)
        if finding is None:
            references = _csv_text(row.get("See Also", row.get("definition.see_also", "N/A")))
            references += "\nTenable Plugin ID: " + _csv_text(row.get("Plugin", "N/A"))
            references += "\nPlugin Publication Date: " + _csv_text(
                row.get("Plugin Publication Date", "N/A")
            )
            references += "\nPlugin Modification Date: " + _csv_text(
                row.get("Plugin Modification Date", "N/A")
            )
            vector = row.get("CVSS V3 Vector", "")
            score = row.get("CVSSv3", row.get("definition.cvss3.base_score", ""))
            finding = ParsedFinding(
                title=title,
                severity=severity,
                description=_csv_description(row),
                mitigation=str(
                    row.get(
                        "Solution",
                        row.get("definition.solution", row.get("Steps to Remediate", "N/A")),
                    )
                ),
                impact=row.get("Description", row.get("definition.description", "N/A")),
                references=references,
                cvssv3=f"CVSS:3.0/{vector}" if vector else None,
                cvssv3_score=to_float(score) if score else None,
            )
            dupes[key] = finding
        plugin_output = str(row.get("Plugin Output", row.get("output", "")))
        if plugin_output != "":
            finding.description += f"\n\n{plugin_output}"
        cves = re.findall(
            r"CVE-[0-9]+-[0-9]+", str(row.get("CVE", row.get("definition.cve", ""))).upper()
        )
        finding.vulnerability_ids.extend(cves)
        finding.endpoints.append(_csv_endpoint(row))
    return list(dupes.values())


def _csv_endpoint(row: dict[str, str]) -> ParsedEndpoint:
    host = row.get("Host", row.get("asset.host_name", "")) or row.get("DNS Name", "")
    if host == "":
        host = row.get("IP Address", "localhost")
    if "://" in host:
        return ParsedEndpoint.from_uri(host)
    protocol = row.get("Protocol", row.get("protocol", ""))
    port = str(row.get("Port", row.get("asset.port", "")))
    return ParsedEndpoint(
        host=host,
        protocol=protocol.lower() if protocol else None,
        port=None if port in ("", "0") else to_int(port),
    )
