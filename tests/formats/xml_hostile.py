"""Hostile XML documents for a format whose root element is given, shared by the ZAP and
Burp tests: readers must never read a file or the network, never expand entities."""

from __future__ import annotations


def hostile_documents(root: str) -> dict[str, bytes]:
    """Name → document; every one must be refused."""
    open_tag, close_tag = f"<{root}>".encode(), f"</{root}>".encode()
    laughs = b"".join(
        b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">'
        % ((n,) + (n - 1,) * 10)
        for n in range(1, 10)
    )
    return {
        "empty": b"",
        "xxe": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + open_tag
        + b"&x;"
        + close_tag,
        "billion-laughs": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "ha">'
        + laughs
        + b"]>"
        + open_tag
        + b"&l9;"
        + close_tag,
        "deep": open_tag + b"<a>" * 300 + b"</a>" * 300 + close_tag,
        "truncated": open_tag + b"<site><alerts><alertitem><alert>x</al",
        "utf-16": ('<?xml version="1.0" encoding="UTF-16"?>' + f"<{root}></{root}>").encode(
            "utf-16"
        ),
        "utf-7": b'<?xml version="1.0" encoding="UTF-7"?>' + open_tag + close_tag,
        "wrong-root": b'<?xml version="1.0"?><nmaprun scanner="nmap"></nmaprun>',
    }


def external_dtd(root: str, body: bytes) -> bytes:
    """A document naming an external DTD and using an entity only that DTD could define.

    Readers must neither fetch the DTD (no network) nor expand the entity: the document
    reads as if the DTD were absent.
    """
    return (
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">'
        + f"<{root}>".encode()
        + b"&secret;"
        + body
        + f"</{root}>".encode()
    )
