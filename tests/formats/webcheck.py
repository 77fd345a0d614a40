"""Checks shared by the tests of the web-scanner and Generic format modules (the subset
contract, shared by every format, is in `infra_check`)."""

from __future__ import annotations

from app.formats.base import Record, ScanFormat, ScanFormatError
from tests.formats import hostile
from tests.formats.infra_check import parse


def pairs(records: list[Record]) -> set[tuple[str, str | None]]:
    """The (finding title, endpoint host) pairs, the check of design section 2a."""
    return {(r.title, r.host.dd_host) for r in records}


def xml_hostile_cases(root: str, valid: bytes) -> dict[str, bytes]:
    """Name → XML document every reader of root `root` must refuse (from `hostile` plus
    nesting past libxml2's depth limit, a declared UTF-7 encoding and another root)."""
    open_tag, close_tag = f"<{root}>".encode(), f"</{root}>".encode()
    return {
        "empty": hostile.empty(),
        "xxe": hostile.xxe(root),
        "billion-laughs": hostile.billion_laughs(root),
        "truncated": hostile.truncated(valid),
        "malformed": hostile.malformed_xml(valid),
        "utf-16": hostile.utf16_xml(valid),
        "deep": open_tag + b"<a>" * 300 + b"</a>" * 300 + close_tag,
        "utf-7": b'<?xml version="1.0" encoding="UTF-7"?>' + open_tag + close_tag,
        "wrong-root": b'<?xml version="1.0"?><nmaprun scanner="nmap"></nmaprun>',
    }


def assert_no_external_dtd(fmt: ScanFormat, root: str) -> None:
    """A DOCTYPE naming a DTD on a listening socket is not fetched, its entity not expanded."""
    with hostile.listening_socket() as (url, contacted):
        try:
            records = parse(fmt, hostile.external_dtd(root, url))
        except ScanFormatError:
            records = []
        assert records == []
        assert not contacted()
