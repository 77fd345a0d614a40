"""Safe, streaming XML reading and writing shared by the XML format modules.

Scan reports arrive from anyone with a token, so the parser never resolves entities, never
loads a DTD and never touches the network. Real scanner reports never declare entities, so
a document whose prologue declares one is refused outright (this stops XXE and "billion
laughs" before libxml2 sees them, whatever its own limits are).

The prologue checks look at the first bytes through `readable_head`, which lets them see
into UTF-16 documents (libxml2 and DefectDojo read those natively) and refuses encodings
that would hide markup from byte patterns (UTF-32, UTF-7, EBCDIC).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from typing import Any, BinaryIO

from lxml import etree

from app.formats.base import ScanFormatError

PROLOGUE_BYTES = 64 * 1024
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)[\s/>]")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_READABLE_ENCODINGS = re.compile(
    r"^(utf-?8|utf-?16(le|be)?|us-ascii|ascii|iso-?8859-\d+|latin-?1|windows-125\d|cp125\d)$",
    re.IGNORECASE,
)
_WIDE: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)


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


def readable_head(head: bytes) -> bytes:
    """The first bytes of a document as ASCII-compatible bytes, for the prologue checks:
    a UTF-16 head is transcoded to UTF-8; UTF-32 and declared encodings that are not
    ASCII-compatible are refused (no scanner writes them)."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ScanFormatError("the file is UTF-32 encoded; export the report as UTF-8", line=1)
    for prefix, codec in _WIDE:
        if head.startswith(prefix):
            return head.decode(codec, "replace").encode("utf-8")
    match = _DECLARED_ENCODING.match(head.removeprefix(codecs.BOM_UTF8))
    if match and not _READABLE_ENCODINGS.match(match.group(1).decode("ascii")):
        raise ScanFormatError(
            f"the XML declares encoding {match.group(1).decode('ascii')!r}; "
            "export the report as UTF-8",
            line=1,
        )
    return head


def root_of(head: bytes) -> str | None:
    """The root element's tag from a document's first bytes, UTF-16 included; never raises."""
    try:
        return root_tag(readable_head(head))
    except ScanFormatError:
        return None


def _checked_prologue(source: BinaryIO, what: str) -> str | None:
    """The root tag after the prologue checks (empty file, encoding, entities); the read
    position is kept."""
    head = read_prologue(source)
    if not head.strip():
        raise ScanFormatError(f"the file is empty; expected {what}")
    readable = readable_head(head)
    refuse_entities(readable)
    return root_tag(readable)


def checked_root(source: BinaryIO, what: str) -> str:
    """The root tag of a document after the prologue checks, naming `what` was expected."""
    found = _checked_prologue(source, what)
    if found is None:
        raise ScanFormatError(f"expected {what}, found no XML root element", line=1)
    return found


def expect_root(source: BinaryIO, expected: str, what: str) -> None:
    """Raise a ScanFormatError naming `what` when the document's root is not `expected`."""
    found = _checked_prologue(source, what)
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


def open_writers(stack: ExitStack, outs: Iterable[BinaryIO]) -> list[Any]:
    """An incremental UTF-8 writer (`etree.xmlfile`) per output, its XML declaration
    written; `stack` closes them."""
    writers = [stack.enter_context(etree.xmlfile(out, encoding="utf-8")) for out in outs]
    for writer in writers:
        writer.write_declaration()
    return writers


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


def line_of(element: etree._Element) -> int | None:
    """The line an element starts on, for error messages."""
    line: object = element.sourceline
    return line if isinstance(line, int) else None


def text_of(element: etree._Element, child: str) -> str | None:
    """Stripped text of a direct child element, or None when missing or empty."""
    found = element.find(child)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None
