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

from collections.abc import Iterator, Set
from contextlib import ExitStack
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from app.formats import webxml, xmlsafe
from app.formats.base import HostIdentity, Record, ScanFormatError
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


class ZapFormat:
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

    def write_subset(self, source: BinaryIO, keep: Set[int], out: BinaryIO) -> int:
        index = 0
        written = 0
        with etree.xmlfile(out, encoding="utf-8") as xf, ExitStack() as stack:
            xf.write_declaration()
            site: etree._Element | None = None
            site_open: ExitStack | None = None
            for event, element in _walk(source):
                if event == "root":
                    stack.enter_context(xf.element(element.tag, _attributes(element)))
                elif event == "site":
                    site, site_open = element, None
                elif event == "site-end":
                    if site_open is not None:
                        site_open.close()
                    site, site_open = None, None
                    xmlsafe.release(element)
                else:
                    alert = _parse(element)
                    groups = alert.groups()
                    kept = {key for n, key in enumerate(groups) if index + n in keep}
                    index += len(groups)
                    if kept:
                        if site_open is None and site is not None:
                            site_open = ExitStack()
                            site_open.enter_context(xf.element("site", _attributes(site)))
                            site_open.enter_context(xf.element("alerts"))
                        _drop_instances(alert, kept)
                        element.tail = None
                        xf.write(element)
                        written += len(kept)
                    xmlsafe.release(element)
        return written


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


def _drop_instances(alert: _Alert, kept: set[tuple[str | None, int | None]]) -> None:
    for instance, endpoint in alert.instances:
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
