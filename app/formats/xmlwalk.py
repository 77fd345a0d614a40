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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import BinaryIO, Literal

from lxml import etree

from app.formats import xmlsafe
from app.formats.base import ScanFormatError

Path = tuple[str, ...]
EventKind = Literal["open", "child", "close"]
Event = tuple[EventKind, Path, etree._Element]
Decide = Callable[[EventKind, Path, etree._Element], bool]

_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_ASCII_COMPATIBLE = re.compile(
    r"^(utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?1|windows-125\d|cp125\d)$", re.IGNORECASE
)


def refuse_unsafe_encoding(head: bytes) -> None:
    """Raise unless the document is in an ASCII-compatible encoding.

    The entity check of `xmlsafe` looks for the bytes `<!ENTITY`; a UTF-16, UTF-32 or UTF-7
    document would hide them. Scanners write UTF-8, so anything else is refused with a hint.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:512]:
        raise ScanFormatError(
            "the file is UTF-16 or UTF-32 encoded; export the report as UTF-8", line=1, column=1
        )
    match = _DECLARED_ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    if match and not _ASCII_COMPATIBLE.match(match.group(1).decode("ascii")):
        raise ScanFormatError(
            f"the XML declares encoding {match.group(1).decode('ascii')!r}; "
            "export the report as UTF-8",
            line=1,
        )


def walk(source: BinaryIO, containers: frozenset[Path]) -> Iterator[Event]:
    """Stream the container events of a document (see the module docstring).

    `containers` holds the paths to open; every container's parent path must be a container
    too (the root, `()`, always is). Raises ScanFormatError with line and column on any
    syntax error, including a truncated file.
    """
    refuse_unsafe_encoding(xmlsafe.read_prologue(source))
    stack: list[Path | None] = []
    for event, element in xmlsafe.iterparse(source, events=("start", "end")):
        if event == "start":
            if not stack:
                stack.append(())
                yield "open", (), element
                continue
            parent = stack[-1]
            if parent is None:
                stack.append(None)
                continue
            path = (*parent, element.tag)
            if path in containers:
                stack.append(path)
                yield "open", path, element
            else:
                stack.append(None)
            continue
        mine = stack.pop()
        if mine is not None:
            yield "close", mine, element
            xmlsafe.release(element)
        elif stack and stack[-1] is not None:
            yield "child", stack[-1], element
            xmlsafe.release(element)


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
    with etree.xmlfile(out, encoding="utf-8") as writer:
        writer.write_declaration()
        opened: list[object] = []
        for kind, path, element in walk(source, containers):
            keep = decide(kind, path, element)
            if kind == "open":
                attributes = {str(key): str(value) for key, value in element.items()}
                namespaces = {key: str(value) for key, value in element.nsmap.items()}
                context = writer.element(element.tag, attributes, nsmap=namespaces or None)
                context.__enter__()
                opened.append(context)
            elif kind == "child":
                if keep:
                    writer.write(element)
            else:
                opened.pop().__exit__(None, None, None)  # type: ignore[attr-defined]


def line_of(element: etree._Element) -> int | None:
    """The line an element starts on, for error messages."""
    line = element.sourceline
    return line if isinstance(line, int) else None
