"""Which share each record goes to, for subset writers that serve many shares in one pass.

Writing each product's subset on its own reads the whole file once per product; a writer
that knows every share can write all subsets in one pass. It looks a record up by index,
so the shares are turned into one array (4 bytes a record) instead of a dict or a set per
record.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence, Set
from typing import TypeVar

K = TypeVar("K")


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
