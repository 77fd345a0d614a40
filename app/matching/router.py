"""The routing decision for one record: the product it goes to, or why it goes nowhere.

Precedence (design section 4): the first level that yields products wins —

1. `assignment`: a host → product decision a person made earlier, for any identifier;
2. `endpoint_port`: DefectDojo endpoints on one of the identifiers *and* the record's port;
3. `endpoint_host`: DefectDojo endpoints on one of the identifiers, any port;
4. `rule`: routing rules — per identifier its best rules (`RuleSet.top`); across
   identifiers, those at the lowest priority number.

At the winning level one product → `routed`; several → `ambiguous` with the candidates, also
when the identifiers disagree (the IP is an endpoint of A, the FQDN of B) or when rules tie.
No level yields anything → `no_match`; no usable identifier → `no_host`.

Every decision carries what decided it (`matched`) and a sentence for a person
(`explanation`), the same text the upload summary, the unassigned list and the route
endpoint show. Nothing depends on the order of endpoints or rules: lookups are by set and
candidates are sorted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, NamedTuple

from app.formats.base import HostIdentity, Record
from app.matching.identity import normalise_host, record_identifiers, split_host_port
from app.matching.index import MatchIndex
from app.matching.rules import Rule, RuleSet

DecisionKind = Literal["routed", "ambiguous", "no_match", "no_host"]
Level = Literal["assignment", "endpoint_port", "endpoint_host", "rule"]

NO_NAMES: Mapping[int, str] = MappingProxyType({})
DEFAULT_CACHE_SIZE = 65_536


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a record goes, at which level, and why."""

    decision: DecisionKind
    product_id: int | None
    level: Level | None
    candidates: tuple[int, ...]
    """Every product the winning level named, sorted; empty for no_match and no_host."""
    matched: str
    """What decided: `host:port` of an endpoint, an assigned identifier, a rule's name."""
    explanation: str


NO_HOST = Decision(
    decision="no_host",
    product_id=None,
    level=None,
    candidates=(),
    matched="",
    explanation="the record has no usable host name or address",
)


class _Hit(NamedTuple):
    """What one identifier yielded at a level: its products and the sentence saying so.

    A named tuple rather than a frozen dataclass: one is made per identifier and level
    tried, and tuples are built several times faster."""

    matched: str
    products: frozenset[int]
    sentence: str


@dataclass(frozen=True, slots=True)
class _Plan:
    """A host's normalised identifiers and the port-independent part of its decision."""

    identifiers: tuple[str, ...]
    port_sensitive: bool
    """Whether a port-level endpoint could still win (some identifier is in the index)."""
    otherwise: Decision
    """The decision when no endpoint at the record's port matches."""


