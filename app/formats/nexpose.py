"""Nexpose / InsightVM "XML Export 2.0" reports, DefectDojo scan type "Nexpose Scan".

What DefectDojo does, read from `dojo/tools/nexpose/parser.py`, and what this module mirrors:

- Vulnerability definitions are the `<vulnerability>` children of the root's
  `<VulnerabilityDefinitions>`, keyed by lower-cased `id`. Severity from `severity`: 9 and up
  Critical, 7-8 High, 4-6 Medium, 1-3 Low, else Info. Title: `title`. CVE: the last
  `<reference source="CVE">`.
- Hosts are the `<node>` children of the root's `<nodes>`; the endpoint host (`dd_host`) is
  always `node@address`, with no port for node-level findings.
- Per node, in this order: every `tests/test` whose `id` is a definition key and whose
  `status` is vulnerable-exploited, -version or -potential; then a "Host Up" (Info) finding;
  then for each `endpoints/endpoint`, the tests of its *last* `services/service` (DD keeps only
  the last service's list) and an "Open port TCP/443"-style (Info) finding, on an endpoint
  with the node's address and `endpoint@port`. The endpoint's protocol is the service name
  when it is a URL scheme DD knows (http, ssh, dns...), else `endpoint@protocol`.
- DD merges findings across hosts by severity + title, so one DD finding has many endpoints;
  a record is one (finding, host) occurrence, and the set of (title, host) pairs is DD's.

Files DD's parser would crash on are refused with the line: a definition without `id`, with
a non-numeric `severity`, a reference without `source` or an empty tag; an endpoint without
a numeric `port`, without a `protocol` or without any service; a service without `name`; a
service configuration without `name`.

Streaming: definitions come after the nodes, and numbering records needs them (a test counts
only when it is defined). So `records` reads the file twice: a light pass (lxml's
tag-filtered iterparse, freeing nodes as they end) keeps title, severity and CVE of each
definition, then the nodes are streamed one at a time. `write_subset` needs the same first
pass; it writes each node pruned to its kept findings and, at the end, only the definitions
those findings use. If a file put its definitions before its nodes, it first walks the nodes
once more to learn which definitions are used. `write_subsets` does the same for many
products in one pass: a node with findings of several products goes to each, pruned to its
own, and a definition to each product whose findings use it.

A node is written whenever any of its records is kept, and DD then always derives its "Host
Up" finding; likewise an endpoint brings its "Open port" finding. `write_subset` counts those.

Scope title: none. A report may hold several scans, and scan names are per run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from app.formats import shares, xmlsafe
from app.formats.base import HostIdentity, Record, ScanFormatError
from app.formats.hostnames import is_ip, sort_names
from app.formats.shares import K
from app.formats.xmlsafe import checked_root, line_of, root_of
from app.formats.xmlwalk import (
    EVERY,
    EventKind,
    Parts,
    Path,
    copy_split,
    refuse_declared_entities,
    walk,
)

ROOT = "NexposeReport"
NODES: Path = ("nodes",)
DEFINITIONS: Path = ("VulnerabilityDefinitions",)
CONTAINERS = frozenset({(), NODES, DEFINITIONS})
VULNERABLE = frozenset({"vulnerable-exploited", "vulnerable-version", "vulnerable-potential"})
# fmt: off
SCHEMES = frozenset({
    "acap", "afp", "dict", "dns", "file", "ftp", "git", "gopher", "http", "https", "imap", "ipp",
    "ipps", "irc", "ircs", "ldap", "ldaps", "mms", "msrp", "msrps", "mtqp", "nfs", "nntp", "nntps",
    "pop", "prospero", "redis", "rsync", "rtsp", "rtsps", "rtspu", "sftp", "smb", "snmp", "ssh",
    "steam", "svn", "telnet", "ventrilo", "vnc", "wais", "ws", "wss", "xmpp",
})
# fmt: on
"""The keys of hyperlink's SCHEME_PORT_MAP, which DD uses to pick an endpoint's protocol."""
_WHAT = "a Nexpose XML 2.0 report"


@dataclass(frozen=True, slots=True)
class _Definition:
    title: str | None
    severity: str
    cve: str | None


@dataclass(frozen=True, slots=True)
class _Item:
    """One finding occurrence of a node, and the elements that produce it."""

    title: str
    severity: str
    definition: str | None = None
    cve: str | None = None
    test: etree._Element | None = None
    endpoint: etree._Element | None = None
    port: int | None = None
    protocol: str | None = None
    dd_protocol: str | None = None


def _refuse(element: etree._Element, problem: str) -> ScanFormatError:
    return ScanFormatError(f"Nexpose {problem}", line=line_of(element))


def _severity(number: int) -> str:
    if number >= 9:
        return "Critical"
    if number >= 7:
        return "High"
    if number >= 4:
        return "Medium"
    return "Low" if number > 0 else "Info"


def _definition(element: etree._Element) -> tuple[str, _Definition]:
    vid = element.get("id")
    if vid is None:
        raise _refuse(element, "vulnerability definition has no id")
    try:
        number = int(element.get("severity", ""))
    except ValueError:
        raise _refuse(element, f"definition {vid} has no numeric severity") from None
    cve = None
    for reference in element.iterfind("references/*"):
        source = reference.get("source")
        if source is None:
            raise _refuse(reference, f"definition {vid} has a reference without source")
        if source == "CVE":
            cve = str(reference.text).strip()
    for tag in element.iterfind("tags/*"):
        if tag.text is None:
            raise _refuse(tag, f"definition {vid} has an empty tag")
    return vid.lower(), _Definition(element.get("title"), _severity(number), cve)


@dataclass(slots=True)
class _Scan:
    definitions: dict[str, _Definition]
    definitions_last: bool
    """True when no root-level node follows a root-level definition."""


def _light_pass(source: BinaryIO) -> _Scan:
    """Collect the root-level definitions in one fast pass, freeing nodes as they end."""
    source.seek(0)
    definitions: dict[str, _Definition] = {}
    definitions_last = True
    events = xmlsafe.iterparse(source, tag=("vulnerability", "node"))
    for number, (_, element) in enumerate(events):
        if number == 0:
            refuse_declared_entities(element)
        parent = element.getparent()
        grand = parent.getparent() if parent is not None else None
        at_root = grand is not None and grand.getparent() is None
        if element.tag == "node" and at_root and parent is not None and parent.tag == "nodes":
            definitions_last = definitions_last and not definitions
            xmlsafe.release(element)
        elif (
            element.tag == "vulnerability"
            and at_root
            and parent is not None
            and (parent.tag == "VulnerabilityDefinitions")
        ):
            key, definition = _definition(element)
            definitions[key] = definition
            xmlsafe.release(element)
    source.seek(0)
    return _Scan(definitions, definitions_last)


def _tests(holder: etree._Element, definitions: dict[str, _Definition]) -> list[_Item]:
    items = []
    for test in holder.iterfind("tests/test"):
        vid = test.get("id")
        if vid in definitions and test.get("status") in VULNERABLE:
            found = definitions[vid]
            if found.title is None:
                raise _refuse(test, f"definition {vid} has no title")
            items.append(_Item(found.title, found.severity, vid, found.cve, test=test))
    return items


def _node_items(node: etree._Element, definitions: dict[str, _Definition]) -> list[_Item]:
    """The node's finding occurrences in DD's order (see the module docstring)."""
    items = _tests(node, definitions)
    items.append(_Item("Host Up", "Info"))
    for endpoint in node.iterfind("endpoints/endpoint"):
        try:
            port = int(endpoint.get("port", ""))
        except ValueError:
            raise _refuse(endpoint, "endpoint has no numeric port") from None
        protocol = endpoint.get("protocol")
        services = list(endpoint.iterfind("services/service"))
        if protocol is None or not services:
            raise _refuse(endpoint, "endpoint has no protocol or no service")
        for service in services:
            if service.get("name") is None:
                raise _refuse(service, "service has no name")
            if any(c.get("name") is None for c in service.iterfind("configurations/config")):
                raise _refuse(service, "service configuration has no name")
        last = services[-1]
        name = last.get("name", "").lower()
        dd_protocol = name if name in SCHEMES else protocol
        for item in [
            *_tests(last, definitions),
            _Item(f"Open port {protocol.upper()}/{port}", "Info"),
        ]:
            items.append(_with_endpoint(item, endpoint, port, protocol, dd_protocol))
    return items


def _with_endpoint(
    item: _Item, endpoint: etree._Element, port: int, protocol: str, dd_protocol: str
) -> _Item:
    return dataclasses.replace(
        item, endpoint=endpoint, port=port, protocol=protocol, dd_protocol=dd_protocol
    )


def _host(node: etree._Element) -> HostIdentity:
    address = (node.get("address") or "").strip() or None
    names = [name.text for name in node.iterfind("names/name")]
    fqdn, netbios = sort_names([*names, address])
    return HostIdentity(
        ip=address if address and is_ip(address) else None,
        fqdn=fqdn,
        netbios=netbios,
        mac=node.get("hardware-address") or None,
        dd_host=node.get("address"),
    )


def _records(node: etree._Element, start: int, items: list[_Item]) -> Iterator[Record]:
    host = _host(node)
    for offset, item in enumerate(items):
        yield Record(
            index=start + offset,
            title=item.title,
            severity=item.severity,
            host=host,
            port=item.port,
            protocol=item.protocol,
            scanner_id=item.definition,
            vulnerability_ids=(item.cve,) if item.cve else (),
            extra={"dd_protocol": item.dd_protocol} if item.dd_protocol else {},
        )


def _is_node(kind: EventKind, path: Path, element: etree._Element) -> bool:
    """Whether an event is a `<node>` of the root's `<nodes>`, the only ones DD reads."""
    return kind == "child" and path == NODES and element.tag == "node"


