"""Small readers the double's parsers share, each mirroring one habit of DefectDojo's parsers.

- `children`: DefectDojo iterates ElementTree elements, which never yields comments; lxml
  does, so element children are filtered here.
- `required`: DefectDojo indexes `findall(tag)[0]` or concatenates `.text` without a check;
  a missing value there crashes the parser, which the import answers with a 500.
- `url_endpoint`: the `Endpoint.from_uri(x if "://" in x else "//" + x)` idiom of the URL
  based parsers (Generic, Nuclei).
- `parse_date`: dateutil, as DefectDojo's parsers read free-form dates.
- `endpoint_text`: `str(Endpoint)`, which parsers use in merge keys and hash codes include.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TypeVar

from dateutil import parser as date_parser
from lxml import etree

from tests.fakedojo.parsed import ParsedEndpoint, ParserError

T = TypeVar("T")


def children(node: etree._Element) -> Iterator[etree._Element]:
    """The element children of `node`, without comments or processing instructions."""
    return node.iterchildren(tag=etree.Element)


def required(value: T | None, what: str) -> T:
    """`value`, or the ParserError DefectDojo's unchecked access would end in."""
    if value is None:
        raise ParserError(f"missing {what}")
    return value


def first_text(node: etree._Element, tag: str) -> str:
    """`node.findall(tag)[0].text` where DefectDojo needs a string from it."""
    found = node.findall(tag)
    if not found:
        raise ParserError(f"<{node.tag}> without <{tag}>")
    return required(found[0].text, f"text of <{tag}>")


def url_endpoint(text: str) -> ParsedEndpoint:
    """DefectDojo's endpoint of a URL or of a bare `host[:port][/path]`."""
    return ParsedEndpoint.from_uri(text if "://" in text else "//" + text)


def parse_date(text: str) -> dt.date:
    """dateutil's reading of a date; unreadable text fails the import."""
    try:
        return date_parser.parse(text).date()
    except (ValueError, OverflowError) as exc:
        raise ParserError(f"unreadable date {text!r}") from exc


def endpoint_text(endpoint: ParsedEndpoint) -> str:
    """`str(Endpoint)` closely enough for the keys and hash codes that include endpoints."""
    text = f"{endpoint.protocol}://" if endpoint.protocol else ""
    text += f"{endpoint.userinfo}@" if endpoint.userinfo else ""
    text += endpoint.host
    text += f":{endpoint.port}" if endpoint.port is not None else ""
    text += f"/{endpoint.path}" if endpoint.path else ""
    text += f"?{endpoint.query}" if endpoint.query else ""
    return text + (f"#{endpoint.fragment}" if endpoint.fragment else "")
