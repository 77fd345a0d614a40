"""Parse and route a scan: the part of an upload that runs before anything is pushed.

Runs synchronously (it is CPU work over a local file) and yields batches of unassigned
records so the caller can store them as it goes; memory stays bounded by the batch size plus
one compact list of record indexes per product.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterator, Mapping, Set
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

    Every share's subset in one pass over the file (`ScanFormat.write_subsets`): a pass per
    share would read the file hundreds of times for an upload split over hundreds of
    products. The shares of an upload are disjoint, as the format requires. The pass keeps
    a writer open per share, so more than MAX_OPEN_SUBSETS shares take more passes.
    """
    written: dict[int, int] = {}
    for start in range(0, len(keeps), MAX_OPEN_SUBSETS):
        part = dict(itertools.islice(keeps.items(), start, start + MAX_OPEN_SUBSETS))
        source.seek(0)
        written.update(fmt.write_subsets(source, part, outs))
    return written


MAX_OPEN_SUBSETS = 512
"""Subsets written in one pass at most (each holds an open output and its writer)."""
