"""Routing rules: validation with reasons, and indexed lookups equal to a plain scan."""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.matching.rules import InvalidRulePattern, Rule, RuleSet, validate_rule_pattern


@pytest.mark.parametrize(
    ("kind", "pattern", "normalised"),
    [
        ("cidr", "10.20.0.0/16", "10.20.0.0/16"),
        ("cidr", " 10.20.0.0/16 ", "10.20.0.0/16"),
        ("cidr", "10.0.4.7", "10.0.4.7/32"),
        ("cidr", "10.0.0.0/255.255.0.0", "10.0.0.0/16"),
        ("cidr", "2001:DB8:0::/32", "2001:db8::/32"),
        ("cidr", "::ffff:10.20.0.0/112", "10.20.0.0/16"),
        ("cidr", "0.0.0.0/0", "0.0.0.0/0"),
        ("hostname_glob", "*.Corp.Example.COM.", "*.corp.example.com"),
        ("hostname_glob", "web-??.example.com", "web-??.example.com"),
        ("hostname_glob", "**.example.com", "*.example.com"),
        ("hostname_glob", "*.BÜCHER.example", "*.xn--bcher-kva.example"),
        ("hostname_glob", "app[0-9]-*.example.net", "app[0-9]-*.example.net"),
        ("hostname_glob", "build07", "build07"),
        ("hostname_glob", "*", "*"),
    ],
)
def test_valid_patterns_are_normalised(kind: str, pattern: str, normalised: str) -> None:
    assert validate_rule_pattern(kind, pattern) == normalised


@pytest.mark.parametrize(
    ("kind", "pattern", "says"),
    [
        ("cidr", "10.20.3.0/16", "has host bits set"),
        ("cidr", "10.20.3.0/16", "write 10.20.0.0/16"),
        ("cidr", "10.0.0.0/33", "/33 is too long for an IPv4 network (at most /32)"),
        ("cidr", "2001:db8::/129", "at most /128"),
        ("cidr", "", "empty"),
        ("cidr", "corp.example.com", "not an IPv4 or IPv6 address"),
        ("cidr", "10.0.0.0/abc", "not a prefix length or netmask"),
        ("hostname_glob", "", "empty"),
        ("hostname_glob", ".", "only a dot"),
        ("hostname_glob", "a..example.com", "empty label"),
        ("hostname_glob", "web server.example.com", "' ' is not allowed"),
        ("hostname_glob", "10.20.*", "use a cidr rule with 10.20.0.0/16"),
        ("hostname_glob", "10.*.1.*", "looks like an IP address pattern"),
        ("hostname_glob", "2001:db8::*", "address ranges are cidr rules"),
        ("hostname_glob", "web[0-9", "without a closing ']'"),
        ("hostname_glob", "web]1", "without an opening '['"),
        ("hostname_glob", "web[].example.com", "empty character set"),
        ("hostname_glob", "web[z-a].example.com", "invalid character set"),
        ("hostname_glob", "web[0-9.].example.com", "cannot hold '.'"),
        ("hostname_glob", "bü*.example", "write such labels in ASCII"),
        ("hostname_glob", "x" * 64 + ".example.com", "at most 63 characters"),
        ("mac", "00:1a:*", "unknown rule kind 'mac'"),
    ],
)
def test_invalid_patterns_say_why(kind: str, pattern: str, says: str) -> None:
    with pytest.raises(InvalidRulePattern) as raised:
        validate_rule_pattern(kind, pattern)
    assert says in raised.value.message


def _ids(rules: Sequence[Rule]) -> list[int]:
    return [rule.id for rule in rules]


def test_cidr_order_is_priority_then_longest_prefix_then_id() -> None:
    rules = RuleSet.build(
        [
            Rule(1, "cidr", "10.0.0.0/8", 1, 100),
            Rule(2, "cidr", "10.20.0.0/16", 2, 100),
            Rule(3, "cidr", "10.20.30.0/24", 3, 200),
            Rule(4, "cidr", "10.20.0.0/16", 4, 100),
            Rule(5, "cidr", "0.0.0.0/0", 5, 50),
            Rule(6, "cidr", "2001:db8::/32", 6, 100),
        ]
    )
    assert _ids(rules.match("10.20.30.5")) == [5, 2, 4, 1, 3]
    assert _ids(rules.top("10.20.30.5")) == [5]
    assert _ids(rules.match("2001:db8::7")) == [6]
    assert _ids(rules.match("192.0.2.1")) == [5]
    assert rules.match("build07.corp.example.com") == []


def test_cidr_top_ties_on_equal_priority_and_prefix() -> None:
    rules = RuleSet.build(
        [Rule(7, "cidr", "10.20.0.0/16", 4, 100), Rule(3, "cidr", "10.20.0.0/16", 7, 100)]
    )
    assert _ids(rules.top("10.20.1.1")) == [3, 7]


