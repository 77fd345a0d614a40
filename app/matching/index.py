"""The endpoint index: which products' DefectDojo endpoints carry a host, and a host:port.

Built from DefectDojo's endpoint rows `(product_id, host, port)`; each host is normalised
(`identity.split_host_port`, so a row whose host is a URL or `host:port` counts too, its own
port column winning over a port inside the host text).

Layout, chosen for size and for the garbage collector: two dicts keyed by host,

- `products[host]` — the frozenset of products with any endpoint on the host (host level);
- `ports[host]` — a frozenset of the host's ports (None for port-less rows) when every one of
  them belongs to exactly `products[host]` (the usual case: a host in one product, or in
  several with the same ports), else a dict port → frozenset of products.

Product sets and port sets are interned, so a million endpoints over a few hundred products
share a few thousand small sets: the index costs about two dict slots and one host string
per host, and holds no object per host that the cyclic garbage collector must walk (a tuple
per host would add hundreds of thousands of them to every full collection).

A `MatchIndex` is immutable; `with_rows` returns a grown copy, as the service does after its
own pushes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TypeVar

from app.matching.identity import split_host_port

EMPTY: frozenset[int] = frozenset()

Row = tuple[int, str, int | None]
PortKey = int | None
Ports = frozenset[PortKey] | dict[PortKey, frozenset[int]]
Pairs = set[tuple[PortKey, int]]

_T = TypeVar("_T")


class _Interner:
    """Hands out one shared instance per equal immutable value."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[object, object] = {}

    def __call__(self, value: _T) -> _T:
        shared = self._seen.setdefault(value, value)
        return shared  # type: ignore[return-value]


class MatchIndex:
    """Normalised host → products, and (host, port) → products; immutable once built."""

    __slots__ = ("_by_product", "_ports", "_products", "_rows", "_skipped")

    def __init__(
        self,
        products: dict[str, frozenset[int]],
        ports: dict[str, Ports],
        *,
        rows: int,
        by_product: dict[int, int],
        skipped: int,
    ) -> None:
        """Use `build` or `with_rows`; the arguments are the index's own internals."""
        self._products = products
        self._ports = ports
        self._rows = rows
        self._by_product = by_product
        self._skipped = skipped

    @classmethod
    def build(cls, rows: Iterable[Row]) -> MatchIndex:
        """Index DefectDojo endpoint rows `(product_id, raw host, port or None)`.

        Rows whose host is not a usable host name or address are skipped and counted
        (`skipped_rows`); duplicate rows count once.
        """
        pairs, skipped = _collect(rows)
        intern = _Interner()
        products: dict[str, frozenset[int]] = {}
        ports: dict[str, Ports] = {}
        by_product: dict[int, int] = {}
        total = 0
        for host, host_pairs in pairs.items():
            products[host], ports[host] = _encode(host_pairs, intern)
            total += len(host_pairs)
            for _, product in host_pairs:
                by_product[product] = by_product.get(product, 0) + 1
        return cls(products, ports, rows=total, by_product=by_product, skipped=skipped)

    def with_rows(self, rows: Iterable[Row]) -> MatchIndex:
        """A copy of this index with more endpoint rows (rows already present change nothing)."""
        added, skipped = _collect(rows)
        products = dict(self._products)
        ports = dict(self._ports)
        by_product = dict(self._by_product)
        intern = _Interner()
        total = self._rows
        for host, new_pairs in added.items():
            known = self._pairs(host)
            fresh = new_pairs - known
            if not fresh:
                continue
            products[host], ports[host] = _encode(known | fresh, intern)
            total += len(fresh)
            for _, product in fresh:
                by_product[product] = by_product.get(product, 0) + 1
        return MatchIndex(
            products,
            ports,
            rows=total,
            by_product=by_product,
            skipped=self._skipped + skipped,
        )

    def _pairs(self, host: str) -> Pairs:
        """The (port, product) pairs of a host; the inverse of `_encode`."""
        ports = self._ports.get(host)
        if ports is None:
            return set()
        if isinstance(ports, frozenset):
            return {(port, product) for port in ports for product in self._products[host]}
        return {(port, product) for port, at in ports.items() for product in at}

    def products_for_host(self, host: str) -> frozenset[int]:
        """Products with any endpoint on `host` (normalised)."""
        return self._products.get(host, EMPTY)

    def products_for_host_port(self, host: str, port: int) -> frozenset[int]:
        """Products with an endpoint on exactly `host` (normalised) and `port`."""
        ports = self._ports.get(host)
        if ports is None:
            return EMPTY
        if isinstance(ports, frozenset):
            return self._products[host] if port in ports else EMPTY
        return ports.get(port, EMPTY)

    def __len__(self) -> int:
        """Distinct endpoint rows (product, host, port) after normalisation."""
        return self._rows

    @property
    def host_count(self) -> int:
        """Distinct normalised hosts."""
        return len(self._products)

    @property
    def skipped_rows(self) -> int:
        """Rows left out because their host was not a usable host name or address."""
        return self._skipped

    @property
    def endpoint_count_by_product(self) -> Mapping[int, int]:
        """Distinct endpoint rows per product id."""
        return MappingProxyType(self._by_product)


def _collect(rows: Iterable[Row]) -> tuple[dict[str, Pairs], int]:
    """Group rows by normalised host as sets of (port, product); count unusable rows."""
    pairs: dict[str, Pairs] = {}
    seen: dict[str, tuple[str | None, int | None]] = {}
    skipped = 0
    for product, raw_host, port in rows:
        parsed = seen.get(raw_host)
        if parsed is None:
            parsed = seen[raw_host] = split_host_port(raw_host)
        host, embedded_port = parsed
        if host is None:
            skipped += 1
            continue
        key = (embedded_port if port is None else port, product)
        host_pairs = pairs.get(host)
        if host_pairs is None:
            pairs[host] = {key}
        else:
            host_pairs.add(key)
    return pairs, skipped


def _encode(pairs: Pairs, intern: _Interner) -> tuple[frozenset[int], Ports]:
    """The compact (products, ports) of one host from its (port, product) pairs."""
    by_port: dict[PortKey, set[int]] = {}
    for port, product in pairs:
        products_at = by_port.get(port)
        if products_at is None:
            by_port[port] = {product}
        else:
            products_at.add(product)
    products = intern(frozenset(product for _, product in pairs))
    if all(len(at) == len(products) for at in by_port.values()):
        return products, intern(frozenset(by_port))
    return products, {port: intern(frozenset(at)) for port, at in by_port.items()}
