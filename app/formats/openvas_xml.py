"""OpenVAS / Greenbone (GVM) XML reports, DefectDojo scan type "OpenVAS Parser".

What DefectDojo does, read from `dojo/tools/openvas/parser_v1/xml_parser.py` (the parser of
"OpenVAS Parser" for a file whose name ends in `.xml`), and what this module mirrors:

- The root's tag must contain "report". DD reads the root's first `<report>` child, that
  report's first `<results>` child, and makes one finding per child element of `<results>`.
  It merges nothing, so a record here is exactly one DD finding with its one endpoint.
- Title: the `<name>` text, then `"_" + text` of every direct `<hostname>`, `<host>` and
  `<port>` child of the result, in document order, unstripped ("Mozilla Firefox Security
  Update ... - Windows_10.0.101.2_general/tcp").
- Endpoint host (`dd_host`): the stripped text of a direct `<hostname>` child when non-empty,
  else the stripped text of `<host>`. GVM nests its own `<hostname>` inside `<host>`, where
  DD does not look; the record still carries it as an identifier.
- Port and protocol: `<port>` "443/tcp" gives 443 and tcp; "general/tcp" gives no port, tcp.
- Severity: the `<threat>` text when it is Info, Low, Medium, High or Critical, else Info
  (GVM's "Log"). Scanner id: `nvt@oid`. CVEs: the NVT's `<refs><ref type="cve">` (DD ignores
  them in this parser; the record keeps them for people).

Results DD would crash on are refused with their line: no `<name>` or `<threat>`, an empty
`<host>`, `<hostname>` or `<port>`, a port without exactly one "/". For the first two DD's
code may instead carry values over from the previous result, which no subset could reproduce.

Scope title: the GVM task's name (`<task><name>`), from the outer report or the inner one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from typing import BinaryIO

from lxml import etree

from app.formats import shares, xmlsafe
from app.formats.base import SEVERITIES, HostIdentity, Record, ScanFormatError
from app.formats.hostnames import is_ip, sort_names
from app.formats.shares import K
from app.formats.xmlsafe import checked_root, line_of, readable_head
from app.formats.xmlwalk import EVERY, EventKind, Parts, Path, copy_split, walk

REPORT: Path = ("report",)
RESULTS: Path = ("report", "results")
CONTAINERS = frozenset({(), REPORT, RESULTS})
_MARKERS = (b"<gmp>", b"<omp>", b"<nvt", b"<results", b"<scan_run_status>")
_WHAT = "an OpenVAS/Greenbone XML report"


class _Results:
    """Numbers the results of the first `<report><results>` as DD reads them."""

    def __init__(self) -> None:
        self.reports = 0
        self.results = 0
        self.in_items = False
        self.found = False
        self.next_index = 0

    def feed(self, kind: EventKind, path: Path, element: etree._Element) -> Record | None:
        """The record of a result, or None for any other event."""
        if kind == "open" and path == REPORT:
            self.reports += 1
        elif kind == "open" and path == RESULTS:
            self.results += 1
            self.in_items = self.reports == 1 and self.results == 1
            self.found = self.found or self.in_items
        elif kind == "close" and path == RESULTS:
            self.in_items = False
        elif kind == "child" and path == RESULTS and self.in_items:
            record = _record(self.next_index, element)
            self.next_index += 1
            return record
        return None


def _refuse(element: etree._Element, problem: str) -> ScanFormatError:
    return ScanFormatError(f"OpenVAS result {problem}", line=line_of(element))


def _record(index: int, result: etree._Element) -> Record:
    title: str | None = None
    severity: str | None = None
    dd_host = ""
    host_text: str | None = None
    names: list[str | None] = []
    port: int | None = None
    protocol: str | None = None
    oid: str | None = None
    description = ""
    for field in result.iterchildren(tag=etree.Element):
        tag, text = field.tag, field.text
        if tag == "name":
            if text is None:
                raise _refuse(field, "has an empty <name>")
            title = text
        elif tag in ("hostname", "host", "port"):
            if title is None:
                raise _refuse(field, f"has <{tag}> before its <name>")
            if text is None:
                raise _refuse(field, f"has an empty <{tag}>, which DefectDojo cannot read")
            title = f"{title}_{text}"
            if tag == "hostname":
                dd_host = text.strip()
                names.append(dd_host)
            elif tag == "host":
                host_text = text.strip()
                dd_host = dd_host or host_text
                names.append(xmlsafe.text_of(field, "hostname"))
            else:
                port, protocol = _port(field, text)
        elif tag == "nvt":
            oid = field.get("oid") or text
        elif tag == "threat":
            severity = text if text in SEVERITIES else "Info"
        elif tag == "description":
            description = text or ""
    if title is None:
        raise _refuse(result, "has no <name>")
    if severity is None:
        raise _refuse(result, "has no <threat>")
    fqdn, netbios = sort_names([*names, host_text])
    return Record(
        index=index,
        title=title,
        severity=severity,
        host=HostIdentity(
            ip=host_text if host_text and is_ip(host_text) else None,
            fqdn=fqdn,
            netbios=netbios,
            dd_host=dd_host or None,
        ),
        port=port,
        protocol=protocol,
        scanner_id=oid.strip() if oid and oid.strip() else None,
        vulnerability_ids=_cves(result),
        description=description,
    )


def _port(field: etree._Element, text: str) -> tuple[int | None, str]:
    parts = text.split("/")
    if len(parts) != 2:
        raise _refuse(field, f"has port {text!r}; DefectDojo needs 'number/protocol'")
    number = parts[0].strip()
    try:
        return int(number), parts[1]
    except ValueError:
        return None, parts[1]


def _cves(result: etree._Element) -> tuple[str, ...]:
    found = [
        ref.get("id", "").strip()
        for ref in result.iterfind("nvt/refs/ref")
        if ref.get("type", "").lower() == "cve"
    ]
    legacy = xmlsafe.text_of(result, "nvt/cve")
    if legacy and legacy.upper() != "NOCVE":
        found.extend(part.strip() for part in legacy.split(","))
    return tuple(dict.fromkeys(cve for cve in found if cve))


def _check_root(source: BinaryIO) -> None:
    found = checked_root(source, _WHAT)
    if "report" not in found:
        raise ScanFormatError(f"expected {_WHAT} (root element <report>), found <{found}>")


class OpenVasXml(shares.OnePass):
    """The `ScanFormat` of OpenVAS/Greenbone XML reports."""

    scan_type = "OpenVAS Parser"
    name = "openvas-xml"
    description = "OpenVAS/Greenbone XML report"

    def sniff(self, head: bytes) -> bool:
        """A root whose tag contains "report" (DD's own test) and a GVM element early on."""
        try:
            text = readable_head(head)
        except ScanFormatError:
            return False
        found = xmlsafe.root_tag(text)
        return found is not None and "report" in found and any(m in text for m in _MARKERS)

    def records(self, source: BinaryIO) -> Iterator[Record]:
        """One record per result of the first `<report><results>`, in file order."""
        _check_root(source)
        results = _Results()
        for kind, path, element in walk(source, CONTAINERS):
            record = results.feed(kind, path, element)
            if record is not None:
                yield record
        if not results.found:
            raise ScanFormatError(
                "the OpenVAS report has no <report><results> element; DefectDojo cannot read it"
            )

    def scope_title(self, source: BinaryIO) -> str | None:
        """The GVM task name: `<task><name>` of the outer report, else of the inner one."""
        _check_root(source)
        for kind, path, element in walk(source, CONTAINERS):
            if kind == "child" and path in ((), REPORT) and element.tag == "task":
                return xmlsafe.text_of(element, "name")
            if kind == "open" and path == RESULTS:
                return None
        return None

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """Each share's subset, in one pass: the same report with only the share's
        results; all other elements are copied."""
        _check_root(source)
        keys, owner = shares.ordered(keeps)
        written = [0] * len(keys)
        results = _Results()

        def route(kind: EventKind, path: Path, element: etree._Element) -> Parts:
            record = results.feed(kind, path, element)
            if record is None:
                return EVERY
            slot = shares.slot_of(owner, record.index)
            if slot < 0:
                return ()
            written[slot] += 1
            return ((slot, element),)

        copy_split(source, [outs[key] for key in keys], CONTAINERS, route)
        return shares.keyed(keys, written)


FORMAT = OpenVasXml()
