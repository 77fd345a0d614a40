"""Nmap Scan as Nmap XML output (-oX), read as DefectDojo reads it.

What DefectDojo's parser does (dojo/tools/nmap/parser.py, NmapParser) and this module
mirrors:

- It refuses a document whose root is not nmaprun. The report date is nmaprun@start as a
  Unix time (DefectDojo runs in UTC); a non-integer start leaves findings undated.
- It reads the <host> children of the root and, of each, the ports/port elements whose
  state is "open"; other ports are skipped. Each open port is one endpoint of the finding
  "Open port: <portid>/<protocol>" (severity Info). Findings merge on the port number alone
  across all hosts, so the title is that of the first open port with that number in the
  file: 53/udp after 53/tcp is listed under "Open port: 53/tcp".
- The endpoint host is the first hostname of type PTR, else the host's IPv4 address.
- Ports with a vulners script (script id="vulners") add, for every vulnerability table of
  every CPE table, a finding titled with the vulnerability id (merged on that id across the
  file) at the same endpoint; its severity comes from the "cvss" element (0 Info, < 4 Low,
  < 7 Medium, < 9 High, else Critical), and a "type" of "cve" makes the id a CVE.
- Where DefectDojo's parser raises — no nmaprun@start, a host without an IPv4 address or
  without <hostnames>, a hostname without a type, a port without protocol or <state>, a
  vulners table without id or cvss, or with an empty element — this module raises
  ScanFormatError with the line: DefectDojo would answer that import with a 500.

Records, in file order: per host, per open port, the open-port record and then the port's
vulners records. A record maps to a <port> element (open-port record) or to a vulnerability
<table> inside that port's vulners script. The subset keeps the root and its metadata
(scaninfo, runstats, ...), and of each host with a kept record its addresses, hostnames,
OS and other children, and only the ports with a kept record, each with only its kept
vulnerability tables. A port cannot be sent without its own open-port finding, so keeping
any vulners record of a port also writes the port's open-port record; `write_subset`
counts it. Written alone, a port may take a different title ("Open port: 53/udp") when the
first port of its number in the original file is not in the subset.

`scope_title` is None: Nmap output names no scan (nmaprun@args is a command line and
startstr a time, either of which would make every run a new DefectDojo test), so the test
is keyed by the scan type.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Container, Iterator, Mapping, Set
from typing import BinaryIO, NamedTuple

from lxml import etree

from app.formats import shares, xmlsafe, xmlstream
from app.formats.base import HostIdentity, Record, ScanFormatError
from app.formats.shares import K

ROOT = "nmaprun"
WHAT = "an Nmap XML report (nmap -oX)"
_UNIT = "host"
_NETBIOS_NAME = re.compile(r"NetBIOS name:\s*([^,\s]+)")


class NmapXml(shares.OnePass):
    """Nmap Scan, XML output."""

    scan_type = "Nmap Scan"
    name = "nmap-xml"
    description = "Nmap XML report (nmap -oX)"

    def sniff(self, head: bytes) -> bool:
        return xmlstream.sniff_root(head, ROOT)

    def records(self, source: BinaryIO) -> Iterator[Record]:
        xmlsafe.expect_root(source, ROOT, WHAT)
        first_titles: dict[int | None, str] = {}
        index = 0
        report_date: dt.date | None = None
        for event, element in xmlstream.walk(source, root=ROOT, unit=_UNIT):
            if event == "open":
                report_date = _report_date(element)
            elif event == "unit":
                identity = _identity(element)
                for port in _open_ports(element):
                    title = f"Open port: {port.number}/{port.protocol}"
                    yield Record(
                        index=index,
                        title=first_titles.setdefault(port.number, title),
                        severity="Info",
                        host=identity,
                        port=port.number,
                        protocol=port.protocol,
                        date=report_date,
                        description=port.service,
                    )
                    index += 1
                    for vulnerability in port.vulnerabilities:
                        yield _vulnerability_record(
                            index, vulnerability, identity, port, report_date
                        )
                        index += 1

    def scope_title(self, source: BinaryIO) -> str | None:
        xmlsafe.expect_root(source, ROOT, WHAT)
        return None

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """Each share's subset, in one walk of the file: the hosts of the share's records,
        each with only the ports (and vulners tables) of those records."""
        xmlsafe.expect_root(source, ROOT, WHAT)
        keys, owner = shares.ordered(keeps)
        written = [0] * len(keys)
        index = 0

        def split(host: etree._Element) -> list[tuple[int, etree._Element]]:
            nonlocal index
            first = index
            for port in list(host.iterfind("ports/port")):
                if _is_open(port):
                    index += 1 + len(_vulnerability_tables(port))
                else:
                    _remove(port)
            slots = shares.slots_in(owner, first, index)
            parts = list(zip(slots, shares.copies(host, len(slots)), strict=True))
            for slot, copy in parts:
                written[slot] += _prune_host(copy, first, shares.Held(owner, slot))
            return parts

        xmlstream.write_units_many(
            source, [outs[key] for key in keys], root=ROOT, unit=_UNIT, split=split
        )
        return shares.keyed(keys, written)


FORMAT = NmapXml()


def _report_date(root: etree._Element) -> dt.date | None:
    start = _required(root, "start")
    try:
        return dt.datetime.fromtimestamp(int(start), tz=dt.UTC).date()
    except ValueError:
        return None
    except (OverflowError, OSError):
        raise ScanFormatError(
            f"nmaprun start {start!r} is not a usable time", line=xmlsafe.line_of(root)
        ) from None


def _identity(host: etree._Element) -> HostIdentity:
    address = host.find("address[@addrtype='ipv4']")
    if address is None:
        raise _unreadable(host, "a <host> has no IPv4 address")
    ip = _required(address, "addr")
    hostnames = host.find("hostnames")
    if hostnames is None:
        raise _unreadable(host, "a <host> has no <hostnames> element")
    names: dict[str, str] = {}
    for hostname in hostnames:
        kind = _required(hostname, "type")
        if kind in ("PTR", "user") and kind in names:
            continue
        names[kind] = _required(hostname, "name")
    mac = host.find("address[@addrtype='mac']")
    netbios = None
    for script in host.iterfind("hostscript/script[@id='nbstat']"):
        found = _NETBIOS_NAME.search(script.get("output", ""))
        netbios = found.group(1) if found else netbios
    ptr = names.get("PTR")
    return HostIdentity(
        ip=ip,
        fqdn=ptr or names.get("user") or None,
        netbios=netbios,
        mac=mac.get("addr") if mac is not None else None,
        dd_host=ptr or ip,
    )


class _Vulnerability(NamedTuple):
    """One table of a vulners script."""

    identifier: str
    severity: str
    cves: tuple[str, ...]
    summary: str


class _OpenPort(NamedTuple):
    number: int | None
    protocol: str
    service: str
    vulnerabilities: list[_Vulnerability]


def _open_ports(host: etree._Element) -> Iterator[_OpenPort]:
    """The open ports of a host with their vulners entries, in file order."""
    for port in host.iterfind("ports/port"):
        protocol = _required(port, "protocol")
        number = _port_number(port)
        if _is_open(port):
            vulnerabilities = [
                _vulnerability(component, table) for component, table in _vulnerability_tables(port)
            ]
            yield _OpenPort(number, protocol, _service(port), vulnerabilities)


def _service(port: etree._Element) -> str:
    """The detected service, e.g. "ssh: OpenSSH 7.4 (protocol 2.0)"."""
    service = port.find("service")
    if service is None:
        return ""
    product = " ".join(
        value for value in (service.get(key) for key in ("product", "version")) if value
    )
    extra = service.get("extrainfo")
    described = f"{product} ({extra})" if product and extra else product
    name = service.get("name", "")
    return f"{name}: {described}" if name and described else name or described


def _is_open(port: etree._Element) -> bool:
    state = port.find("state")
    if state is None:
        raise _unreadable(port, "a <port> has no <state>")
    return state.get("state") == "open"


def _port_number(port: etree._Element) -> int | None:
    portid = port.get("portid", "")
    if not portid.isdigit():
        return None
    try:
        return int(portid)
    except ValueError:
        raise _unreadable(port, f"port id {portid!r} is not a number") from None


def _vulnerability_tables(port: etree._Element) -> list[tuple[str, etree._Element]]:
    """(CPE, vulnerability table) of every vulners script of the port, in file order."""
    tables: list[tuple[str, etree._Element]] = []
    for script in _vulners_scripts(port):
        for component in script.iterfind("table"):
            cpe = _required(component, "key")
            tables.extend((cpe, table) for table in component.iterfind("table"))
    return tables


def _vulners_scripts(port: etree._Element) -> Iterator[etree._Element]:
    """The port's `script[@id='vulners']` children, without an ElementPath walk per port."""
    return (script for script in port.iterchildren("script") if script.get("id") == "vulners")