def _check_root(source: BinaryIO) -> None:
    found = checked_root(source, _WHAT)
    if found != ROOT:
        raise ScanFormatError(f"expected {_WHAT} (root element <{ROOT}>), found <{found}>")


class NexposeXml(shares.OnePass):
    """The `ScanFormat` of Nexpose XML 2.0 reports."""

    scan_type = "Nexpose Scan"
    name = "nexpose-xml"
    description = "Nexpose XML 2.0 report"

    def sniff(self, head: bytes) -> bool:
        """The root element is `<NexposeReport>`."""
        return root_of(head) == ROOT

    def records(self, source: BinaryIO) -> Iterator[Record]:
        """One record per finding occurrence per node, node by node in file order."""
        _check_root(source)
        definitions = _light_pass(source).definitions
        start = 0
        for kind, path, element in walk(source, CONTAINERS):
            if _is_node(kind, path, element):
                items = _node_items(element, definitions)
                yield from _records(element, start, items)
                start += len(items)

    def scope_title(self, source: BinaryIO) -> str | None:
        """None: see the module docstring."""
        _check_root(source)
        return None

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """Each share's subset, in one pass after the light pass: the report with the
        nodes of the share's findings, pruned, and only the definitions they use."""
        _check_root(source)
        scan = _light_pass(source)
        keys, owner = shares.ordered(keeps)
        users: dict[str, set[int]] = {}
        if not scan.definitions_last:
            for record in self.records(source):
                slot = shares.slot_of(owner, record.index)
                if slot >= 0 and record.scanner_id:
                    users.setdefault(record.scanner_id, set()).add(slot)
            source.seek(0)
        written = [0] * len(keys)
        start = 0

        def route(kind: EventKind, path: Path, element: etree._Element) -> Parts:
            nonlocal start
            if _is_node(kind, path, element):
                items = _node_items(element, scan.definitions)
                first, start = start, start + len(items)
                slots = shares.slots_in(owner, first, start)
                parts = list(zip(slots, shares.copies(element, len(slots)), strict=True))
                for slot, node in parts:
                    own = items if node is element else _node_items(node, scan.definitions)
                    _prune(own, [shares.slot_of(owner, first + i) == slot for i in range(len(own))])
                    remaining = _node_items(node, scan.definitions)
                    written[slot] += len(remaining)
                    for item in remaining:
                        if item.definition:
                            users.setdefault(item.definition, set()).add(slot)
                return parts
            if kind == "child" and path == DEFINITIONS:
                return [
                    (slot, element) for slot in users.get((element.get("id") or "").lower(), ())
                ]
            return EVERY

        copy_split(source, [outs[key] for key in keys], CONTAINERS, route)
        return shares.keyed(keys, written)


def _prune(items: list[_Item], kept: list[bool]) -> None:
    """Remove the tests of dropped occurrences and the endpoints with nothing kept."""
    kept_endpoints = {id(item.endpoint) for item, k in zip(items, kept, strict=True) if k}
    for item, k in zip(items, kept, strict=True):
        if item.endpoint is not None and id(item.endpoint) not in kept_endpoints:
            parent = item.endpoint.getparent()
            if parent is not None:
                parent.remove(item.endpoint)
        elif not k and item.test is not None:
            parent = item.test.getparent()
            if parent is not None:
                parent.remove(item.test)


FORMAT = NexposeXml()
