"""Qualys asset data reports (`<ASSET_DATA_REPORT>` XML), DefectDojo scan type "Qualys Scan".

What DefectDojo does, read from `dojo/tools/qualys/parser.py` (used for every file whose name
does not end in `.csv`), and what this module mirrors, with its default settings
(`USE_QUALYS_LEGACY_SEVERITY_PARSING` on, `USE_FIRST_SEEN` off):

- It reads the root's first `<HOST_LIST>`, treats every child of it as a host, and makes one
  finding per `VULN_INFO_LIST/VULN_INFO` of the host. Nothing is merged: a record is one DD
  finding with its one endpoint.
- The finding's details come from the glossary entry `GLOSSARY/VULN_DETAILS_LIST/
  VULN_DETAILS[@id]` matching `VULN_INFO/QID@id` (e.g. "qid_38170"). Title:
  `"QID-" + id[4:] + " | " + TITLE` ("QID-6 | DNS Host Name").
- Severity from the glossary `SEVERITY`: 1 Informational (stored by DD's importer as Info),
  2 Low, 3 Medium, 4 High, 5 Critical, anything else Informational.
- Endpoint host (`dd_host`): the host's `<DNS>` when non-empty, else its `<IP>`; DD puts no
  port on it. The record still carries the `<PORT>`/`<PROTOCOL>` of the detection for routing.
- Date: `LAST_FOUND` ("%Y-%m-%dT%H:%M:%SZ"), none when unreadable. CVEs: the glossary's
  `CVE_ID_LIST/CVE_ID/ID`. Scanner id: the QID number.

Detections DD's parser would crash on are refused with their line: a `VULN_INFO` without
`QID@id`, a QID missing from the glossary, a glossary entry without `TITLE`, `SOLUTION` or
`IMPACT` or with a non-numeric `SEVERITY`, an unreadable `LAST_FIXED` on a fixed detection,
and CVSS values DD cannot split ("8.2" and "9.0 (AV:N/...)" are fine).

Streaming: in Qualys reports the glossary follows the host list, and titles need it. So
`records` reads the file twice: first a light pass (lxml's tag-filtered iterparse, freeing
hosts as they end) keeps the few fields of each glossary entry, then the hosts are streamed.
`write_subset` likewise first finds the QIDs of the kept detections, then writes the hosts
with only their kept detections and the glossary with only those QIDs; the header and
appendices are copied; `write_subsets` does so for many products in one pass, each host
and glossary entry going to every product that has a detection of it. Only a root-level
`GLOSSARY` is read (DD would search at any depth).

Scope title: `HEADER/TEMPLATE`, the report template's title, which Qualys also uses as the
report's title unless one is typed at launch (that one is not in the XML).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from app.formats import shares, xmlsafe
from app.formats.base import HostIdentity, Record, ScanFormatError
from app.formats.hostnames import sort_names
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

ROOT = "ASSET_DATA_REPORT"
HOST_LIST: Path = ("HOST_LIST",)
DETAILS_LIST: Path = ("GLOSSARY", "VULN_DETAILS_LIST")
CONTAINERS = frozenset({(), HOST_LIST, ("GLOSSARY",), DETAILS_LIST})
_SEVERITY = {1: "Info", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
_ACTIVE = {"Active", "Re-Opened", "New"}
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_CVSS3_VECTOR = re.compile(
    r"^AV:[NALP]/AC:[LH]/PR:[NLH]/UI:[NR]/S:[UC]/C:[NLH]/I:[NLH]/A:[NLH](/[A-Za-z]+:[A-Za-z]+)*$"
)
_WHAT = "a Qualys asset data report (XML)"


@dataclass(frozen=True, slots=True)
class _Detail:
    """What a record needs of one glossary entry (`VULN_DETAILS`)."""

    line: int | None
    title: str | None
    severity: str | None
    readable: bool
    cvss3_base: str | None
    cvss_final: str | None
    cves: tuple[str, ...]


def _severity(detail: _Detail, line: int | None) -> str:
    try:
        number = int(detail.severity or -1)
    except ValueError:
        raise ScanFormatError(
            f"Qualys glossary entry has SEVERITY {detail.severity!r}, not a number",
            line=detail.line or line,
        ) from None
    return _SEVERITY.get(number, "Info")


def _cvss_readable(value: str | None) -> bool:
    """Whether DD's `split_cvss` accepts a value: a score, or "score (vector)"."""
    if value is None or value in ("", "-"):
        return True
    if len(value) <= 4:
        return _is_float(value)
    head, _, rest = value.partition(" (")
    return bool(rest) and _is_float(head) and bool(_CVSS3_VECTOR.match(rest[:-1]))


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_set(value: str | None) -> bool:
    return value is not None and value != "-"


