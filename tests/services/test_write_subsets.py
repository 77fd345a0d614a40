"""Writing every product's subset at once gives what writing each one alone gives.

`planning.write_subsets` takes one pass for formats with a `write_subsets` of their own
(.nessus, the CSV exports) and splits shares in groups for the others; either way each
subset must hold exactly the records the single-share writer puts in it.
"""

from __future__ import annotations

import io
import random

import pytest

from app.formats.base import Record, ScanFormat
from app.formats.registry import FORMATS
from app.formats.shares import owners
from app.services.planning import write_subsets
from bench.generate import generate

Shown = tuple[object, ...]


def _scan(name: str) -> bytes:
    out = io.BytesIO()
    generate(name, out, hosts=30, findings=6, seed=3)
    return out.getvalue()


def _shown(record: Record) -> Shown:
    return (record.title, record.severity, record.host, record.port, record.protocol)


def _records(fmt: ScanFormat, document: bytes) -> list[Shown]:
    return [_shown(r) for r in fmt.records(io.BytesIO(document))]


def _alone(fmt: ScanFormat, scan: bytes, keep: set[int]) -> tuple[int, bytes]:
    out = io.BytesIO()
    written = fmt.write_subset(io.BytesIO(scan), keep, out)
    return written, out.getvalue()


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_subset_holds_what_it_holds_alone(name: str) -> None:
    fmt = FORMATS[name]
    scan = _scan(name)
    rng = random.Random(name)
    keeps: dict[int, set[int]] = {}
    for record in fmt.records(io.BytesIO(scan)):
        product = rng.randrange(24)
        if product < 20:
            keeps.setdefault(product, set()).add(record.index)
    outs = {product: io.BytesIO() for product in keeps}

    written = write_subsets(fmt, io.BytesIO(scan), keeps, outs)

    assert len(keeps) > 4
    for product, keep in keeps.items():
        count, alone = _alone(fmt, scan, keep)
        assert written[product] == count
        assert _records(fmt, outs[product].getvalue()) == _records(fmt, alone)


def test_overlapping_shares_are_written_one_by_one() -> None:
    fmt = FORMATS["tenable-xml"]
    scan = _scan("tenable-xml")
    keeps = {1: {0, 1, 2, 3}, 2: {3, 4, 5}}
    outs = {1: io.BytesIO(), 2: io.BytesIO()}

    written = write_subsets(fmt, io.BytesIO(scan), keeps, outs)

    assert written == {1: 4, 2: 3}
    for product, keep in keeps.items():
        assert outs[product].getvalue() == _alone(fmt, scan, keep)[1]


def test_owners_refuse_a_record_in_two_shares() -> None:
    assert list(owners([{0, 2}, {1}])) == [0, 1, 0]
    with pytest.raises(ValueError, match="record 2 is in two shares"):
        owners([{0, 2}, {2}])