class Router:
    """Routes records over one snapshot of index, assignments and rules.

    Build a new router when any of them changes; a router only caches its own answers.
    """

    def __init__(
        self,
        index: MatchIndex,
        assignments: Mapping[str, int],
        rules: RuleSet,
        product_names: Mapping[int, str] = NO_NAMES,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._index = index
        self._rules = rules
        self._names = product_names
        self._assignments: dict[str, frozenset[int]] = {}
        for raw, product_id in assignments.items():
            identifier = normalise_host(raw)
            if identifier is not None:
                known = self._assignments.get(identifier, frozenset())
                self._assignments[identifier] = known | {product_id}
        self._cache_size = cache_size
        self._plans: dict[HostIdentity, _Plan] = {}

    def route_record(self, record: Record) -> Decision:
        """The decision for a scan record.

        Scans repeat hosts a lot (a scanner writes the same host the same way in every
        finding), so per host identity the normalised identifiers and the port-independent
        part of the decision are cached, for at most `cache_size` hosts. The port-level step
        is a few dict lookups and is not cached: caching it per (identifiers, port) would
        hold one decision per open port of every host for little gain.
        """
        host = record.host
        plan = self._plans.get(host)
        if plan is None:
            if len(self._plans) >= self._cache_size:
                self._plans.clear()
            plan = self._plans[host] = self._plan(record_identifiers(host))
        port = record.port
        if port is None or not plan.port_sensitive:
            return plan.otherwise
        return self._at_port(plan.identifiers, port) or plan.otherwise

    def route_host(self, raw_host: str, port: int | None = None) -> Decision:
        """The decision for one host as a person types it (name, address, `host:port`, URL).

        A port inside the text (or implied by a URL's scheme) counts when `port` is None.
        """
        host, embedded_port = split_host_port(raw_host)
        if host is None:
            return Decision(
                decision="no_host",
                product_id=None,
                level=None,
                candidates=(),
                matched="",
                explanation=f"{raw_host.strip()!r} is not a usable host name or address",
            )
        return self.route((host,), embedded_port if port is None else port)

    def route(self, identifiers: Sequence[str], port: int | None) -> Decision:
        """The decision for normalised identifiers (most specific first) and a port."""
        plan = self._plan(tuple(identifiers))
        if port is None or not plan.port_sensitive:
            return plan.otherwise
        return self._at_port(identifiers, port) or plan.otherwise

    def _plan(self, identifiers: tuple[str, ...]) -> _Plan:
        """Everything about the identifiers that does not depend on the port."""
        if not identifiers:
            return _Plan(identifiers, False, NO_HOST)
        hits = [
            self._assigned(i, found) for i in identifiers if (found := self._assignments.get(i))
        ]
        if hits:
            return _Plan(identifiers, False, self._decide("assignment", hits))
        index = self._index
        hits = [self._host(i, found) for i in identifiers if (found := index.products_for_host(i))]
        if hits:
            # Only hosts DefectDojo knows can have endpoints at a port.
            return _Plan(identifiers, True, self._decide("endpoint_host", hits))
        return _Plan(identifiers, False, self._by_rules(identifiers))

    def _at_port(self, identifiers: Sequence[str], port: int) -> Decision | None:
        """The endpoint_port decision, or None when no identifier has an endpoint at `port`."""
        index = self._index
        hits = [
            self._endpoint(i, port, found)
            for i in identifiers
            if (found := index.products_for_host_port(i, port))
        ]
        return self._decide("endpoint_port", hits) if hits else None

    def _by_rules(self, identifiers: Sequence[str]) -> Decision:
        tops = [(i, top) for i in identifiers if (top := self._rules.top(i))]
        if not tops:
            return Decision(
                decision="no_match",
                product_id=None,
                level=None,
                candidates=(),
                matched="",
                explanation=f"no assignment, endpoint or rule matches {', '.join(identifiers)}",
            )
        winning = min(top[0].priority for _, top in tops)
        return self._decide(
            "rule", [self._ruled(i, top) for i, top in tops if top[0].priority == winning]
        )

    def _decide(self, level: Level, hits: list[_Hit]) -> Decision:
        first = hits[0]
        products = first.products
        if len(hits) > 1:
            products = products.union(*(hit.products for hit in hits[1:]))
        if len(products) == 1:
            (product_id,) = products
            return Decision(
                "routed", product_id, level, (product_id,), first.matched, first.sentence
            )
        candidates = tuple(sorted(products))
        if len(hits) == 1:
            explanation = hits[0].sentence
        else:
            explanation = f"its identifiers name {len(candidates)} products: " + "; ".join(
                hit.sentence for hit in hits
            )
        matched = "; ".join(hit.matched for hit in hits)
        return Decision("ambiguous", None, level, candidates, matched, explanation)

    def _assigned(self, identifier: str, products: frozenset[int]) -> _Hit:
        return _Hit(
            identifier,
            products,
            f"host {identifier} was assigned to {self._products(products)}",
        )

    def _endpoint(self, identifier: str, port: int, products: frozenset[int]) -> _Hit:
        where = f"[{identifier}]:{port}" if ":" in identifier else f"{identifier}:{port}"
        owner = self._products(products)
        sentence = (
            f"endpoint {where} of {owner}"
            if len(products) == 1
            else f"endpoint {where} belongs to {owner}"
        )
        return _Hit(where, products, sentence)

    def _host(self, identifier: str, products: frozenset[int]) -> _Hit:
        return _Hit(
            identifier,
            products,
            f"host {identifier} is an endpoint of {self._products(products)}",
        )

    def _ruled(self, identifier: str, rules: tuple[Rule, ...]) -> _Hit:
        return _Hit(
            "; ".join(rule.describe() for rule in rules),
            frozenset(rule.product_id for rule in rules),
            "; ".join(
                f"{identifier} matches {rule.describe()} of {self._products((rule.product_id,))}"
                for rule in rules
            ),
        )

    def _products(self, products: frozenset[int] | tuple[int, ...]) -> str:
        """`product Payments (4)`, or `2 products: Payments (4), Build (7)`."""
        if len(products) == 1:
            return f"product {self._name(next(iter(products)))}"
        named = [self._name(pid) for pid in sorted(products)]
        return f"{len(named)} products: {', '.join(named)}"

    def _name(self, product_id: int) -> str:
        name = self._names.get(product_id)
        return f"{name} ({product_id})" if name else str(product_id)
