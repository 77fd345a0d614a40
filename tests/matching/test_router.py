"""The routing decision: precedence, ambiguity, explanations (design section 4, issue 4)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.formats.base import HostIdentity, Record
from app.matching.identity import record_identifiers
from app.matching.index import MatchIndex
from app.matching.router import Decision, Router
from app.matching.rules import Rule, RuleKind, RuleSet

ENDPOINTS = [
    (4, "10.0.4.7", 443),  # the same IP in two products on different ports
    (7, "10.0.4.7", 22),
    (5, "Pay-DB01.Corp.Example.com.", 5432),  # upper case and a trailing dot in DD
    (6, "https://portal.example.com/", None),  # a URL in DD's host field: port 443
    (8, "2001:DB8:0:0::10", 443),
    (9, "build07", None),  # a short name
    (10, "10.9.9.9", 5432),
    (11, "shared.corp.example.com", 443),  # one host in two products, same port
    (12, "shared.corp.example.com", 443),
]
RULES = [
    Rule(1, "cidr", "10.20.0.0/16", 20, 100),
    Rule(2, "cidr", "10.20.30.0/24", 21, 100),  # longer prefix, same priority
    Rule(3, "cidr", "172.16.0.0/12", 30, 10),  # shorter prefix, lower priority number
    Rule(4, "cidr", "172.16.5.0/24", 31, 100),
    Rule(5, "hostname_glob", "*.lab.example.com", 40, 100),
    Rule(6, "cidr", "192.168.50.0/24", 41, 100),  # same priority as the glob
    Rule(7, "cidr", "192.168.60.0/24", 40, 100),  # same product as the glob
    Rule(8, "cidr", "192.168.70.0/24", 41, 90),  # beats the glob on priority
    Rule(9, "hostname_glob", "*.corp.example.com", 50, 200),
    Rule(10, "hostname_glob", "web-??.corp.example.com", 51, 200),
    Rule(11, "cidr", "10.77.0.0/16", 60, 100),  # two equal rules, two products
    Rule(12, "cidr", "10.77.0.0/16", 61, 100),
    Rule(13, "cidr", "2001:db8:1::/48", 70, 100),
]
ASSIGNMENTS = {"shared.corp.example.com": 12, "Assigned.Example.com": 13, "10.0.4.99": 14}
NAMES = {4: "Payments", 7: "Build"}


@dataclass(frozen=True)
class Case:
    name: str
    host: HostIdentity
    port: int | None
    decision: str
    product: int | None
    level: str | None
    candidates: tuple[int, ...]


def case(
    name: str,
    port: int | None,
    expected: tuple[str, int | None, str | None, tuple[int, ...]],
    **host: str,
) -> Case:
    return Case(name, HostIdentity(**host), port, *expected)


CASES = [
    case("ip at its port in product A", 443, ("routed", 4, "endpoint_port", (4,)), ip="10.0.4.7"),
    case(
        "same ip at another port, product B",
        22,
        ("routed", 7, "endpoint_port", (7,)),
        ip="10.0.4.7",
    ),
    case(
        "same ip, unknown port: both",
        80,
        ("ambiguous", None, "endpoint_host", (4, 7)),
        ip="10.0.4.7",
    ),
    case(
        "same ip, no port: both", None, ("ambiguous", None, "endpoint_host", (4, 7)), ip="10.0.4.7"
    ),
    case(
        "ipv4-mapped ipv6 address", 443, ("routed", 4, "endpoint_port", (4,)), ip="::ffff:10.0.4.7"
    ),
    case("ip written with spaces", 22, ("routed", 7, "endpoint_port", (7,)), ip=" 10.0.4.7 "),
    case(
        "fqdn vs DD's upper case + dot",
        5432,
        ("routed", 5, "endpoint_port", (5,)),
        fqdn="pay-db01.corp.example.com",
    ),
    case(
        "upper-case fqdn in the scan",
        5432,
        ("routed", 5, "endpoint_port", (5,)),
        fqdn="PAY-DB01.CORP.EXAMPLE.COM.",
    ),
    case(
        "fqdn, other port: host level",
        22,
        ("routed", 5, "endpoint_host", (5,)),
        fqdn="pay-db01.corp.example.com",
    ),
    case(
        "DD URL host, scheme port",
        443,
        ("routed", 6, "endpoint_port", (6,)),
        fqdn="portal.example.com",
    ),
    case(
        "DD URL host, other port",
        80,
        ("routed", 6, "endpoint_host", (6,)),
        fqdn="portal.example.com",
    ),
    case(
        "ipv6 compressed vs DD's long form",
        443,
        ("routed", 8, "endpoint_port", (8,)),
        ip="2001:db8::10",
    ),
    case(
        "ipv6 in brackets, upper case",
        443,
        ("routed", 8, "endpoint_port", (8,)),
        ip="[2001:DB8::10]",
    ),
    case(
        "ipv6 exploded",
        443,
        ("routed", 8, "endpoint_port", (8,)),
        ip="2001:0db8:0000:0000:0000:0000:0000:0010",
    ),
    case("ipv6 with a zone id", 443, ("routed", 8, "endpoint_port", (8,)), ip="2001:db8::10%eth0"),
    case("netbios short name", 445, ("routed", 9, "endpoint_host", (9,)), netbios="BUILD07"),
    case(
        "netbios with its domain",
        445,
        ("routed", 9, "endpoint_host", (9,)),
        netbios="CORP\\BUILD07",
    ),
    case(
        "short name never matches an fqdn's label",
        445,
        ("no_match", None, None, ()),
        fqdn="build07.other.example.org",
    ),
    case(
        "fqdn never matches a short name in DD",
        5432,
        ("no_match", None, None, ()),
        netbios="PAY-DB01",
    ),
    case(
        "port level beats host level across identifiers",
        5432,
        ("routed", 5, "endpoint_port", (5,)),
        fqdn="pay-db01.corp.example.com",
        ip="10.0.4.7",
    ),
    case(
        "identifiers disagree at port level",
        5432,
        ("ambiguous", None, "endpoint_port", (5, 10)),
        fqdn="pay-db01.corp.example.com",
        ip="10.9.9.9",
    ),
    case(
        "identifiers disagree at host level",
        80,
        ("ambiguous", None, "endpoint_host", (5, 9)),
        fqdn="pay-db01.corp.example.com",
        netbios="BUILD07",
    ),
    case(
        "assignment overrides an ambiguous endpoint",
        443,
        ("routed", 12, "assignment", (12,)),
        fqdn="shared.corp.example.com",
    ),
    case(
        "assignment overrides a clear endpoint",
        443,
        ("routed", 14, "assignment", (14,)),
        ip="10.0.4.99",
        fqdn="portal.example.com",
    ),
    case(
        "assignment keys are normalised",
        None,
        ("routed", 13, "assignment", (13,)),
        fqdn="assigned.example.com.",
    ),
    case(
        "assignments disagree",
        None,
        ("ambiguous", None, "assignment", (13, 14)),
        fqdn="assigned.example.com",
        ip="10.0.4.99",
    ),
    case("longest prefix at equal priority", 80, ("routed", 21, "rule", (21,)), ip="10.20.30.5"),
    case("outside the longer prefix", 80, ("routed", 20, "rule", (20,)), ip="10.20.31.5"),
    case("priority beats specificity", 80, ("routed", 30, "rule", (30,)), ip="172.16.5.9"),
    case("ipv6 cidr rule", 80, ("routed", 70, "rule", (70,)), ip="2001:db8:1::99"),
    case(
        "glob vs cidr, same priority, differ",
        80,
        ("ambiguous", None, "rule", (40, 41)),
        fqdn="a.lab.example.com",
        ip="192.168.50.7",
    ),
    case(
        "glob vs cidr, same priority, agree",
        80,
        ("routed", 40, "rule", (40,)),
        fqdn="a.lab.example.com",
        ip="192.168.60.7",
    ),
    case(
        "cidr with lower priority number wins",
        80,
        ("routed", 41, "rule", (41,)),
        fqdn="a.lab.example.com",
        ip="192.168.70.7",
    ),
    case("glob only", 80, ("routed", 40, "rule", (40,)), fqdn="B.Lab.Example.com"),
    case("narrower glob wins", 80, ("routed", 51, "rule", (51,)), fqdn="web-01.corp.example.com"),
    case("wider glob", 80, ("routed", 50, "rule", (50,)), fqdn="db-01.corp.example.com"),
    case(
        "endpoints beat rules",
        443,
        ("routed", 4, "endpoint_port", (4,)),
        ip="10.0.4.7",
        fqdn="x.lab.example.com",
    ),
    case(
        "rules tie within one identifier", 80, ("ambiguous", None, "rule", (60, 61)), ip="10.77.1.1"
    ),
    case(
        "nothing matches",
        80,
        ("no_match", None, None, ()),
        fqdn="nowhere.example.org",
        ip="198.51.100.7",
    ),
    case("no host at all", 80, ("no_host", None, None, ())),
    case("only unusable identifiers", 80, ("no_host", None, None, ()), ip="n/a", fqdn="not a host"),
    case("only a mac address", 80, ("no_host", None, None, ()), mac="00:1a:2b:3c:4d:5e"),
]


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(MatchIndex.build(ENDPOINTS), ASSIGNMENTS, RuleSet.build(RULES), NAMES)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_routing_table(router: Router, c: Case) -> None:
    decision = router.route_record(Record(0, "t", "High", c.host, port=c.port))
    assert (decision.decision, decision.product_id, decision.level, decision.candidates) == (
        c.decision,
        c.product,
        c.level,
        c.candidates,
    )


def test_cached_answers_equal_uncached_ones() -> None:
    tiny_cache = Router(
        MatchIndex.build(ENDPOINTS), ASSIGNMENTS, RuleSet.build(RULES), NAMES, cache_size=3
    )
    for c in CASES + CASES:
        record = Record(0, "t", "High", c.host, port=c.port)
        expected = tiny_cache.route(record_identifiers(c.host), c.port)
        assert tiny_cache.route_record(record) == expected


@pytest.mark.parametrize(
    ("raw", "port", "matched", "explanation"),
    [
        (
            "build07.other.example.org",
            443,
            "",
            "no assignment, endpoint or rule matches build07.other.example.org",
        ),
        ("10.0.4.7", 443, "10.0.4.7:443", "endpoint 10.0.4.7:443 of product Payments (4)"),
        (
            "10.0.4.7",
            None,
            "10.0.4.7",
            "host 10.0.4.7 is an endpoint of 2 products: Payments (4), Build (7)",
        ),
        (
            "https://portal.example.com/",
            None,
            "portal.example.com:443",
            "endpoint portal.example.com:443 of product 6",
        ),
        (
            "[2001:db8::10]:443",
            None,
            "[2001:db8::10]:443",
            "endpoint [2001:db8::10]:443 of product 8",
        ),
        (
            "Shared.Corp.Example.com",
            443,
            "shared.corp.example.com",
            "host shared.corp.example.com was assigned to product 12",
        ),
        (
            "10.20.30.5",
            None,
            "cidr 10.20.30.0/24 (rule 2)",
            "10.20.30.5 matches cidr 10.20.30.0/24 (rule 2) of product 21",
        ),
        (
            "10.77.0.1",
            None,
            "cidr 10.77.0.0/16 (rule 11); cidr 10.77.0.0/16 (rule 12)",
            "10.77.0.1 matches cidr 10.77.0.0/16 (rule 11) of product 60; "
            "10.77.0.1 matches cidr 10.77.0.0/16 (rule 12) of product 61",
        ),
        ("not a host", None, "", "'not a host' is not a usable host name or address"),
    ],
)
def test_explanations(
    router: Router, raw: str, port: int | None, matched: str, explanation: str
) -> None:
    decision = router.route_host(raw, port)
    assert (decision.matched, decision.explanation) == (matched, explanation)


def test_disagreeing_identifiers_are_all_named(router: Router) -> None:
    decision = router.route(("pay-db01.corp.example.com", "10.9.9.9"), 5432)
    assert decision.matched == "pay-db01.corp.example.com:5432; 10.9.9.9:5432"
    assert decision.explanation == (
        "its identifiers name 2 products: endpoint pay-db01.corp.example.com:5432 of product 5; "
        "endpoint 10.9.9.9:5432 of product 10"
    )


# Hypothesis: the decision never depends on the order of endpoints or rules.

_hosts = ["10.0.0.1", "10.0.0.2", "a.corp.example.com", "b.corp.example.com", "c", "2001:db8::1"]
_endpoints = st.lists(
    st.tuples(st.integers(1, 4), st.sampled_from(_hosts), st.sampled_from([None, 22, 443])),
    max_size=20,
)
_patterns: list[tuple[RuleKind, str]] = [
    ("cidr", "10.0.0.0/8"),
    ("cidr", "10.0.0.0/24"),
    ("cidr", "10.0.0.2/32"),
    ("cidr", "2001:db8::/32"),
    ("hostname_glob", "*.corp.example.com"),
    ("hostname_glob", "?.corp.example.com"),
    ("hostname_glob", "a.*"),
    ("hostname_glob", "*"),
]
_rules = st.lists(
    st.tuples(st.sampled_from(_patterns), st.integers(1, 4), st.sampled_from([10, 100])),
    max_size=12,
).map(lambda specs: [Rule(i, k, p, prod, prio) for i, ((k, p), prod, prio) in enumerate(specs)])
_queries = st.lists(
    st.tuples(
        st.lists(st.sampled_from(_hosts), min_size=1, max_size=3, unique=True),
        st.sampled_from([None, 22, 80, 443]),
    ),
    min_size=1,
    max_size=8,
)


@given(_endpoints, _rules, _queries, st.randoms(use_true_random=False))
def test_routing_does_not_depend_on_the_order_of_endpoints_or_rules(
    endpoints: list[tuple[int, str, int | None]],
    rules: list[Rule],
    queries: list[tuple[list[str], int | None]],
    rng: random.Random,
) -> None:
    shuffled_endpoints = list(endpoints)
    shuffled_rules = list(rules)
    rng.shuffle(shuffled_endpoints)
    rng.shuffle(shuffled_rules)
    first = Router(MatchIndex.build(endpoints), {}, RuleSet.build(rules))
    second = Router(MatchIndex.build(shuffled_endpoints), {}, RuleSet.build(shuffled_rules))
    for identifiers, port in queries:
        decision: Decision = first.route(identifiers, port)
        assert decision == second.route(identifiers, port)
        assert decision.candidates == tuple(sorted(decision.candidates))
