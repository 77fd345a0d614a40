"""Streaming JSON reading shared by the JSON format modules.

A JSON report can be large (one object per finding), so it is never loaded whole: ijson
yields parse events and this module builds one item at a time from them. Items are built
without recursion and refused past `MAX_DEPTH` levels of nesting, so a hostile
``[[[[…]]]]`` neither exhausts the stack here nor later when an item is written back out.

Errors are `ScanFormatError`s carrying the 1-based number of the item being read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson

from app.formats.base import ScanFormatError

MAX_DEPTH = 64
"""Deepest nesting accepted inside one item; scanner output stays under ten."""

Event = tuple[str, Any]

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"


def refuse_non_utf8(head: bytes, what: str) -> None:
    """Raise when the file starts with a UTF-16/32 byte order mark or NUL bytes."""
    if head.startswith(_UTF16_BOMS) or b"\x00" in head[:4]:
        raise ScanFormatError(
            f"the file is encoded as UTF-16 or UTF-32; {what} must be UTF-8", line=1, column=1
        )


def skip_utf8_bom(source: BinaryIO) -> None:
    """Move past a UTF-8 byte order mark, which Python's json (and so DefectDojo) accepts."""
    position = source.tell()
    if source.read(len(_UTF8_BOM)) != _UTF8_BOM:
        source.seek(position)


def events(source: BinaryIO) -> Iterator[Event]:
    """ijson's basic events, floats as float (as Python's json gives them to DefectDojo)."""
    return iter(ijson.basic_parse(source, use_float=True))


def next_event(stream: Iterator[Event], record: int) -> Event:
    """The next parse event; a syntax error or early end becomes a ScanFormatError."""
    try:
        return next(stream)
    except StopIteration:
        raise ScanFormatError("the JSON document ends too early", record=record) from None
    except (ijson.JSONError, UnicodeDecodeError) as error:
        raise ScanFormatError(
            f"the file is not valid JSON: {_first_line(error)}", record=record
        ) from error


def build(stream: Iterator[Event], first: Event, record: int) -> Any:
    """The complete value that starts with event `first`, read from `stream`."""
    kind, value = first
    if kind not in ("start_map", "start_array"):
        return value
    root: Any = {} if kind == "start_map" else []
    stack: list[Any] = [root]
    keys: list[str | None] = [None]
    while stack:
        kind, value = next_event(stream, record)
        if kind == "map_key":
            keys[-1] = value
            continue
        if kind in ("end_map", "end_array"):
            stack.pop()
            keys.pop()
            continue
        if kind in ("start_map", "start_array"):
            if len(stack) >= MAX_DEPTH:
                raise ScanFormatError(
                    f"the JSON nests deeper than {MAX_DEPTH} levels", record=record
                )
            child: Any = {} if kind == "start_map" else []
            _attach(stack[-1], keys[-1], child)
            stack.append(child)
            keys.append(None)
            continue
        _attach(stack[-1], keys[-1], value)
    return root


def skip(stream: Iterator[Event], first: Event, record: int) -> None:
    """Consume the value that starts with event `first` without building it."""
    depth = 1 if first[0] in ("start_map", "start_array") else 0
    while depth:
        kind, _ = next_event(stream, record)
        if kind in ("start_map", "start_array"):
            depth += 1
            if depth > MAX_DEPTH:
                raise ScanFormatError(
                    f"the JSON nests deeper than {MAX_DEPTH} levels", record=record
                )
        elif kind in ("end_map", "end_array"):
            depth -= 1


def expect_end(stream: Iterator[Event], record: int) -> None:
    """Raise when anything but whitespace follows the document."""
    try:
        extra = next(stream, None)
    except (ijson.JSONError, UnicodeDecodeError) as error:
        raise ScanFormatError(
            f"the file is not valid JSON: {_first_line(error)}", record=record
        ) from error
    if extra is not None:
        raise ScanFormatError("unexpected content after the JSON document", record=record)


def array_items(stream: Iterator[Event], first_record: int = 1) -> Iterator[tuple[int, Any]]:
    """(number, item) for each item of an array whose ``start_array`` was just read."""
    number = first_record
    while True:
        event = next_event(stream, number)
        if event[0] == "end_array":
            return
        yield number, build(stream, event, number)
        number += 1


def _attach(container: Any, key: str | None, value: Any) -> None:
    if isinstance(container, list):
        container.append(value)
    else:
        container[key] = value


def _first_line(error: Exception) -> str:
    """yajl appends a multi-line caret picture to its messages; keep the sentence."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