def _vulnerability(cpe: str, table: etree._Element) -> _Vulnerability:
    values: dict[str, str] = {}
    for element in table.iterfind("elem"):
        key = _required(element, "key").lower()
        if element.text is None:
            raise _unreadable(element, f"vulners element {key!r} is empty")
        values[key] = element.text
    if "id" not in values or "cvss" not in values:
        raise _unreadable(table, "a vulners table has no id or no cvss")
    try:
        score = float(values["cvss"])
    except ValueError:
        raise _unreadable(table, f"vulners cvss {values['cvss']!r} is not a number") from None
    identifier = values["id"]
    cves = (identifier,) if values.get("type") == "cve" else ()
    return _Vulnerability(identifier, _cvss_severity(score), cves, f"CVSS {score} in {cpe}")


def _cvss_severity(score: float) -> str:
    if score == 0.0:
        return "Info"
    if score < 4.0:
        return "Low"
    if score < 7.0:
        return "Medium"
    return "High" if score < 9.0 else "Critical"


def _vulnerability_record(
    index: int,
    vulnerability: _Vulnerability,
    host: HostIdentity,
    port: _OpenPort,
    report_date: dt.date | None,
) -> Record:
    return Record(
        index=index,
        title=vulnerability.identifier,
        severity=vulnerability.severity,
        host=host,
        port=port.number,
        protocol=port.protocol,
        date=report_date,
        scanner_id=vulnerability.identifier,
        vulnerability_ids=vulnerability.cves,
        description=vulnerability.summary,
    )