def _check_cvss(info: etree._Element, detail: _Detail) -> None:
    """Refuse the CVSS strings DD would feed to `split_cvss` and fail on, in its order.

    DD takes the detection's `CVSS3_FINAL`, else its `CVSS_FINAL`; only when that gave no
    score does it turn to the glossary's `CVSS3_BASE`, else the glossary's `CVSS_FINAL`.
    """
    cvss3, cvss2 = info.findtext("CVSS3_FINAL"), info.findtext("CVSS_FINAL")
    value = cvss3 if _is_set(cvss3) else cvss2 if _is_set(cvss2) else None
    checked = [value]
    if not value:
        base, final = detail.cvss3_base, detail.cvss_final
        checked.append(base if _is_set(base) else final if _is_set(final) else None)
    for text in checked:
        if not _cvss_readable(text):
            raise ScanFormatError(
                f"Qualys detection has CVSS {text!r}, which DefectDojo cannot read",
                line=line_of(info),
            )


def _glossary_entry(element: etree._Element) -> _Detail:
    cves = (cve.findtext("ID") for cve in element.iterfind("CVE_ID_LIST/CVE_ID"))
    return _Detail(
        line=line_of(element),
        title=element.findtext("TITLE"),
        severity=element.findtext("SEVERITY"),
        readable=element.find("SOLUTION") is not None and element.find("IMPACT") is not None,
        cvss3_base=element.findtext("CVSS3_SCORE/CVSS3_BASE"),
        cvss_final=element.findtext("CVSS_FINAL"),
        cves=tuple(dict.fromkeys(cve.strip() for cve in cves if cve and cve.strip())),
    )


def _light_pass(
    source: BinaryIO,
    on_detail: Callable[[etree._Element], None],
    on_info: Callable[[etree._Element], None],
) -> None:
    """One fast pass over glossary entries and detections; hosts are freed as they end."""
    source.seek(0)
    first_host_list: etree._Element | None = None
    events = xmlsafe.iterparse(source, tag=("VULN_DETAILS", "VULN_INFO", "HOST"))
    for number, (_, element) in enumerate(events):
        if number == 0:
            refuse_declared_entities(element)
        parent = element.getparent()
        if element.tag == "HOST":
            if parent is not None and parent.tag == "HOST_LIST":
                xmlsafe.release(element)
        elif element.tag == "VULN_DETAILS":
            grand = parent.getparent() if parent is not None else None
            if (
                parent is not None
                and parent.tag == "VULN_DETAILS_LIST"
                and grand is not None
                and grand.tag == "GLOSSARY"
                and grand.getparent() is not None
                and grand.getparent().getparent() is None  # type: ignore[union-attr]
            ):
                on_detail(element)
            xmlsafe.release(element)
        else:
            host = parent.getparent() if parent is not None else None
            host_list = host.getparent() if host is not None else None
            if (
                parent is not None
                and parent.tag == "VULN_INFO_LIST"
                and host_list is not None
                and host_list.tag == "HOST_LIST"
                and host_list.getparent() is not None
                and host_list.getparent().getparent() is None  # type: ignore[union-attr]
            ):
                first_host_list = host_list if first_host_list is None else first_host_list
                if host_list is first_host_list:
                    on_info(element)
            element.clear()
    source.seek(0)


def _glossary(source: BinaryIO) -> dict[str, _Detail]:
    found: dict[str, _Detail] = {}

    def keep(element: etree._Element) -> None:
        found.setdefault(element.get("id", ""), _glossary_entry(element))

    _light_pass(source, keep, lambda _: None)
    return found


class _Hosts:
    """Numbers the detections of the first `HOST_LIST` as DD reads them."""

    def __init__(self) -> None:
        self.host_lists = 0
        self.in_items = False
        self.next_index = 0

    def feed(self, kind: EventKind, path: Path) -> bool:
        """Whether this event is a host of the first host list."""
        if path == HOST_LIST and kind == "open":
            self.host_lists += 1
            self.in_items = self.host_lists == 1
        elif path == HOST_LIST and kind == "close":
            self.in_items = False
        return kind == "child" and path == HOST_LIST and self.in_items


def _host_records(host: etree._Element, start: int, glossary: dict[str, _Detail]) -> list[Record]:
    ip = (host.findtext("IP") or "").strip() or None
    dns = host.findtext("DNS")
    netbios = (host.findtext("NETBIOS") or "").strip() or None
    fqdn, short = sort_names([dns])
    identity = HostIdentity(ip=ip, fqdn=fqdn, netbios=netbios or short, dd_host=dns or ip)
    records = []
    for offset, info in enumerate(host.iterfind("VULN_INFO_LIST/VULN_INFO")):
        qid = info.find("QID")
        gid = qid.get("id") if qid is not None else None
        if gid is None:
            raise ScanFormatError("Qualys detection has no QID id", line=line_of(info))
        detail = glossary.get(gid)
        if detail is None or detail.title is None or not detail.readable:
            problem = (
                "is missing from the glossary"
                if detail is None
                else "lacks TITLE, SOLUTION or IMPACT"
            )
            raise ScanFormatError(f"Qualys {gid} {problem}", line=line_of(info))
        _check_fixed(info)
        _check_cvss(info, detail)
        own = identity
        if info.find("FQDN") is not None:
            fqdn, short = sort_names([dns, info.findtext("FQDN")])
            own = dataclasses.replace(identity, fqdn=fqdn, netbios=netbios or short)
        port = (info.findtext("PORT") or "").strip()
        records.append(
            Record(
                index=start + offset,
                title=f"QID-{gid[4:]} | {detail.title}",
                severity=_severity(detail, line_of(info)),
                host=own,
                port=int(port) if port.isdigit() else None,
                protocol=(info.findtext("PROTOCOL") or "").strip() or None,
                date=_date(info.findtext("LAST_FOUND")),
                scanner_id=qid.text.strip() if qid is not None and qid.text else gid[4:],
                vulnerability_ids=detail.cves,
            )
        )
    return records


