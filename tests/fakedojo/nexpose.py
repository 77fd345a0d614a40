"""`Nexpose Scan` (XML Export 2.0) as DefectDojo's `dojo/tools/nexpose/parser.py` reads it.

Read from DefectDojo's source, rewritten here so the double is an independent oracle:
- definitions: each `vulnerability` of the root's `VulnerabilityDefinitions`, keyed by
  lower-cased `id`; severity 9+ Critical, 7+ High, 4+ Medium, 1-3 Low, else Info; the last
  `reference source="CVE"` is the vulnerability id;
- per `nodes/node` (host = `address`): its `tests/test` whose raw `id` is a key and whose
  status is vulnerable-exploited/-version/-potential, then "Host Up" (Info), all on an
  endpoint without port; per `endpoints/endpoint`, the tests of its *last* service plus
  "Open port TCP/443", on an endpoint with the port and, as protocol, the service name when
  it is a URL scheme (hyperlink's list) else the endpoint's protocol (a DNS service also
  keeps the transport as fragment);
- findings merge across hosts on severity + title.
An endpoint without a numeric port, a protocol or a service, a service without a name, and
definitions without `id` or a numeric `severity` crash the parser.
"""

from __future__ import annotations

from lxml import etree

from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding, ParserError
from tests.fakedojo.scanread import children, required
from tests.fakedojo.tenable import URL_SCHEMES, safe_xml_root

VULNERABLE = frozenset({"vulnerable-exploited", "vulnerable-version", "vulnerable-potential"})
Definition = tuple[str, str, str | None]
"""(title, severity, CVE) of a vulnerability definition."""


def _severity(raw: str | None) -> str:
    try:
        value = int(required(raw, "severity of a definition"))
    except ValueError as exc:
        raise ParserError(f"definition severity {raw!r}") from exc
    if value >= 9:
        return "Critical"
    if value >= 7:
        return "High"
    if value >= 4:
        return "Medium"
    return "Low" if 0 < value < 4 else "Info"


def _definitions(root: etree._Element) -> dict[str, Definition]:
    definitions: dict[str, Definition] = {}
    for block in root.findall("VulnerabilityDefinitions"):
        for vulnerability in block.findall("vulnerability"):
            vid = required(vulnerability.get("id"), "id of a definition").lower()
            cve = None
            for item in children(vulnerability):
                for child in children(item):
                    if item.tag == "references":
                        source = required(child.get("source"), "source of a reference")
                        cve = str(child.text).strip() if source == "CVE" else cve
                    elif item.tag == "tags":
                        required(child.text, "text of a tag")
            severity = _severity(vulnerability.get("severity"))
            definitions[vid] = (str(vulnerability.get("title")), severity, cve)
    return definitions


def _tests(node: etree._Element, definitions: dict[str, Definition]) -> list[Definition]:
    return [
        definitions[str(test.get("id")).lower()]
        for tests in node.findall("tests")
        for test in tests.findall("test")
        if test.get("id") in definitions and test.get("status") in VULNERABLE
    ]


def _services(
    endpoint: etree._Element, port: int, definitions: dict[str, Definition]
) -> tuple[list[Definition], str]:
    """The last service's findings (its tests and "Open port") and its lower-cased name."""
    protocol = required(endpoint.get("protocol"), "protocol of an endpoint")
    found: tuple[list[Definition], str] | None = None
    for services in endpoint.findall("services"):
        for service in services.findall("service"):
            name = required(service.get("name"), "name of a service")
            for config in service.findall("configurations/config"):
                required(config.get("name"), "name of a service configuration")
            vulns = _tests(service, definitions)
            vulns.append((f"Open port {protocol.upper()}/{port}", "Info", None))
            found = (vulns, name.lower())
    return required(found, "service of an endpoint")


def parse_nexpose(filename: str, content: bytes) -> list[ParsedFinding]:
    """Findings of a Nexpose XML 2.0 report, merged across hosts on severity + title."""
    root = safe_xml_root(content)
    definitions = _definitions(root)
    dupes: dict[str, ParsedFinding] = {}

    def add(vuln: Definition, endpoint: ParsedEndpoint) -> None:
        title, severity, cve = vuln
        finding = dupes.get(severity + title)
        if finding is None:
            finding = ParsedFinding(
                title=title,
                severity=severity,
                description="",
                vulnerability_ids=[cve] if cve else [],
            )
            dupes[severity + title] = finding
        finding.endpoints.append(endpoint)

    for nodes in root.findall("nodes"):
        for node in nodes.findall("node"):
            address = node.get("address") or ""
            for vuln in [*_tests(node, definitions), ("Host Up", "Info", None)]:
                add(vuln, ParsedEndpoint(host=address))
            services = []
            for endpoints in node.findall("endpoints"):
                for endpoint in endpoints.findall("endpoint"):
                    try:
                        port = int(required(endpoint.get("port"), "port of an endpoint"))
                    except ValueError as exc:
                        raise ParserError("endpoint port is not a number") from exc
                    vulns, name = _services(endpoint, port, definitions)
                    transport = str(endpoint.get("protocol"))
                    services.append((vulns, name, port, transport))
            for vulns, name, port, transport in services:
                target = ParsedEndpoint(
                    host=address,
                    port=port,
                    protocol=name if name in URL_SCHEMES else transport,
                    fragment=transport.lower() if name == "dns" else None,
                )
                for vuln in vulns:
                    add(vuln, target)
    return list(dupes.values())
