"""OWASP ZAP XML report (DefectDojo scan type ``ZAP Scan``).

What DefectDojo does (``dojo/tools/zap/parser.py``, ``ZapParser``), mirrored:

- For each ``site`` child of the root, each ``alerts/alertitem`` is one finding; findings
  are never merged. Title: ``alert``; severity: ``riskcode`` 0/1/2/3 → Info/Low/Medium/High
  (any other value leaves the severity empty and the import fails).
- Each ``instances/instance/uri`` is one endpoint (query and fragment dropped); the ``site``
  attributes are not used for endpoints.

Records: one per (alert item, instance host and port), in order of first appearance; an
alert item without instances is one record with no host. A subset keeps the report root and
the ``site``/``alerts`` elements around kept items; of a partly kept item it keeps only the
instances of its kept records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from app.formats import shares, webxml, xmlsafe
from app.formats.base import HostIdentity, Record, ScanFormatError
from app.formats.shares import K
from app.formats.urls import Endpoint, EndpointError, endpoint_from_text

ROOT = "OWASPZAPReport"
WHAT = "an OWASP ZAP XML report"
_SEVERITY = {"0": "Info", "1": "Low", "2": "Medium", "3": "High"}
_ITEM_PATH = (ROOT, "site", "alerts", "alertitem")


@dataclass(frozen=True, slots=True)
class _Alert:
    """One alert item: its finding fields and the endpoint of each instance."""

    title: str
    severity: str
    plugin_id: str | None
    instances: tuple[tuple[etree._Element, Endpoint], ...]

    def groups(self) -> list[tuple[str | None, int | None]]:
        keys = list(dict.fromkeys(endpoint.key for _, endpoint in self.instances))
        return keys or [(None, None)]

    def first_endpoints(self) -> list[Endpoint | None]:
        """The first endpoint of each distinct (host, port), in order; [None] if none."""
        first: dict[tuple[str | None, int | None], Endpoint] = {}
        for _, endpoint in self.instances:
            first.setdefault(endpoint.key, endpoint)
        return list(first.values()) or [None]


class ZapFormat(shares.OnePass):
    """ZAP XML report; see the module docstring for DefectDojo's rules."""

    scan_type = "ZAP Scan"
    name = "zap-xml"
    description = "OWASP ZAP XML report"

    def sniff(self, head: bytes) -> bool:
        return xmlsafe.root_tag(head) == ROOT

    def records(self, source: BinaryIO) -> Iterator[Record]:
        index = 0
        for event, element in _walk(source):
            if event == "item":
                alert = _parse(element)
                for endpoint in alert.first_endpoints():
                    yield _record(index, alert, endpoint)
                    index += 1
            if event in ("item", "site-end"):
                xmlsafe.release(element)

    def scope_title(self, source: BinaryIO) -> str | None:
        return None

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """Each share's subset, in one pass: the report root, and each alert item holding
        records of the share, with only their instances, inside its site and alerts."""
        keys, owner = shares.ordered(keeps)
        written = [0] * len(keys)
        index = 0
        with ExitStack() as stack:
            writers = xmlsafe.open_writers(stack, (outs[key] for key in keys))
            site: etree._Element | None = None
            # The shares whose subset has the current site (and its <alerts>) open.
            sites: dict[int, ExitStack] = {}
            for event, element in _walk(source):
                if event == "root":
                    for writer in writers:
                        stack.enter_context(writer.element(element.tag, _attributes(element)))
                elif event == "site":
                    site, sites = element, {}
                elif event == "site-end":
                    for opened in sites.values():
                        opened.close()
                    site, sites = None, {}
                    xmlsafe.release(element)
                else:
                    alert = _parse(element)
                    held: dict[int, set[tuple[str | None, int | None]]] = {}
                    for key in alert.groups():
                        slot = shares.slot_of(owner, index)
                        if slot >= 0:
                            held.setdefault(slot, set()).add(key)
                        index += 1
                    copies = shares.copies(element, len(held))
                    for (slot, kept), item in zip(held.items(), copies, strict=True):
                        if slot not in sites and site is not None:
                            opened = sites[slot] = ExitStack()
                            opened.enter_context(writers[slot].element("site", _attributes(site)))
                            opened.enter_context(writers[slot].element("alerts"))
                        _drop_instances(item, alert, kept)
                        item.tail = None
                        writers[slot].write(item)
                        written[slot] += len(kept)
                    xmlsafe.release(element)
        return shares.keyed(keys, written)


FORMAT = ZapFormat()


def _walk(source: BinaryIO) -> Iterator[tuple[str, etree._Element]]:
    """("root" | "site" at start, "item" | "site-end" at end) in document order."""
    webxml.open_document(source, ROOT, WHAT)
    path: list[str] = []
    for event, element in xmlsafe.iterparse(source, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            path.append(tag)
            if len(path) == 1:
                yield "root", element
            elif path == [ROOT, "site"]:
                yield "site", element
            continue
        if tuple(path) == _ITEM_PATH:
            yield "item", element
        elif path == [ROOT, "site"]:
            yield "site-end", element
        path.pop()


def _parse(element: etree._Element) -> _Alert:
    title = element.findtext("alert")
    if title is None:
        raise ScanFormatError("an alert item has no <alert> title", line=xmlsafe.line_of(element))
    riskcode = element.findtext("riskcode")
    severity = _SEVERITY.get(riskcode or "")
    if severity is None:
        raise ScanFormatError(
            f"alert {title!r} has riskcode {riskcode!r}; DefectDojo accepts 0, 1, 2 or 3",
            line=xmlsafe.line_of(element),
        )
    instances = []
    for instance in element.findall("instances/instance"):
        uri = instance.findtext("uri")
        try:
            if uri is None:
                raise EndpointError("an instance has no <uri>")
            instances.append((instance, endpoint_from_text(uri)))
        except EndpointError as error:
            raise ScanFormatError(
                f"alert {title!r}: {error}", line=xmlsafe.line_of(instance)
            ) from error
    return _Alert(
        title=title,
        severity=severity,
        plugin_id=element.findtext("pluginid") or None,
        instances=tuple(instances),
    )


def _drop_instances(
    item: etree._Element, alert: _Alert, kept: set[tuple[str | None, int | None]]
) -> None:
    """Remove from `item` (the alert item or a copy of it) the instances not kept."""
    instances = item.findall("instances/instance")
    for instance, (_, endpoint) in zip(instances, alert.instances, strict=True):
        if endpoint.key not in kept:
            parent = instance.getparent()
            if parent is not None:
                parent.remove(instance)


def _record(index: int, alert: _Alert, endpoint: Endpoint | None) -> Record:
    return Record(
        index=index,
        title=alert.title,
        severity=alert.severity,
        host=endpoint.host if endpoint else HostIdentity(),
        port=endpoint.port if endpoint else None,
        protocol=endpoint.protocol if endpoint else None,
        scanner_id=alert.plugin_id,
    )


def _attributes(element: etree._Element) -> dict[str, str]:
    return {str(name): str(value) for name, value in element.attrib.items()}
