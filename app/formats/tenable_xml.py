"""Tenable Scan as a Nessus v2 XML report (.nessus), read as DefectDojo reads it.

What DefectDojo's parser does (dojo/tools/tenable/xml_format.py, TenableXMLParser) and this
module mirrors:

- It refuses a document whose root is not NessusClientData_v2.
- It skips no item: every ReportItem of every ReportHost becomes one endpoint of a finding.
  Findings are merged across the whole file on severity + pluginName, so one finding holds
  the endpoints of many hosts (nessus_v_unknown.xml: 296 items, 32 findings). A record here
  is one ReportItem — one (finding, endpoint) pair — carrying the finding's title/severity.
- Endpoint host: the text of the host's first HostProperties tag "host-fqdn" when it is not
  empty, else ReportHost@name; a host-fqdn holding a URL ("://") gives the URL's host,
  scheme and port (default port of the scheme when none is written).
- Port: ReportItem@port when greater than 0, else none.
- Protocol: svc_name with everything but [A-Za-z0-9+-] removed, "www" read as "http"; a
  name that is not a URL scheme known to the hyperlink library is replaced by
  ReportItem@protocol (cleaned the same way). A resulting "general" gives an endpoint with
  neither protocol nor port.
- Severity: ReportItem@severity 4/3/2/1 is Critical/High/Medium/Low, anything else Info;
  a non-empty cvss3_base_score overrides it (>= 9 Critical, >= 7 High, >= 5 Medium, > 0 Low,
  else Info).
- Vulnerability ids: the text of the item's first <cve> only. No date is set (DefectDojo
  dates the findings on import); records carry the host's scan start for the list.
- Where DefectDojo's parser would raise (an item without a numeric port, a non-integer
  severity, no pluginName, a non-numeric cvss3_base_score) this module raises
  ScanFormatError with the line: DefectDojo would answer that import with a 500.

DefectDojo finds Reports, hosts and items at any depth; this module reads the shape every
Nessus version writes — NessusClientData_v2/Report/ReportHost/ReportItem, each a direct
child — and treats anything nested elsewhere as metadata, copied but not counted.

The subset keeps the root, Policy and every Report with its attributes, and of each
ReportHost its HostProperties and the kept ReportItems; a host with no kept item is left out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Set
from contextlib import closing
from copy import deepcopy
from typing import BinaryIO, NamedTuple, TypeVar
from urllib.parse import urlsplit

from lxml import etree

from app.formats import shares, xmlsafe, xmlstream
from app.formats.base import HostIdentity, Record, ScanFormatError
from app.formats.hostnames import is_ip

ROOT = "NessusClientData_v2"
WHAT = "a Nessus v2 XML report (.nessus)"
DESCRIPTION_CHARS = 500

_LEVELS = {4: "Critical", 3: "High", 2: "Medium", 1: "Low"}
_NOT_SCHEME_CHARS = re.compile(r"[^A-Za-z0-9\-+]+")
# hyperlink's SCHEME_PORT_MAP, which DefectDojo consults for svc_name.
_SCHEME_PORTS: dict[str, int | None] = {
    "acap": 674, "afp": 548, "dict": 2628, "dns": 53, "file": None, "ftp": 21,
    "git": 9418, "gopher": 70, "http": 80, "https": 443, "imap": 143, "ipp": 631,
    "ipps": 631, "irc": 194, "ircs": 6697, "ldap": 389, "ldaps": 636, "mms": 1755,
    "msrp": 2855, "msrps": None, "mtqp": 1038, "nfs": 111, "nntp": 119, "nntps": 563,
    "pop": 110, "prospero": 1525, "redis": 6379, "rsync": 873, "rtsp": 554,
    "rtsps": 322, "rtspu": 5005, "sftp": 22, "smb": 445, "snmp": 161, "ssh": 22,
    "steam": None, "svn": 3690, "telnet": 23, "ventrilo": 3784, "vnc": 5900,
    "wais": 210, "ws": 80, "wss": 443, "xmpp": None,
}  # fmt: skip
_CONTAINERS = ("Report",)
_UNIT = "ReportHost"
_K = TypeVar("_K")


class TenableXml:
    """Tenable Scan, .nessus v2 XML."""

    scan_type = "Tenable Scan"
    name = "tenable-xml"
    description = "Nessus v2 XML report (.nessus)"

    def sniff(self, head: bytes) -> bool:
        return xmlstream.sniff_root(head, ROOT)

    def records(self, source: BinaryIO) -> Iterator[Record]:
        xmlsafe.expect_root(source, ROOT, WHAT)
        index = 0
        for host in _hosts(source):
            facts = _host_facts(host)
            for item in host.iterchildren("ReportItem"):
                yield _record(index, item, facts)
                index += 1

    def scope_title(self, source: BinaryIO) -> str | None:
        xmlsafe.expect_root(source, ROOT, WHAT)
        events = xmlstream.walk(source, root=ROOT, unit=_UNIT, containers=_CONTAINERS)
        with closing(events):
            for event, element in events:
                if event == "open" and element.tag == "Report":
                    return element.get("name") or None
        return None

    def write_subset(self, source: BinaryIO, keep: Set[int], out: BinaryIO) -> int:
        xmlsafe.expect_root(source, ROOT, WHAT)
        index = 0
        written = 0

        def select(host: etree._Element) -> bool:
            nonlocal index, written
            kept_here = 0
            for item in list(host.iterchildren("ReportItem")):
                if index in keep:
                    kept_here += 1
                else:
                    host.remove(item)
                index += 1
            written += kept_here
            return kept_here > 0

        xmlstream.write_units(
            source, out, root=ROOT, unit=_UNIT, containers=_CONTAINERS, select=select
        )
        return written

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[_K, Set[int]], outs: Mapping[_K, BinaryIO]
    ) -> dict[_K, int]:
        """`write_subset` for several disjoint shares at once, in one walk of the file.

        Each ReportHost goes, pruned to its items, to every share holding one of them (a
        copy per share when several do). Raises ValueError when the shares overlap.
        """
        xmlsafe.expect_root(source, ROOT, WHAT)
        keys, owner = shares.ordered(keeps)
        written = [0] * len(keys)
        index = 0

        def split(host: etree._Element) -> list[tuple[int, etree._Element]]:
            nonlocal index
            items = list(host.iterchildren("ReportItem"))
            slots: dict[int, list[int]] = {}
            for position in range(len(items)):
                slot = owner[index] if index < len(owner) else -1
                index += 1
                if slot >= 0:
                    slots.setdefault(slot, []).append(position)
            parts = []
            for slot, positions in slots.items():
                copy = host if len(slots) == 1 else deepcopy(host)
                kept = set(positions)
                for position, item in enumerate(list(copy.iterchildren("ReportItem"))):
                    if position not in kept:
                        copy.remove(item)
                written[slot] += len(positions)
                parts.append((slot, copy))
            return parts

        xmlstream.write_units_many(
            source,
            [outs[key] for key in keys],
            root=ROOT,
            unit=_UNIT,
            containers=_CONTAINERS,
            split=split,
        )
        return shares.keyed(keys, written)


FORMAT = TenableXml()


def _hosts(source: BinaryIO) -> Iterator[etree._Element]:
    return xmlstream.units(source, root=ROOT, unit=_UNIT, containers=_CONTAINERS)


class _HostFacts(NamedTuple):
    identity: HostIdentity
    scanned_on: dt.date | None
    url_endpoint: tuple[int | None, str | None] | None
    """Port and protocol of every endpoint of a host whose host-fqdn is a URL."""


def _host_facts(host: etree._Element) -> _HostFacts:
    """The host's identity (with DefectDojo's endpoint host) and scan date."""
    properties: dict[str, str] = {}
    for block in host.iter("HostProperties"):
        for tag in block.iterchildren("tag"):
            key = tag.get("name")
            # DefectDojo reads the first tag of a name, empty or not.
            if key is not None and key not in properties:
                properties[key] = tag.text or ""
    name = host.get("name")
    fqdn_text = properties.get("host-fqdn") or None
    dd_host = fqdn_text or name
    url_endpoint = None
    if fqdn_text is not None and "://" in fqdn_text:
        dd_host, scheme, port = _url_parts(fqdn_text)
        url_endpoint = (port, scheme)
    name_is_ip = name is not None and is_ip(name)
    mac = properties.get("mac-address", "").split()
    identity = HostIdentity(
        ip=properties.get("host-ip") or (name if name_is_ip else None),
        fqdn=fqdn_text or (None if name_is_ip else name),
        netbios=properties.get("netbios-name") or None,
        mac=mac[0] if mac else None,
        dd_host=dd_host or None,
    )
    return _HostFacts(identity, _scan_date(properties), url_endpoint)


def _record(index: int, item: etree._Element, host: _HostFacts) -> Record:
    title = item.get("pluginName")
    if title is None:
        raise ScanFormatError("a ReportItem has no pluginName", line=xmlsafe.line_of(item))
    port, protocol = host.url_endpoint or _endpoint_port(item)
    texts = _first_texts(item)
    cve = texts.get("cve")
    summary = texts.get("synopsis") or texts.get("description") or ""
    return Record(
        index=index,
        title=title,
        severity=_severity(item, texts.get("cvss3_base_score")),
        host=host.identity,
        port=port,
        protocol=protocol,
        date=host.scanned_on,
        scanner_id=item.get("pluginID"),
        vulnerability_ids=(cve,) if cve else (),
        description=summary[:DESCRIPTION_CHARS],
    )


_TEXT_TAGS = frozenset({"cve", "synopsis", "description", "cvss3_base_score"})


def _first_texts(item: etree._Element) -> dict[str, str]:
    """The text of the first child of each tag the record reads, as `findtext` gives it.

    One walk over the item's children instead of a `findtext` per tag: this is the
    innermost loop of a 1 GB file, and each `findtext` walks the children again.
    """
    texts: dict[str, str] = {}
    for child in item.iterchildren(*_TEXT_TAGS):
        tag = child.tag
        if tag not in texts:
            texts[str(tag)] = child.text or ""
    return texts


def _severity(item: etree._Element, cvss3: str | None) -> str:
    level = item.get("severity", "0")
    try:
        severity = _LEVELS.get(int(level), "Info")
    except ValueError:
        raise ScanFormatError(
            f"ReportItem severity {level!r} is not an integer", line=xmlsafe.line_of(item)
        ) from None
    if not cvss3:
        return severity
    try:
        score = float(cvss3)
    except ValueError:
        raise ScanFormatError(
            f"cvss3_base_score {cvss3!r} is not a number", line=xmlsafe.line_of(item)
        ) from None
    if score >= 9.0:
        return "Critical"
    if score >= 7.0:
        return "High"
    if score >= 5.0:
        return "Medium"
    return "Low" if score > 0.0 else "Info"


def _endpoint_port(item: etree._Element) -> tuple[int | None, str | None]:
    """The port and protocol of the endpoint DefectDojo creates for this item."""
    port_text = item.get("port")
    try:
        number = float(port_text) if port_text is not None else None
    except ValueError:
        number = None
    if number is None:
        raise ScanFormatError(
            f"ReportItem port {port_text!r} is not a number", line=xmlsafe.line_of(item)
        )
    protocol = _protocol(item)
    if protocol == "general":
        return None, None
    return (int(number) if number > 0 else None), (protocol or None)


def _protocol(item: etree._Element) -> str:
    service = item.get("svc_name", "")
    if not service:
        return ""
    protocol = _NOT_SCHEME_CHARS.sub("", service)
    if protocol == "www":
        protocol = "http"
    if protocol not in _SCHEME_PORTS:
        protocol = _NOT_SCHEME_CHARS.sub("", item.get("protocol", protocol))
    return protocol


def _url_parts(url: str) -> tuple[str | None, str | None, int | None]:
    """Host, scheme and port (explicit or the scheme's default) of a URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme or None
    if port is None and scheme is not None:
        port = _SCHEME_PORTS.get(scheme)
    return parts.hostname, scheme, port


def _scan_date(properties: dict[str, str]) -> dt.date | None:
    stamp = properties.get("HOST_START_TIMESTAMP", "").strip()
    if stamp.isdigit():
        try:
            return dt.datetime.fromtimestamp(int(stamp), tz=dt.UTC).date()
        except (OverflowError, OSError, ValueError):
            return None
    started = properties.get("HOST_START", "").strip()
    try:
        return dt.datetime.strptime(started, "%a %b %d %H:%M:%S %Y").date()
    except ValueError:
        return None