def _prune_host(host: etree._Element, first_index: int, keep: Container[int]) -> int:
    """Drop the host's open ports without a kept record and prune the others (its closed
    ports are already gone); the number of its records written."""
    index = first_index
    written = 0
    for port in list(host.iterfind("ports/port")):
        tables = _vulnerability_tables(port)
        kept_here = _prune_port(port, tables, index, keep)
        index += 1 + len(tables)
        if kept_here:
            written += kept_here
        else:
            _remove(port)
    return written


def _prune_port(
    port: etree._Element,
    tables: list[tuple[str, etree._Element]],
    first_index: int,
    keep: Container[int],
) -> int:
    """Drop the port's unkept vulnerability tables; the number of its records written."""
    kept_tables = 0
    for offset, (_, table) in enumerate(tables, start=1):
        if first_index + offset in keep:
            kept_tables += 1
        else:
            _remove(table)
    for script in list(_vulners_scripts(port)):
        for component in list(script.iterfind("table")):
            if component.find("table") is None:
                _remove(component)
    if kept_tables or first_index in keep:
        return 1 + kept_tables
    return 0


def _remove(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def _required(element: etree._Element, attribute: str) -> str:
    value = element.get(attribute)
    if value is None:
        raise _unreadable(element, f"a <{element.tag}> has no {attribute} attribute")
    return value


def _unreadable(element: etree._Element, problem: str) -> ScanFormatError:
    return ScanFormatError(
        f"{problem}; DefectDojo's Nmap parser cannot import this file",
        line=xmlsafe.line_of(element),
    )
