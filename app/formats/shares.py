"""Which share each record goes to, for subset writers that serve many shares in one pass.

Writing each product's subset on its own reads the whole file once per product; a writer
that knows every share can write all subsets in one pass. It looks a record up by index,
so the shares are turned into one array (4 bytes a record) instead of a dict or a set per
record.

Most formats group records in *units* (a host, an alert item, a finding with several
endpoints) that a subset prunes to its kept records. A one-pass writer finds the shares
holding any record of a unit (`slots_in`), gives each its own copy of the unit (`copies`)
and prunes that copy exactly as the single-share writer would, with the share's records
as the kept set (`Held`): so every subset is the one `write_subset` alone gives. A format
built on `OnePass` writes a single subset as that pass with one share.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from array import array
from collections.abc import Mapping, Sequence, Set
from copy import deepcopy
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

K = TypeVar("K")
T = TypeVar("T")


def owners(shares: Sequence[Set[int]]) -> array[int]:
    """Record index → position of the share holding it, -1 for none.

    Raises ValueError when a record is in two shares: a record goes to one product.
    """
    owner = array("i", [-1]) * (max((max(s) for s in shares if s), default=-1) + 1)
    for slot, share in enumerate(shares):
        for index in share:
            if owner[index] != -1:
                raise ValueError(f"record {index} is in two shares")
            owner[index] = slot
    return owner


def keyed(keys: Sequence[K], written: Sequence[int]) -> dict[K, int]:
    """The records written per share, by the shares' own keys."""
    return dict(zip(keys, written, strict=True))


def ordered(keeps: Mapping[K, Set[int]]) -> tuple[list[K], array[int]]:
    """The shares' keys in a fixed order, and the owner array by position in that order."""
    keys = list(keeps)
    return keys, owners([keeps[key] for key in keys])


def slot_of(owner: array[int], index: int) -> int:
    """The position of the share holding record `index`, -1 for none."""
    return owner[index] if index < len(owner) else -1


def slots_in(owner: array[int], start: int, stop: int) -> list[int]:
    """The shares holding any of the records `start` to `stop - 1`, by their first record."""
    return [slot for slot in dict.fromkeys(owner[start:stop]) if slot >= 0]


def copies(unit: T, count: int) -> list[T]:
    """`unit` itself and `count - 1` deep copies, all made before any of them is pruned."""
    return [unit, *(deepcopy(unit) for _ in range(count - 1))] if count else []


@dataclass(frozen=True, slots=True)
class Held:
    """The records of one share as a kept set (`index in held`), read from the owner array."""

    owner: array[int]
    slot: int

    def __contains__(self, index: object) -> bool:
        return (
            isinstance(index, int)
            and 0 <= index < len(self.owner)
            and self.owner[index] == self.slot
        )


class OnePass(ABC):
    """A format whose subset writer serves many shares in one pass (`write_subsets`); the
    subset of one share is that pass with the share alone."""

    @abstractmethod
    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """`ScanFormat.write_subsets`."""

    def write_subset(self, source: BinaryIO, keep: Set[int], out: BinaryIO) -> int:
        """`ScanFormat.write_subset`: `write_subsets` with one share."""
        return self.write_subsets(source, {0: keep}, {0: out})[0]
