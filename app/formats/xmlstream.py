"""Streaming walk of record-bearing XML reports, and the subset writer built on it.

Scan reports share one shape: a root, maybe a few container levels (Nessus `Report`), and
under the innermost container a long run of *units* — one element per scanned host
(`ReportHost`, Nmap `host`) — mixed with small metadata elements (`Policy`, `scaninfo`,
`runstats`). `walk` streams such a document through `xmlsafe.iterparse` and hands out each
unit complete, then frees it, so memory holds one host at a time whatever the file size.

`write_units` walks the same way and writes a copy with lxml's incremental writer: root and
containers with their attributes and namespace declarations, every metadata element as it
was, and each unit only when the format's `select` callback (which may prune the unit's
children) keeps it. Records and subsets come from the same walk, so they number the file
the same way. Comments, processing instructions and the DOCTYPE are not copied.

Units are recognised only as direct children of the innermost open container; a unit tag
found deeper is part of some other element and is copied with it, never counted.

The prologue checks (UTF-16 heads, entities, the root) are xmlsafe's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, BinaryIO, Literal

from lxml import etree

from app.formats import xmlsafe

Event = Literal["open", "close", "other", "unit"]


def sniff_root(head: bytes, expected: str) -> bool:
    """True when the first bytes of a document show the root element `expected`."""
    return xmlsafe.root_of(head) == expected


def walk(
    source: BinaryIO, *, root: str, unit: str, containers: tuple[str, ...] = ()
) -> Generator[tuple[Event, etree._Element], None, None]:
    """Stream the document as ("open" | "close" | "other" | "unit", element) events.

    "open"/"close" mark the root and each container (attributes available at "open");
    "other" is a complete metadata element; "unit" a complete unit. Units and metadata
    elements are freed once the consumer moves on.
    """
    open_elements: list[etree._Element] = []
    for event, element in xmlsafe.iterparse(
        source, events=("start", "end"), tag=(root, unit, *containers)
    ):
        top = open_elements[-1] if open_elements else None
        if event == "start":
            # The root opens only at the top, containers only inside it.
            if element.tag == unit or (top is None) != (element.tag == root):
                continue
            if element.getparent() is not top:
                continue
            if top is not None:
                yield from _flush_preceding(top, element)
            open_elements.append(element)
            yield "open", element
        elif element is top:
            yield from _flush_children(element)
            open_elements.pop()
            yield "close", element
            if open_elements:
                open_elements[-1].remove(element)
        elif element.tag == unit and top is not None and element.getparent() is top:
            yield from _flush_preceding(top, element)
            yield "unit", element
            element.clear()
            top.remove(element)


def _flush_preceding(
    parent: etree._Element, element: etree._Element
) -> Iterator[tuple[Event, etree._Element]]:
    """Hand out and free the complete siblings before `element`, in document order."""
    before = list(element.itersiblings(preceding=True))
    for sibling in reversed(before):
        yield "other", sibling
        parent.remove(sibling)


def _flush_children(parent: etree._Element) -> Iterator[tuple[Event, etree._Element]]:
    for child in list(parent):
        yield "other", child
        parent.remove(child)


def units(
    source: BinaryIO, *, root: str, unit: str, containers: tuple[str, ...] = ()
) -> Iterator[etree._Element]:
    """Only the units of `walk`: each host element, complete, in document order."""
    for event, element in walk(source, root=root, unit=unit, containers=containers):
        if event == "unit":
            yield element


def write_units(
    source: BinaryIO,
    out: BinaryIO,
    *,
    root: str,
    unit: str,
    containers: tuple[str, ...] = (),
    select: Callable[[etree._Element], bool],
) -> None:
    """Copy the document to `out` (UTF-8), keeping the units for which `select` is true.

    `select` sees every unit in document order and may remove children from it before
    it is written.
    """
    write_units_many(
        source,
        [out],
        root=root,
        unit=unit,
        containers=containers,
        split=lambda element: ((0, element),) if select(element) else (),
    )


def write_units_many(
    source: BinaryIO,
    outs: Sequence[BinaryIO],
    *,
    root: str,
    unit: str,
    containers: tuple[str, ...] = (),
    split: Callable[[etree._Element], Iterable[tuple[int, etree._Element]]],
) -> None:
    """`write_units` into several documents in one walk: every output gets the root,
    containers and metadata, and `split` says which outputs get (a pruned copy of) each unit,
    as `(position in outs, element to write)` pairs.

    One walk instead of one per output is what keeps an upload split over hundreds of
    products as cheap as a single subset.
    """
    with contextlib.ExitStack() as stack:
        writers = xmlsafe.open_writers(stack, outs)
        scopes: list[tuple[list[Any], dict[str | None, str]]] = []
        for event, element in walk(source, root=root, unit=unit, containers=containers):
            if event == "open":
                inherited = scopes[-1][1] if scopes else {}
                declared = {
                    prefix: uri
                    for prefix, uri in element.nsmap.items()
                    if inherited.get(prefix) != uri
                }
                attributes = {str(key): str(value) for key, value in element.attrib.items()}
                entered = []
                for writer in writers:
                    scope = writer.element(element.tag, attributes, nsmap=declared)
                    scope.__enter__()
                    writer.write("\n")
                    entered.append(scope)
                scopes.append((entered, dict(element.nsmap)))
            elif event == "close":
                for writer, scope in zip(writers, scopes.pop()[0], strict=True):
                    scope.__exit__(None, None, None)
                    if scopes:
                        writer.write("\n")
            elif event == "other":
                for writer in writers:
                    writer.write(element)
            else:
                for position, part in split(element):
                    writers[position].write(part)
