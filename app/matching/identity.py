"""One spelling per host, so that matching is plain string equality.

Scanners and DefectDojo write the same host many ways: `Build07.Corp.Example.com.`,
`build07.corp.example.com`, `https://build07.corp.example.com/`, `2001:DB8:0::1`,
`[2001:db8::1]:443`, `::ffff:10.0.4.7`. Every identifier is brought to one form before it
is compared with anything:

- host names: whitespace stripped, lower-cased, one trailing dot dropped, internationalised
  labels IDNA-encoded (`bücher.example` → `xn--bcher-kva.example`);
- IP addresses: canonical text of `ipaddress` (IPv6 compressed and lower-case), IPv4-mapped
  IPv6 unmapped to IPv4, zone ids (`%eth0`) and brackets dropped;
- URLs and `host:port`: split into host and port, the port defaulting by scheme.

Labels IDNA 2008 refuses. DNS itself allows any octets in a label, and real inventories
hold names IDNA 2008 rejects: underscores (`_ldap._tcp`, Windows host names), leading or
trailing hyphens, `+` (which DefectDojo's own endpoint validation accepts). So an ASCII label
is never passed through IDNA: it is accepted when it consists of `a-z 0-9 _ + -` (1 to 63
characters). A non-ASCII label goes through UTS #46 mapping and IDNA 2008; when IDNA 2008
refuses it (emoji, symbols), IDNA 2003 (Python's `idna` codec, what older resolvers and
browsers do) is tried before the name is rejected. Anything else — spaces, slashes, empty
labels, names over 253 characters, a last label of digits only (a malformed IP address such
as `10.0.0.256`) — is not a host name, and the functions answer None.

A short name (no dot, e.g. a NetBIOS name) stays its own identifier: it matches the same
short name only, never the first label of a fully qualified name.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

import idna

from app.formats.base import HostIdentity

DEFAULT_PORTS: Mapping[str, int] = MappingProxyType(
    {
        # The IANA defaults that DefectDojo's URL parser (hyperlink) applies to endpoints.
        "acap": 674,
        "afp": 548,
        "dict": 2628,
        "dns": 53,
        "ftp": 21,
        "git": 9418,
        "gopher": 70,
        "http": 80,
        "https": 443,
        "imap": 143,
        "ipp": 631,
        "ipps": 631,
        "irc": 194,
        "ircs": 6697,
        "ldap": 389,
        "ldaps": 636,
        "mms": 1755,
        "msrp": 2855,
        "mtqp": 1038,
        "nfs": 111,
        "nntp": 119,
        "nntps": 563,
        "pop": 110,
        "prospero": 1525,
        "redis": 6379,
        "rsync": 873,
        "rtsp": 554,
        "rtsps": 322,
        "rtspu": 5005,
        "sftp": 22,
        "smb": 445,
        "snmp": 161,
        "ssh": 22,
        "svn": 3690,
        "telnet": 23,
        "ventrilo": 3784,
        "vnc": 5900,
        "wais": 210,
        "ws": 80,
        "wss": 443,
    }
)
"""Default port of a URL scheme, used when a URL names no port."""

MAX_NAME_LENGTH = 253

_ASCII_NAME = re.compile(r"(?:[a-z0-9_+-]{1,63}\.)*[a-z0-9_+-]{1,63}")
_ASCII_LABEL = re.compile(r"[a-z0-9_+-]{1,63}")
_MAC_HEX = re.compile(r"[0-9a-f]{12}")
_MAC_GROUPS = re.compile(r"[0-9a-f]{1,2}(?:[:-][0-9a-f]{1,2}){5}")
_URL_MARKS = frozenset(":/@")


def normalise_hostname(value: str) -> str | None:
    """The canonical form of a host name, or None when `value` is not one (see module doc)."""
    name = value.strip()
    if not name.isascii():
        try:
            # Maps case, full-width dots and compatibility forms the way resolvers do.
            name = idna.uts46_remap(name, std3_rules=False, transitional=False)
        except idna.IDNAError:
            return None
    name = name.lower()
    if name.endswith("."):
        name = name[:-1]
    if name.isascii():
        if not _ASCII_NAME.fullmatch(name):
            return None
    else:
        labels = [encode_label(label) for label in name.split(".")]
        if None in labels:
            return None
        name = ".".join(label for label in labels if label is not None)
    if len(name) > MAX_NAME_LENGTH or name.rpartition(".")[2].isdigit():
        return None
    return name


def encode_label(label: str) -> str | None:
    """One label as ASCII: unchanged when ASCII, else IDNA 2008, else IDNA 2003."""
    if label.isascii():
        return label if _ASCII_LABEL.fullmatch(label) else None
    try:
        encoded = idna.alabel(label).decode("ascii")
    except idna.IDNAError:
        try:
            encoded = label.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return encoded if _ASCII_LABEL.fullmatch(encoded) else None


def normalise_ip(value: str) -> str | None:
    """The canonical text of an IPv4 or IPv6 address, or None when `value` is not one."""
    text = value.strip()
    if ":" not in text:
        # Only IPv4 is possible. Cheap string tests first: raising is costly, and most
        # identifiers that reach here are host names.
        if text.count(".") != 3 or not text.replace(".", "").isdigit():
            return None
        try:
            # Strict dotted-quad (no leading zeros, four parts) is already canonical.
            socket.inet_pton(socket.AF_INET, text)
        except (OSError, ValueError):
            return None
        return text
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.IPv6Address(text.partition("%")[0])
    except ValueError:
        return None
    mapped = address.ipv4_mapped
    return str(mapped) if mapped is not None else str(address)


def split_url(value: str) -> tuple[str | None, int | None, str | None]:
    """(host, port, scheme) of a URL or of `host[:port][/path]`.

    The port is the URL's own, else the scheme's default (`https` → 443), else None. The host
    is normalised; it is None when the text names no usable host or an impossible port.
    """
    text = value.strip()
    if "://" not in text:
        address = normalise_ip(text)
        if address is not None:
            return address, None, None
        text = "//" + text
    try:
        parts = urlsplit(text)
        scheme = parts.scheme or None
        port = parts.port
        raw_host = parts.hostname
    except ValueError:
        return None, None, None
    if port is None and scheme is not None:
        port = DEFAULT_PORTS.get(scheme)
    host = None if not raw_host else normalise_ip(raw_host) or normalise_hostname(raw_host)
    return host, port, scheme


def split_host_port(value: str) -> tuple[str | None, int | None]:
    """(normalised host, port) of an IP, a host name, `host:port` or a URL; port None when
    the text gives none. This is how a DefectDojo endpoint host is read: some rows carry a
    URL or `host:port` in the host field."""
    text = value.strip()
    if _URL_MARKS.isdisjoint(text):
        return normalise_ip(text.removesuffix(".")) or normalise_hostname(text), None
    address = normalise_ip(text)
    if address is not None:
        return address, None
    if "://" not in text and ("/" in text or "@" in text):
        # Without a scheme only `host:port` is a host; "n/a" or "user@host" are not.
        return None, None
    host, port, _ = split_url(text)
    return host, port


def normalise_host(value: str) -> str | None:
    """The normalised IP address or host name in `value` (which may be `host:port` or a URL)."""
    return split_host_port(value)[0]


def normalise_mac(value: str) -> str | None:
    """A MAC address as `00:1a:2b:3c:4d:5e`, from colon, hyphen, Cisco-dotted or bare hex forms.

    Groups written without their leading zero (`0:1a:2b:3c:4d:5e`) are padded.
    """
    text = value.strip().lower()
    if _MAC_GROUPS.fullmatch(text):
        digits = "".join(group.zfill(2) for group in re.split("[:-]", text))
    else:
        digits = text.replace(".", "")
        if not _MAC_HEX.fullmatch(digits):
            return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def record_identifiers(host: HostIdentity) -> tuple[str, ...]:
    """The normalised, de-duplicated identifiers of a host, most specific first.

    Order follows `HostIdentity.identifiers()` (FQDN, IP, NetBIOS, DefectDojo's host). A
    NetBIOS name written `DOMAIN\\NAME` contributes NAME. MAC addresses are left out:
    DefectDojo endpoints never carry them, so they could never match.
    """
    netbios = host.netbios.rpartition("\\")[2] if host.netbios else None
    found: dict[str, None] = {}
    for raw in (host.fqdn, host.ip, netbios, host.dd_host):
        identifier = normalise_host(raw) if raw else None
        if identifier is not None:
            found[identifier] = None
    return tuple(found)
