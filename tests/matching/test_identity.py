"""Identity normalisation: one spelling per host (design section 4, issue 4 item 1)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.formats.base import HostIdentity
from app.matching.identity import (
    normalise_host,
    normalise_hostname,
    normalise_ip,
    normalise_mac,
    record_identifiers,
    split_host_port,
    split_url,
)

HOSTS = [
    # (raw, normalised) — what normalise_host makes of a host as scanners and DD write it
    ("build07.corp.example.com", "build07.corp.example.com"),
    ("Build07.CORP.Example.com", "build07.corp.example.com"),
    ("build07.corp.example.com.", "build07.corp.example.com"),
    ("  build07.corp.example.com\n", "build07.corp.example.com"),
    ("BÜCHER.example", "xn--bcher-kva.example"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("bücher\uff0eexample", "xn--bcher-kva.example"),
    ("☃.example", "xn--n3h.example"),
    ("_ldap._tcp.corp.example.com", "_ldap._tcp.corp.example.com"),
    ("BUILD07", "build07"),
    ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("2001:db8:0000::0:1", "2001:db8::1"),
    ("[2001:db8::1]", "2001:db8::1"),
    ("fe80::1%eth0", "fe80::1"),
    ("::ffff:10.0.4.7", "10.0.4.7"),
    ("::FFFF:0a00:0407", "10.0.4.7"),
    ("10.0.4.7", "10.0.4.7"),
    ("10.0.4.7.", "10.0.4.7"),
    ("https://build07.corp.example.com:8443/login", "build07.corp.example.com"),
    ("http://[2001:DB8::1]:8080/", "2001:db8::1"),
    ("build07.corp.example.com:443", "build07.corp.example.com"),
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("ssh://root@10.0.4.7", "10.0.4.7"),
    ("010.0.4.7", None),
    ("10.0.0.256", None),
    ("", None),
    ("   ", None),
    ("a..b.example.com", None),
    (".example.com", None),
    ("bad host.example.com", None),
    ("x" * 64 + ".example.com", None),
    ("host:99999", None),
]


@pytest.mark.parametrize(("raw", "expected"), HOSTS)
def test_normalise_host(raw: str, expected: str | None) -> None:
    assert normalise_host(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://portal.example.com", ("portal.example.com", 443, "https")),
        ("http://portal.example.com/x", ("portal.example.com", 80, "http")),
        ("ftp://files.example.com", ("files.example.com", 21, "ftp")),
        ("ssh://root@bastion.example.com", ("bastion.example.com", 22, "ssh")),
        ("HTTPS://Portal.Example.com:8443/", ("portal.example.com", 8443, "https")),
        ("rdp://desk.example.com", ("desk.example.com", None, "rdp")),
        ("portal.example.com:8080", ("portal.example.com", 8080, None)),
        ("10.0.4.7:22", ("10.0.4.7", 22, None)),
        ("2001:db8::1", ("2001:db8::1", None, None)),
        ("https://[::ffff:10.0.4.7]/", ("10.0.4.7", 443, "https")),
        ("http://portal.example.com:notaport/", (None, None, None)),
    ],
)
def test_split_url(raw: str, expected: tuple[str | None, int | None, str | None]) -> None:
    assert split_url(raw) == expected


def test_port_inside_host_text_is_kept() -> None:
    assert split_host_port("https://portal.example.com/") == ("portal.example.com", 443)
    assert split_host_port("portal.example.com") == ("portal.example.com", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00:1A:2B:3C:4D:5E", "00:1a:2b:3c:4d:5e"),
        ("00-1a-2b-3c-4d-5e", "00:1a:2b:3c:4d:5e"),
        ("001a.2b3c.4d5e", "00:1a:2b:3c:4d:5e"),
        ("001A2B3C4D5E", "00:1a:2b:3c:4d:5e"),
        ("0:1a:2b:3c:4d:5e", "00:1a:2b:3c:4d:5e"),
        ("00:1a:2b:3c:4d", None),
        ("zz:1a:2b:3c:4d:5e", None),
    ],
)
def test_normalise_mac(raw: str, expected: str | None) -> None:
    assert normalise_mac(raw) == expected


def test_record_identifiers_normalise_dedupe_and_keep_short_names() -> None:
    host = HostIdentity(
        ip="::ffff:10.0.4.7",
        fqdn="Build07.Corp.Example.com.",
        netbios="CORP\\BUILD07",
        mac="00:1a:2b:3c:4d:5e",
        dd_host="build07.corp.example.com",
    )
    assert record_identifiers(host) == ("build07.corp.example.com", "10.0.4.7", "build07")


def test_record_identifiers_drop_unusable_ones() -> None:
    assert record_identifiers(HostIdentity(ip="n/a", fqdn="not a name")) == ()
    assert record_identifiers(HostIdentity()) == ()


# Hypothesis: normalising a normalised identifier changes nothing.

_label = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
_names = st.lists(_label, min_size=1, max_size=4).map(".".join)
_v4 = st.ip_addresses(v=4).map(str)
_v6 = st.ip_addresses(v=6).map(lambda a: a.exploded.upper())
_mapped = st.ip_addresses(v=4).map(lambda a: f"::ffff:{a}")
_hosts = st.one_of(_names, _names.map(lambda n: n + "."), _v4, _v6, _mapped, st.text())


@given(_hosts)
def test_normalise_host_is_idempotent(raw: str) -> None:
    once = normalise_host(raw)
    if once is not None:
        assert normalise_host(once) == once
        assert normalise_hostname(once) == once or normalise_ip(once) == once


@given(st.one_of(_hosts, _hosts.map(lambda h: f"https://{h}:8443/path")))
def test_split_host_port_is_idempotent_on_the_host(raw: str) -> None:
    host, _ = split_host_port(raw)
    if host is not None:
        assert split_host_port(host) == (host, None)


@given(st.ip_addresses())
def test_normalise_ip_is_canonical(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    spellings = [str(address), address.exploded, address.exploded.upper(), f"[{address}]"]
    results = {normalise_ip(s) for s in spellings if ":" in s or not s.startswith("[")}
    assert len(results) == 1
    (result,) = results
    assert result is not None and normalise_ip(result) == result


@given(st.binary(min_size=6, max_size=6), st.sampled_from([":", "-"]))
def test_normalise_mac_is_idempotent(raw: bytes, separator: str) -> None:
    text = separator.join(f"{b:02X}" for b in raw)
    once = normalise_mac(text)
    assert once is not None and normalise_mac(once) == once
