"""Routing rules: CIDR ranges and host name globs that send unknown hosts to a product.

A rule applies to one kind of identifier: a `cidr` rule to IP addresses, a `hostname_glob`
rule to host names (fully qualified or short). So the two kinds never compete for the same
identifier; a CIDR rule on a record's IP and a glob on its name meet only in the router,
which compares their priorities and, when they tie on priority and name different products,
calls the record ambiguous — neither kind outranks the other.

Order of the rules matching one identifier (`RuleSet.match`): lower `priority` number
first; then the more specific (longest prefix for CIDR; for globs fewest `*`, then the most
literal characters, then fewest `?`/`[...]`); then the lower rule id, only so that listings
are stable. `?` and `[...]` match exactly one character, so a pattern using them in place of
`*` is narrower: `web-??.corp.example.com` matches a subset of what `*.corp.example.com`
matches and ranks before it. Rules
equal on priority and specificity are a *tie*: `RuleSet.top` returns all of them, and if they
name different products the router calls the record ambiguous rather than let the rule id
decide.

Lookups are indexed, never a scan over the rules:

- CIDR: one radix tree per address family (`pytricia`). Each prefix node carries its own
  rules and, precomputed at build time, the best rules among it and all covering prefixes,
  so routing an address is one longest-prefix lookup.
- Globs (fnmatch semantics on normalised names: `*` any run of characters, dots included;
  `?` one character; `[a-f]`, `[!0-9]` one character of a set): grouped by their *anchor*,
  the whole labels of literal text after the last wildcard (`*.corp.example.com` →
  `corp.example.com`, `web-??.example.com` → `example.com`), and by the first character when
  it is literal. A name probes only the groups of its own label suffixes; each group is one
  compiled alternation, best rule first, so its first match is the group's best rule.
  Globs without wildcards are a plain dict lookup.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

import pytricia  # type: ignore[import-not-found]  # a C extension without type stubs

from app.matching.glob import Glob, GlobError, parse_glob

RuleKind = Literal["cidr", "hostname_glob"]
Key = tuple[int, int, int, int, int]
"""(priority, three specificity terms, rule id): smaller is better; all but the id is the tie."""


class InvalidRulePattern(ValueError):
    """A rule's pattern cannot be used; `message` says why, for the person who wrote it."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Rule:
    """A routing rule as stored: hosts matching `pattern` go to `product_id`."""

    id: int
    kind: RuleKind
    pattern: str
    product_id: int
    priority: int

    def describe(self) -> str:
        """How the rule is named in explanations: `cidr 10.20.0.0/16 (rule 3)`."""
        return f"{self.kind} {self.pattern} (rule {self.id})"


def validate_rule_pattern(kind: str, pattern: str) -> str:
    """The normalised pattern of a rule, or InvalidRulePattern saying what is wrong."""
    if kind == "cidr":
        return str(_parse_network(pattern))
    if kind == "hostname_glob":
        try:
            return parse_glob(pattern).pattern
        except GlobError as error:
            raise InvalidRulePattern(str(error)) from error
    raise InvalidRulePattern(f"unknown rule kind {kind!r}: use 'cidr' or 'hostname_glob'")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse_network(pattern: str) -> Network:
    text = pattern.strip()
    if not text:
        raise InvalidRulePattern(
            "the pattern is empty: a cidr rule needs a network such as 10.20.0.0/16"
        )
    address_text, slash, prefix_text = text.partition("/")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InvalidRulePattern(
                _network_problem(address_text, slash, prefix_text, error)
            ) from error
        raise InvalidRulePattern(
            f"{text} has host bits set: the /{loose.prefixlen} network containing it is "
            f"{loose}; write {loose} (or /{loose.max_prefixlen} for the single address)"
        ) from error
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            # Addresses are unmapped before matching, so the rule must be unmapped too.
            return ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def _network_problem(address_text: str, slash: str, prefix_text: str, error: ValueError) -> str:
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError:
        return (
            f"{address_text!r} is not an IPv4 or IPv6 address: "
            "write a network such as 10.20.0.0/16 or 2001:db8::/32"
        )
    if slash and prefix_text.isdigit():
        return (
            f"prefix length /{prefix_text} is too long for an IPv{address.version} network "
            f"(at most /{address.max_prefixlen})"
        )
    return f"{prefix_text!r} is not a prefix length or netmask ({error})"


