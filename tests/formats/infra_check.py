"""Checks shared by the tests of every format module.

The subset contract: parsing a written subset gives exactly the kept records, in file
order, with everything DefectDojo shows of them unchanged (the index is only a position).
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


def assert_round_trip(fmt: ScanFormat, data: bytes, keep: Set[int]) -> bytes:
    """Write the subset of `keep`, parse it back, and compare with the kept records; return
    the subset."""
    expected = [essence(r) for r in parse(fmt, data) if r.index in keep]
    written, document = subset(fmt, data, keep)
    assert [essence(r) for r in parse(fmt, document)] == expected
    assert written == len(expected)
    return document


def host_subsets(records: list[Record]) -> list[frozenset[str | None]]:
    """Each single DefectDojo host, and the first half of the hosts together."""
    hosts = sorted({r.host.dd_host for r in records}, key=str)
    singles = [frozenset({host}) for host in hosts]
    return [*singles, frozenset(hosts[: max(1, len(hosts) // 2)])]


def indices_on(records: list[Record], hosts: Set[str | None]) -> set[int]:
    return {r.index for r in records if r.host.dd_host in hosts}
