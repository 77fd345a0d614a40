"""`Nmap Scan` (XML, `-oX`) as DefectDojo's `dojo/tools/nmap/parser.py` reads it.

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
one Info finding "Open port: <port>/<protocol>" per port number, merged across hosts
(key "nmap:<port>"), only for ports in state `open`; endpoint host = PTR hostname, else the
IPv4 address (a host without an IPv4 address, or without a `hostnames` element, fails the
import as it does in DefectDojo); `vulners` script tables become findings of their own,
titled by the vulnerability id and merged on it.
"""

from __future__ import annotations

import datetime as dt

from lxml import etree

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError
from tests.fakedojo.tenable import safe_xml_root


def _cvss_severity(raw: str) -> str:
    value = float(raw)
    if value == 0.0:
        return "Info"
    if value < 4.0:
        return "Low"
    if value < 7.0:
        return "Medium"
    return "High" if value < 9.0 else "Critical"


def _host_info(host: etree._Element) -> tuple[str, str]:
    """The host block DefectDojo puts in front of every port description, and the host."""
    address = host.find("address[@addrtype='ipv4']")
    hostnames = host.find("hostnames")
    if address is None or hostnames is None:
        raise ParserError("nmap host without IPv4 address or hostnames")
    ip = str(address.attrib["addr"])
    info = f"### Host\n\n**IP Address:** {ip}\n"
    ptr = host.find("hostnames/hostname[@type='PTR']")
    fqdn = str(ptr.attrib["name"]) if ptr is not None else None
    if fqdn is not None:
        info += f"**FQDN:** {fqdn}\n"
    user = host.find("hostnames/hostname[@type='user']")
    if user is not None:
        info += f"**URL:** {user.get('name')}\n"
    for name in hostnames:
        if name.get("type") not in {"user", "PTR"}:
            info += f"**{name.get('type')}:** {name.get('name')}\n"
    info += "\n\n"
    for os_element in host.iter("os"):
        for match in os_element.iter("osmatch"):
            if "name" in match.attrib:
                info += f"**Host OS:** {match.get('name')}\n"
            if "accuracy" in match.attrib:
                info += f"**Accuracy:** {match.get('accuracy')}%\n"
        info += "\n\n"
    return info, fqdn or ip


def _port_description(port_element: etree._Element, port: int | None, protocol: str) -> str:
    description = f"**Port/Protocol:** {port}/{protocol}\n"
    service = port_element.find("service")
    if service is not None:
        description += "\n\n"
        for attribute, label in (
            ("product", "Product"),
            ("version", "Version"),
            ("extrainfo", "Extra Info"),
        ):
            if attribute in service.attrib:
                description += f"**{label}:** {service.get(attribute)}\n"
    script = port_element.find("script")
    # DefectDojo tests the element's truth value, which is false for a childless element.
    if script is not None and len(script) > 0:
        if script_id := script.get("id"):
            description += f"**Script ID:** {script_id}\n"
        if script_output := script.get("output"):
            description += f"**Script Output:** {script_output}\n"
    return description + "\n\n"


def parse_nmap(filename: str, content: bytes) -> list[ParsedFinding]:
    """Findings of an Nmap XML report, one per open port number across all hosts."""
    root = safe_xml_root(content)
    if "nmaprun" not in str(root.tag):
        raise ParserError("This doesn't seem to be a valid Nmap xml file.")
    report_date = None
    start = root.get("start")
    if start is not None and start.isdigit():
        report_date = dt.datetime.fromtimestamp(int(start), tz=dt.UTC).date()
    dupes: dict[str, ParsedFinding] = {}
    for host in root.findall("host"):
        host_info, host_name = _host_info(host)
        for port_element in host.findall("ports/port"):
            protocol = str(port_element.attrib["protocol"])
            portid = port_element.get("portid", "")
            port = int(portid) if portid.isdigit() else None
            endpoint = ParsedEndpoint(host=host_name, protocol=protocol, port=port)
            state = port_element.find("state")
            if state is None or state.get("state") != "open":
                continue
            description = host_info + _port_description(port_element, port, protocol)
            for vulners in port_element.findall('script[@id="vulners"]'):
                _vulners(dupes, vulners, endpoint, report_date)
            key = f"nmap:{port}"
            finding = dupes.get(key)
            if finding is None:
                script = port_element.find("script")
                finding = ParsedFinding(
                    title=f"Open port: {port}/{protocol}",
                    severity="Info",
                    description=description,
                    mitigation="N/A",
                    impact="No impact provided",
                    vuln_id_from_tool=script.get("id")
                    if script is not None and len(script) > 0
                    else None,
                    date=report_date,
                )
                dupes[key] = finding
            else:
                finding.description += description
            finding.endpoints.append(endpoint)
    return list(dupes.values())


def _vulners(
    dupes: dict[str, ParsedFinding],
    script: etree._Element,
    endpoint: ParsedEndpoint,
    report_date: dt.date | None,
) -> None:
    for component in script.findall("table"):
        cpe = str(component.attrib["key"])
        for vuln in component.findall("table"):
            attributes = {
                str(elem.attrib["key"]).lower(): str(elem.text) for elem in vuln.findall("elem")
            }
            vuln_id = attributes["id"]
            description = f"### Vulnerability\n\n**ID**: `{vuln_id}`\n**CPE**: {cpe}\n"
            description += "".join(f"**{key}**: `{value}`\n" for key, value in attributes.items())
            existing = dupes.get(vuln_id)
            if existing is not None:
                existing.description += "\n-----\n\n" + description
                existing.endpoints.append(endpoint)
                continue
            dupes[vuln_id] = ParsedFinding(
                title=vuln_id,
                severity=_cvss_severity(attributes["cvss"]),
                description=description,
                vuln_id_from_tool=vuln_id,
                vulnerability_ids=[vuln_id] if attributes.get("type") == "cve" else [],
                date=report_date,
                endpoints=[endpoint],
            )