class _Tree(Protocol):
    """The part of pytricia's PyTricia used here."""

    def insert(self, prefix: str, data: object) -> object: ...
    def get(self, prefix: str, default: object = None) -> object: ...
    def get_key(self, prefix: str) -> str | None: ...
    def parent(self, prefix: str) -> str | None: ...
    def freeze(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Node:
    """A CIDR prefix: its own rules (best first), and the best rules covering it at all."""

    own: tuple[Rule, ...]
    top: tuple[Rule, ...]
    top_key: Key


@dataclass(frozen=True, slots=True)
class _Group:
    """Globs sharing an anchor and first character, best first, with one alternation."""

    rules: tuple[Rule, ...]
    keys: tuple[Key, ...]
    globs: tuple[Glob, ...]
    combined: re.Pattern[str]


class RuleSet:
    """The routing rules, indexed for lookup by identifier; immutable once built."""

    __slots__ = ("_count", "_exact", "_groups", "_keys", "_rejected", "_v4", "_v6")

    def __init__(self) -> None:
        """Use `build`."""
        self._count = 0
        self._keys: dict[Rule, Key] = {}
        self._v4: _Tree = pytricia.PyTricia(32)
        self._v6: _Tree = pytricia.PyTricia(128)
        self._exact: dict[str, tuple[tuple[Key, Rule], ...]] = {}
        self._groups: dict[str, dict[str, _Group]] = {}
        self._rejected: tuple[tuple[Rule, str], ...] = ()

    @classmethod
    def build(cls, rules: Iterable[Rule]) -> RuleSet:
        """Index the rules. A rule whose stored pattern no longer validates is left out and
        listed in `rejected` with the reason, so one bad row cannot stop all routing."""
        self = cls()
        networks: dict[Network, list[tuple[Key, Rule]]] = {}
        exact: dict[str, list[tuple[Key, Rule]]] = {}
        groups: dict[tuple[str, str], list[tuple[Key, Rule, Glob]]] = {}
        rejected: list[tuple[Rule, str]] = []
        for rule in rules:
            try:
                if rule.kind == "cidr":
                    network = _parse_network(rule.pattern)
                    key = (rule.priority, 0, -network.prefixlen, 0, rule.id)
                    networks.setdefault(network, []).append((key, rule))
                elif rule.kind == "hostname_glob":
                    glob = parse_glob(rule.pattern)
                    key = (
                        rule.priority,
                        glob.stars,
                        -glob.literal_length,
                        glob.single_wildcards,
                        rule.id,
                    )
                    if glob.stars == glob.single_wildcards == 0:
                        exact.setdefault(glob.pattern, []).append((key, rule))
                    else:
                        groups.setdefault(glob.group, []).append((key, rule, glob))
                else:
                    raise InvalidRulePattern(f"unknown rule kind {rule.kind!r}")
            except (InvalidRulePattern, GlobError) as error:
                rejected.append((rule, str(error)))
                continue
            self._keys[rule] = key
            self._count += 1
        self._index_networks(networks)
        self._exact = {name: tuple(sorted(found, key=_by_key)) for name, found in exact.items()}
        for (anchor, first), members in groups.items():
            self._groups.setdefault(anchor, {})[first] = _group(members)
        self._rejected = tuple(rejected)
        return self

    def _index_networks(self, networks: dict[Network, list[tuple[Key, Rule]]]) -> None:
        # Shorter prefixes first, so every node's covering prefixes are in place already.
        for network in sorted(networks, key=lambda n: (n.version, n.prefixlen)):
            tree = self._v4 if network.version == 4 else self._v6
            prefix = str(network)
            ranked = sorted(networks[network], key=_by_key)
            own = tuple(rule for _, rule in ranked)
            own_key = ranked[0][0]
            tree.insert(prefix, None)
            parent_prefix = tree.parent(prefix)
            parent = tree.get(parent_prefix) if parent_prefix is not None else None
            if isinstance(parent, _Node) and parent.top_key[0] < own_key[0]:
                node = _Node(own, parent.top, parent.top_key)
            else:
                tied = tuple(r for k, r in ranked if k[:-1] == own_key[:-1])
                node = _Node(own, tied, own_key)
            tree.insert(prefix, node)
        self._v4.freeze()
        self._v6.freeze()

    def _tree(self, identifier: str) -> _Tree | None:
        """The address tree for an IP identifier; None for a host name.

        Normalised names never contain ':' nor end in an all-digit label, so this is exact.
        """
        if ":" in identifier:
            return self._v6
        if identifier.rpartition(".")[2].isdigit():
            return self._v4
        return None

    def _candidate_groups(self, name: str) -> list[_Group]:
        """The glob groups that can match a name: those anchored on one of its label
        suffixes (or on none), starting with its first character or with a wildcard."""
        groups = self._groups
        first = name[:1]
        found: list[_Group] = []
        anchor = ""
        position = -1
        while True:
            by_first = groups.get(anchor)
            if by_first is not None:
                group = by_first.get(first)
                if group is not None:
                    found.append(group)
                group = by_first.get("")
                if group is not None:
                    found.append(group)
            position = name.find(".", position + 1)
            if position == -1:
                return found
            anchor = name[position + 1 :]

    def __len__(self) -> int:
        """Rules in use (not counting rejected ones)."""
        return self._count

    @property
    def rejected(self) -> tuple[tuple[Rule, str], ...]:
        """Rules left out at build time, each with the reason."""
        return self._rejected

    def top(self, identifier: str) -> tuple[Rule, ...]:
        """The best rules for a normalised identifier: one, or several when they tie on
        priority and specificity; empty when no rule matches."""
        tree = self._tree(identifier)
        if tree is not None:
            node = _lookup(tree, identifier)
            return node.top if node is not None else ()
        best: list[tuple[Key, Rule]] = []
        exact = self._exact.get(identifier)
        if exact is not None:
            for key, rule in exact:
                _offer(best, key, rule)
        for group in self._candidate_groups(identifier):
            found = group.combined.fullmatch(identifier)
            if found is None or found.lastindex is None:
                continue
            first = found.lastindex - 1
            tie = group.keys[first][:-1]
            _offer(best, group.keys[first], group.rules[first])
            for i in range(first + 1, len(group.rules)):
                if group.keys[i][:-1] != tie:
                    break
                if group.globs[i].regex.fullmatch(identifier):
                    _offer(best, group.keys[i], group.rules[i])
        if len(best) < 2:
            return (best[0][1],) if best else ()
        return tuple(rule for _, rule in sorted(best))

    def match(self, identifier: str) -> list[Rule]:
        """Every rule matching a normalised identifier, best first (see module doc)."""
        tree = self._tree(identifier)
        found: list[Rule] = []
        if tree is not None:
            prefix = _longest(tree, identifier)
            while prefix is not None:
                node = tree.get(prefix)
                if isinstance(node, _Node):
                    found.extend(node.own)
                prefix = tree.parent(prefix)
        else:
            found.extend(rule for _, rule in self._exact.get(identifier, ()))
            for group in self._candidate_groups(identifier):
                found.extend(
                    rule
                    for rule, glob in zip(group.rules, group.globs, strict=True)
                    if glob.regex.fullmatch(identifier)
                )
        return sorted(found, key=self._keys.__getitem__)


def _by_key(ranked: tuple[Key, Rule]) -> Key:
    return ranked[0]


def _longest(tree: _Tree, address: str) -> str | None:
    try:
        return tree.get_key(address)
    except ValueError:
        return None


def _lookup(tree: _Tree, address: str) -> _Node | None:
    try:
        node = tree.get(address)
    except ValueError:
        return None
    return node if isinstance(node, _Node) else None


def _offer(best: list[tuple[Key, Rule]], key: Key, rule: Rule) -> None:
    """Keep in `best` only the rules tied for the best (priority, specificity)."""
    if best:
        current = best[0][0][:-1]
        if key[:-1] > current:
            return
        if key[:-1] < current:
            best.clear()
    best.append((key, rule))


def _group(members: list[tuple[Key, Rule, Glob]]) -> _Group:
    members.sort(key=lambda member: member[0])
    combined = "|".join(f"({glob.regex.pattern})" for _, _, glob in members)
    return _Group(
        rules=tuple(rule for _, rule, _ in members),
        keys=tuple(key for key, _, _ in members),
        globs=tuple(glob for _, _, glob in members),
        combined=re.compile(combined),
    )