def _check_fixed(info: etree._Element) -> None:
    last_fixed = info.findtext("LAST_FIXED")
    if info.findtext("VULN_STATUS") in _ACTIVE or last_fixed is None:
        return
    try:
        dt.datetime.strptime(last_fixed, _DATE_FORMAT)
    except ValueError:
        raise ScanFormatError(
            f"Qualys detection has LAST_FIXED {last_fixed!r}; DefectDojo needs {_DATE_FORMAT}",
            line=line_of(info),
        ) from None


@functools.lru_cache(maxsize=1024)
def _date(text: str | None) -> dt.date | None:
    try:
        return dt.datetime.strptime(text or "", _DATE_FORMAT).date()
    except ValueError:
        return None


def _check_root(source: BinaryIO) -> None:
    found = checked_root(source, _WHAT)
    if found == "SCAN":
        raise ScanFormatError(
            f"expected {_WHAT} (root element <{ROOT}>), found a Qualys scan results file "
            "(root element <SCAN>), from which DefectDojo's Qualys parser reads no findings"
        )
    if found != ROOT:
        raise ScanFormatError(f"expected {_WHAT} (root element <{ROOT}>), found <{found}>")


class QualysXml(shares.OnePass):
    """The `ScanFormat` of Qualys asset data reports."""

    scan_type = "Qualys Scan"
    name = "qualys-xml"
    description = "Qualys asset data report (XML)"

    def sniff(self, head: bytes) -> bool:
        """The root element is `<ASSET_DATA_REPORT>`."""
        return root_of(head) == ROOT

    def records(self, source: BinaryIO) -> Iterator[Record]:
        """One record per detection of the first host list, in file order."""
        _check_root(source)
        glossary = _glossary(source)
        hosts = _Hosts()
        for kind, path, element in walk(source, CONTAINERS):
            if hosts.feed(kind, path):
                found = _host_records(element, hosts.next_index, glossary)
                hosts.next_index += len(found)
                yield from found

    def scope_title(self, source: BinaryIO) -> str | None:
        """The report template's title, `HEADER/TEMPLATE`."""
        _check_root(source)
        for kind, path, element in walk(source, CONTAINERS):
            if kind == "child" and path == () and element.tag == "HEADER":
                return xmlsafe.text_of(element, "TEMPLATE")
            if kind == "open" and path == HOST_LIST:
                return None
        return None

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """Each share's subset, in one pass after the light pass: the report with the
        share's detections, their hosts and their glossary entries only."""
        _check_root(source)
        keys, owner = shares.ordered(keeps)
        users: dict[str, set[int]] = {}
        seen = 0

        def note(info: etree._Element) -> None:
            nonlocal seen
            qid = info.find("QID")
            slot = shares.slot_of(owner, seen)
            if slot >= 0 and qid is not None:
                users.setdefault(qid.get("id", ""), set()).add(slot)
            seen += 1

        _light_pass(source, lambda _: None, note)
        hosts = _Hosts()
        written = [0] * len(keys)

        def route(kind: EventKind, path: Path, element: etree._Element) -> Parts:
            if hosts.feed(kind, path):
                start = hosts.next_index
                hosts.next_index += len(element.findall("VULN_INFO_LIST/VULN_INFO"))
                slots = shares.slots_in(owner, start, hosts.next_index)
                parts = list(zip(slots, shares.copies(element, len(slots)), strict=True))
                for slot, host in parts:
                    infos = host.iterfind("VULN_INFO_LIST/VULN_INFO")
                    for index, info in enumerate(list(infos), start):
                        if shares.slot_of(owner, index) == slot:
                            written[slot] += 1
                        else:
                            info.getparent().remove(info)  # type: ignore[union-attr]
                return parts
            if kind == "child" and path == DETAILS_LIST:
                return [(slot, element) for slot in users.get(element.get("id", ""), ())]
            return EVERY

        copy_split(source, [outs[key] for key in keys], CONTAINERS, route)
        return shares.keyed(keys, written)


FORMAT = QualysXml()
