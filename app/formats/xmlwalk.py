"""One streaming walk over a report's item containers, and the subset writer built on it.

The XML scan formats share one shape: a few *container* elements near the root (OpenVAS
`<report><results>`, Qualys `<HOST_LIST>`, Nexpose `<nodes>`) whose children are the items,
with metadata around them. `walk` parses a file once through `xmlsafe.iterparse` (no DTD, no
entities, no network) and reports three kinds of event:

- `("open", path, element)` when a container starts: its tag and attributes are known, its
  children are not;
- `("child", path, element)` when a direct child of a container is complete: the element is
  freed (with the siblings before it) as soon as the caller resumes the walk, so memory stays
  bounded by one item whatever the file's size;
- `("close", path, element)` when a container ends.

`path` is the tuple of tags from below the root down to the container; the root is `()`.
Elements below a child are not reported on their own, which keeps the per-element work of
Python small on deep item bodies.

`copy_filtered` writes the same document again, streaming through `lxml.etree.xmlfile`, with
the children a callback keeps. The callback may also prune an element before it is written.
`copy_split` writes several such documents in the same walk, a callback sending each child
(or a pruned copy of it) to the outputs that keep it: every product's subset in one pass.

The prologue checks are xmlsafe's (`readable_head`, `checked_root`);
`refuse_declared_entities` re-checks, once libxml2 has read the whole DOCTYPE, that no entity
is declared anywhere in it, not only in the first 64 KiB.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO, Literal

from lxml import etree

from app.formats import xmlsafe
from app.formats.base import ScanFormatError

Path = tuple[str, ...]
EventKind = Literal["open", "child", "close"]
Event = tuple[EventKind, Path, etree._Element]
Decide = Callable[[EventKind, Path, etree._Element], bool]
Parts = Iterable[tuple[int, etree._Element]] | None
Route = Callable[[EventKind, Path, etree._Element], Parts]
EVERY = None
"""A `Route` answer: the element, as it is, goes to every output."""


def walk(source: BinaryIO, containers: frozenset[Path]) -> Iterator[Event]:
    """Stream the container events of a document (see the module docstring).

    `containers` holds the paths to open; every container's parent path must be a container
    too (the root, `()`, always is). Raises ScanFormatError with line and column on any
    syntax error, including a truncated file.
    """
    xmlsafe.readable_head(xmlsafe.read_prologue(source))
    opened: list[Path] = []
    depth = 0  # how deep the parser is inside the current child; 0 between children
    for event, element in xmlsafe.iterparse(source, events=("start", "end")):
        if depth:
            depth += 1 if event == "start" else -1
            if depth == 0:
                yield "child", opened[-1], element
                xmlsafe.release(element)
        elif event == "end":
            yield "close", opened.pop(), element
            xmlsafe.release(element)
        elif not opened:
            refuse_declared_entities(element)
            opened.append(())
            yield "open", (), element
        elif (path := (*opened[-1], element.tag)) in containers:
            opened.append(path)
            yield "open", path, element
        else:
            depth = 1


def refuse_declared_entities(root: etree._Element) -> None:
    """Refuse a document whose DTD declares entities, wherever the declaration was.

    `xmlsafe` checks the first 64 KiB; a long comment could push a DOCTYPE past them. By
    the root's start event libxml2 has read the whole internal subset, unexpanded.
    """
    dtd = root.getroottree().docinfo.internalDTD
    entities = dtd.iterentities() if dtd is not None else ()  # type: ignore[attr-defined]
    if any(True for _ in entities):
        raise ScanFormatError(
            "the XML declares entities (<!ENTITY ...>); scan reports never do, and such "
            "files are refused",
            line=xmlsafe.line_of(root),
        )


def copy_filtered(
    source: BinaryIO, out: BinaryIO, containers: frozenset[Path], decide: Decide
) -> None:
    """Write the document again with only the container children `decide` returns True for.

    `decide` sees every event in order (so it can track which container it is in); its answer
    matters only for "child" events. Containers are always written, with their attributes;
    their own text between children is whitespace in every supported format and is dropped,
    while each written child keeps its tail. The DOCTYPE is not copied: DefectDojo does not
    need it and a subset must not point anywhere.
    """
    copy_split(
        source,
        [out],
        containers,
        lambda kind, path, element: EVERY if decide(kind, path, element) else (),
    )


def copy_split(
    source: BinaryIO, outs: Sequence[BinaryIO], containers: frozenset[Path], route: Route
) -> None:
    """`copy_filtered` into several documents in one walk.

    Every output gets the root and the containers. For a "child" event `route` answers
    which outputs get which element, as `(position in outs, element)` pairs (a pruned copy
    per output where they differ), or `EVERY` for the element as it is in every output;
    its answer to other events is ignored.
    """
    with contextlib.ExitStack() as stack:
        writers = xmlsafe.open_writers(stack, outs)
        opened: list[list[Any]] = []
        for kind, path, element in walk(source, containers):
            parts = route(kind, path, element)
            if kind == "open":
                attributes = {str(key): str(value) for key, value in element.items()}
                namespaces = {key: str(value) for key, value in element.nsmap.items()}
                contexts = [
                    writer.element(element.tag, attributes, nsmap=namespaces or None)
                    for writer in writers
                ]
                for context in contexts:
                    context.__enter__()
                opened.append(contexts)
            elif kind == "close":
                for context in opened.pop():
                    context.__exit__(None, None, None)
            elif parts is EVERY:
                for writer in writers:
                    writer.write(element)
            else:
                for position, part in parts:
                    writers[position].write(part)
