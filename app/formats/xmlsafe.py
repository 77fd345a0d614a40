"""Safe, streaming XML reading and writing shared by the XML format modules.

Scan reports arrive from anyone with a token, so the parser never resolves entities, never
loads a DTD and never touches the network. Real scanner reports never declare entities, so
a document whose prologue declares one is refused outright (this stops XXE and "billion
laughs" before libxml2 sees them, whatever its own limits are).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from app.formats.base import ScanFormatError

PROLOGUE_BYTES = 64 * 1024
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)[\s/>]")


def read_prologue(source: BinaryIO) -> bytes:
    """The first bytes of the file, with the read position restored."""
    position = source.tell()
    head = source.read(PROLOGUE_BYTES)
    source.seek(position)
    return head


def root_tag(head: bytes) -> str | None:
    """The name of the root element, found in the first bytes of a document."""
    text = _strip_prologue_noise(head)
    match = _ROOT_TAG.search(text)
    return match.group(1).decode("ascii", "replace") if match else None


def _strip_prologue_noise(head: bytes) -> bytes:
    """Drop the XML declaration, comments, processing instructions and DOCTYPE."""
    text = re.sub(rb"<\?.*?\?>", b"", head, flags=re.DOTALL)
    text = re.sub(rb"<!--.*?-->", b"", text, flags=re.DOTALL)
    return re.sub(rb"<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", b"", text, flags=re.DOTALL)


def refuse_entities(head: bytes) -> None:
    """Raise when the document's prologue declares entities."""
    if _ENTITY_DECLARATION.search(head):
        raise ScanFormatError(
            "the XML declares entities (<!ENTITY ...>); scan reports never do, and such "
            "files are refused because entities can read local files or expand without bound"
        )


def expect_root(source: BinaryIO, expected: str, what: str) -> None:
    """Raise a ScanFormatError naming `what` when the document's root is not `expected`."""
    head = read_prologue(source)
    if not head.strip():
        raise ScanFormatError(f"the file is empty; expected {what}")
    refuse_entities(head)
    found = root_tag(head)
    if found != expected:
        shown = f"root element <{found}>" if found else "no XML root element"
        raise ScanFormatError(f"expected {what} (root element <{expected}>), found {shown}")


def iterparse(
    source: BinaryIO,
    *,
    events: tuple[str, ...] = ("end",),
    tag: str | tuple[str, ...] | None = None,
) -> Iterator[tuple[str, etree._Element]]:
    """lxml's iterparse with every dangerous feature off; syntax errors become ScanFormatError."""
    refuse_entities(read_prologue(source))
    parser = etree.iterparse(
        source,
        events=events,
        tag=tag,
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        yield from parser
    except etree.XMLSyntaxError as error:
        line, column = error.position
        raise ScanFormatError(
            f"the file is not well-formed XML: {error.msg}", line=line, column=column
        ) from error


def release(element: etree._Element) -> None:
    """Free a processed element and the already-processed siblings before it."""
    element.clear(keep_tail=True)  # type: ignore[call-arg]  # lxml-stubs predate keep_tail
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        previous = element.getprevious()
        assert previous is not None
        parent.remove(previous)


def text_of(element: etree._Element, child: str) -> str | None:
    """Stripped text of a direct child element, or None when missing or empty."""
    found = element.find(child)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None
