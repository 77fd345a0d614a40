"""Checks shared by the web-scanner XML formats (ZAP, Burp) before `xmlsafe` parses them.

`xmlsafe` refuses entity declarations by looking for the bytes ``<!ENTITY``. A document in
an encoding that is not ASCII-compatible (UTF-16 and UTF-32, or a declared UTF-7) would hide
them from that check, so such a document is refused first; ZAP and Burp write UTF-8.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from app.formats import xmlsafe
from app.formats.base import ScanFormatError

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_ASCII_COMPATIBLE = re.compile(
    r"^(utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?1|windows-125\d|cp125\d)$", re.IGNORECASE
)


def open_document(source: BinaryIO, root: str, what: str) -> None:
    """Raise unless the document is ASCII-compatible XML whose root element is `root`."""
    head = xmlsafe.read_prologue(source)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:512]:
        raise ScanFormatError(
            f"the file is UTF-16 or UTF-32 encoded; expected {what} in UTF-8", line=1, column=1
        )
    declared = _DECLARED.match(head.removeprefix(b"\xef\xbb\xbf"))
    if declared and not _ASCII_COMPATIBLE.match(declared.group(1).decode("ascii")):
        raise ScanFormatError(
            f"the XML declares encoding {declared.group(1).decode('ascii')!r}; "
            f"expected {what} in UTF-8",
            line=1,
        )
    xmlsafe.expect_root(source, root, what)