def test_glob_order_is_priority_then_fewest_stars_then_longest_literal() -> None:
    rules = RuleSet.build(
        [
            Rule(1, "hostname_glob", "*.corp.example.com", 1, 100),
            Rule(2, "hostname_glob", "web-??.corp.example.com", 2, 100),
            Rule(3, "hostname_glob", "web-0?.corp.example.com", 3, 100),
            Rule(4, "hostname_glob", "*-01.corp.example.com", 4, 100),
            Rule(5, "hostname_glob", "web-01.corp.example.com", 5, 300),
            Rule(6, "hostname_glob", "*", 6, 900),
        ]
    )
    assert _ids(rules.match("web-01.corp.example.com")) == [3, 2, 4, 1, 5, 6]
    assert _ids(rules.top("web-01.corp.example.com")) == [3]
    assert _ids(rules.match("db.corp.example.com")) == [1, 6]
    assert _ids(rules.match("corp.example.com")) == [6]


def test_globs_never_apply_to_addresses_nor_cidr_to_names() -> None:
    rules = RuleSet.build([Rule(1, "hostname_glob", "*", 1, 1), Rule(2, "cidr", "0.0.0.0/0", 2, 1)])
    assert _ids(rules.match("10.0.0.1")) == [2]
    assert _ids(rules.match("build07")) == [1]


def test_short_names_match_only_globs_written_for_them() -> None:
    rules = RuleSet.build([Rule(1, "hostname_glob", "*.corp.example.com", 1, 1)])
    assert rules.match("build07") == []
    rules = RuleSet.build([Rule(1, "hostname_glob", "build*", 1, 1)])
    assert _ids(rules.match("build07")) == [1]


def test_rules_with_stored_patterns_that_no_longer_validate_are_set_aside() -> None:
    bad = Rule(9, "cidr", "10.20.3.0/16", 1, 1)
    rules = RuleSet.build([bad, Rule(1, "cidr", "10.0.0.0/8", 1, 1)])
    assert len(rules) == 1
    assert rules.rejected[0][0] == bad
    assert "host bits set" in rules.rejected[0][1]


# Hypothesis: the indexed lookups give exactly what a scan over every rule would.

_glob_text = st.lists(
    st.sampled_from(["a", "b", "0", "-", ".", "*", "?", "[a0]", "[!a]", "[0-9]"]),
    min_size=1,
    max_size=8,
).map("".join)
# Normalised names: a last label of digits only would be a (malformed) address, not a name.
_name = st.lists(
    st.text(st.sampled_from("ab0-"), min_size=1, max_size=4), min_size=1, max_size=3
).filter(lambda labels: not labels[-1].isdigit())


def _scan_order(rule: Rule) -> tuple[int, ...]:
    """The documented order, computed independently of the index."""
    if rule.kind == "cidr":
        return (rule.priority, 0, -ipaddress.ip_network(rule.pattern).prefixlen, 0, rule.id)
    without_sets = re.sub(r"\[[^\]]*\]", "?", rule.pattern)
    stars = without_sets.count("*")
    singles = without_sets.count("?")
    return (rule.priority, stars, -(len(without_sets) - stars - singles), singles, rule.id)


@given(
    st.lists(st.tuples(_glob_text, st.integers(1, 3)), max_size=25),
    st.lists(_name, min_size=1, max_size=10),
)
def test_glob_lookup_equals_fnmatch_over_all_rules(
    globs: list[tuple[str, int]], names: list[list[str]]
) -> None:
    rules = []
    for rule_id, (text, priority) in enumerate(globs, start=1):
        try:
            pattern = validate_rule_pattern("hostname_glob", text)
        except InvalidRulePattern:
            continue
        rules.append(Rule(rule_id, "hostname_glob", pattern, rule_id, priority))
    rule_set = RuleSet.build(rules)
    for labels in names:
        name = ".".join(labels)
        expected = sorted(
            (r for r in rules if fnmatch.fnmatchcase(name, r.pattern)), key=_scan_order
        )
        assert rule_set.match(name) == expected
        best = [r for r in expected if _scan_order(r)[:-1] == _scan_order(expected[0])[:-1]]
        assert list(rule_set.top(name)) == best


@given(
    st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 32), st.integers(1, 3)), max_size=25
    ),
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=10),
)
def test_cidr_lookup_equals_scan_over_all_rules(
    networks: list[tuple[int, int, int]], addresses: list[int]
) -> None:
    rules = [
        Rule(i, "cidr", str(ipaddress.ip_network((value, length), strict=False)), i, priority)
        for i, (value, length, priority) in enumerate(networks, start=1)
    ]
    rule_set = RuleSet.build(rules)
    for value in addresses:
        address = ipaddress.ip_address(value)
        expected = sorted(
            (r for r in rules if address in ipaddress.ip_network(r.pattern)), key=_scan_order
        )
        assert rule_set.match(str(address)) == expected
        best = [r for r in expected if _scan_order(r)[:-1] == _scan_order(expected[0])[:-1]]
        assert list(rule_set.top(str(address))) == best
