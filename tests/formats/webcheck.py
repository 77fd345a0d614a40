"""Checks shared by the tests of the web-scanner and Generic format modules.

`round_trip` is the subset contract: writing a subset and parsing it again gives exactly
the kept records, in order, with every field but the index unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Set
from typing import Any

from app.formats.base import Record, ScanFormat


def parse(fmt: ScanFormat, data: bytes) -> list[Record]:
    return list(fmt.records(io.BytesIO(data)))


def essence(record: Record) -> tuple[Any, ...]:
    """Everything DefectDojo shows of a record; the index is only its position in a file."""
    return (
        record.title,
        record.severity,
        record.host,
        record.port,
        record.protocol,
        record.date,
        record.scanner_id,
        record.vulnerability_ids,
    )


def subset(fmt: ScanFormat, data: bytes, keep: Set[int]) -> tuple[int, bytes]:
    out = io.BytesIO()
    written = fmt.write_subset(io.BytesIO(data), keep, out)
    return written, out.getvalue()


def round_trip(fmt: ScanFormat, data: bytes, keep: Set[int]) -> bytes:
    """Assert the subset of `keep` parses to exactly the kept records; return the subset."""
    original = parse(fmt, data)
    expected = [essence(r) for r in original if r.index in keep]
    written, document = subset(fmt, data, keep)
    assert written == len(expected)
    assert [essence(r) for r in parse(fmt, document)] == expected
    return document


def pairs(records: list[Record]) -> set[tuple[str, str | None]]:
    """The (finding title, endpoint host) pairs, the check of design section 2a."""
    return {(r.title, r.host.dd_host) for r in records}
