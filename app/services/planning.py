"""Parse and route a scan: the part of an upload that runs before anything is pushed.

Runs synchronously (it is CPU work over a local file) and yields batches of unassigned
records so the caller can store them as it goes; memory stays bounded by the batch size plus
one compact list of record indexes per product.
"""

from __future__ import annotations

import bisect
import itertools
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from typing import BinaryIO

from app.formats.base import SEVERITY_RANK, Record, ScanFormat
from app.matching.router import Decision, Router

BATCH_SIZE = 2000


@dataclass(slots=True)
class Share:
    """The records of one upload routed to one product."""

    product_id: int
    indexes: array[int] = field(default_factory=lambda: array("i"))
    hosts: set[str] = field(default_factory=set)

    def add(self, record: Record) -> None:
        self.indexes.append(record.index)
        shown = record.host.display()
        if shown:
            self.hosts.add(shown)


@dataclass(slots=True)
class Plan:
    """Where every record of a scan goes."""

    parsed: int = 0
    dropped: int = 0
    shares: dict[int, Share] = field(default_factory=dict)
    unassigned: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def routed(self) -> int:
        return sum(len(share.indexes) for share in self.shares.values())


Routed = tuple[Record, Decision]


def plan_records(
    fmt: ScanFormat,
    source: BinaryIO,
    *,
    router: Router,
    minimum_severity: str,
    plan: Plan,
    keep_routed: bool = False,
) -> Iterator[list[Routed]]:
    """Route every record of `source` into `plan`; yield batches of records to keep.

    A yielded batch holds the unassigned records (and, with `keep_routed`, the routed ones
    too, for a dry run's item lists).
    """
    floor = SEVERITY_RANK[minimum_severity]
    batch: list[Routed] = []
    for record in fmt.records(source):
        plan.parsed += 1
        if SEVERITY_RANK.get(record.severity, 0) < floor:
            plan.dropped += 1
            continue
        decision = router.route_record(record)
        if decision.decision == "routed" and decision.product_id is not None:
            share = plan.shares.get(decision.product_id)
            if share is None:
                share = plan.shares[decision.product_id] = Share(decision.product_id)
            share.add(record)
            if not keep_routed:
                continue
        else:
            plan.unassigned += 1
            plan.by_reason[decision.decision] = plan.by_reason.get(decision.decision, 0) + 1
        batch.append((record, decision))
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def records_at(fmt: ScanFormat, source: BinaryIO, indexes: set[int]) -> Iterator[Record]:
    """The records of the file whose index is in `indexes`, in file order."""
    remaining = len(indexes)
    for record in fmt.records(source):
        if record.index in indexes:
            yield record
            remaining -= 1
            if remaining == 0:
                return


def write_subsets(
    fmt: ScanFormat, source: BinaryIO, keeps: Mapping[int, Set[int]], outs: Mapping[int, BinaryIO]
) -> dict[int, int]:
    """Write one subset document per share (`keeps[k]` into `outs[k]`); records written by k.

    A share's subset costs a whole
    pass over the file, so an upload split over hundreds of products would otherwise read
    it hundreds of times: formats that can write every subset in one pass
    (`write_subsets`) do so; for the others the shares are split in groups, each group's
    subset written once and split again, so the file is read about FANOUT x log(shares)
    times. That relies on the subset writer's contract: the records of a subset are the
    kept records, in file order, numbered from 0.
    """
    many: Callable[..., dict[int, int]] | None = getattr(fmt, "write_subsets", None)
    if many is not None and not _disjoint(keeps.values()):
        many = None
    written: dict[int, int] = {}
    for start in range(0, len(keeps), MAX_OPEN_SUBSETS):
        part = dict(itertools.islice(keeps.items(), start, start + MAX_OPEN_SUBSETS))
        source.seek(0)
        if many is not None:
            written.update(many(source, part, outs))
        else:
            _split_subsets(fmt, source, part, outs, written)
    return written


def _disjoint(shares: Iterable[Set[int]]) -> bool:
    """Whether no record is in two shares (a byte per record of the largest index)."""
    shares = list(shares)
    seen = bytearray(max((max(s) for s in shares if s), default=-1) + 1)
    for share in shares:
        for index in share:
            if seen[index]:
                return False
            seen[index] = 1
    return True


MAX_OPEN_SUBSETS = 512
"""Subsets written in one pass at most (each holds an open output and its writer)."""
FANOUT = 4


def _split_subsets(
    fmt: ScanFormat,
    source: BinaryIO,
    keeps: Mapping[int, Set[int]],
    outs: Mapping[int, BinaryIO],
    written: dict[int, int],
    fanout: int = FANOUT,
) -> None:
    """Write the subsets of `keeps` from `source`, splitting groups of more than `fanout`."""
    if len(keeps) <= fanout:
        for key, keep in keeps.items():
            source.seek(0)
            written[key] = fmt.write_subset(source, keep, outs[key])
        return
    keys = list(keeps)
    size = -(-len(keys) // FANOUT)
    for group in (keys[i : i + size] for i in range(0, len(keys), size)):
        union = array("i", sorted(itertools.chain.from_iterable(keeps[k] for k in group)))
        with tempfile.TemporaryFile() as part:
            source.seek(0)
            if fmt.write_subset(source, set(union), part) != len(union):
                # The subset holds records beyond the kept ones (Nexpose's per-node
                # findings), so its numbering is not the kept records': write directly.
                direct = {k: keeps[k] for k in group}
                _split_subsets(fmt, source, direct, outs, written, fanout=len(group))
                continue
            renumbered = {k: {bisect.bisect_left(union, i) for i in keeps[k]} for k in group}
            _split_subsets(fmt, part, renumbered, outs, written)
