"""The host, port and protocol DefectDojo stores for a URL-shaped endpoint.

Web scanners (ZAP, Burp, Nuclei) and Generic Findings Import name where a finding is by URL
or ``host[:port]``. DefectDojo parses such strings with hyperlink and cleans them (DD 3.x
``dojo/url/models.py``, ``URL.clean``; DD 2.x ``Endpoint.from_uri``): a string without
``://`` is read as ``//`` + string; the host of an IP literal is kept in compressed form,
any other host is lower-cased (IDNA-encoded); a missing port becomes the scheme's default
port (``https`` → 443, ``http`` → 80, …) and stays empty for an unknown or absent scheme.
This module reproduces that so a record's host and port are the ones DD will show.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.formats.base import HostIdentity

DEFAULT_PORTS: dict[str, int] = {
    "ftp": 21,
    "ssh": 22,
    "sftp": 22,
    "telnet": 23,
    "smtp": 25,
    "tftp": 69,
    "http": 80,
    "pop3": 110,
    "nntp": 119,
    "imap": 143,
    "irc": 194,
    "ldap": 389,
    "https": 443,
    "smb": 445,
    "smtps": 465,
    "rtsp": 554,
    "nntps": 563,
    "submission": 587,
    "ldaps": 636,
    "ftps-data": 989,
    "ftps": 990,
    "imaps": 993,
    "pop3s": 995,
    "openvpn": 1194,
    "mqtt": 1883,
    "rdp": 3389,
    "sip": 5060,
    "sips": 5061,
    "vnc": 5900,
    "mqtts": 8883,
}
"""Scheme default ports, as DefectDojo's URL model fills them in (``DEFAULT_PORTS``)."""


_AUTHORITY_END = re.compile(r"[/?#]")


class EndpointError(ValueError):
    """The text is not a URL or host DefectDojo can store as an endpoint."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where DefectDojo will say a finding is: its host identity, port and protocol."""

    host: HostIdentity
    port: int | None
    protocol: str | None

    @property
    def key(self) -> tuple[str | None, int | None]:
        """What makes two endpoints of one finding the same record: host and port."""
        return (self.host.dd_host, self.port)


def endpoint_from_text(text: str) -> Endpoint:
    """The endpoint of a URL or ``host[:port][/path]`` string, as DefectDojo reads it."""
    candidate = text.strip()
    if "://" not in candidate:
        candidate = "//" + candidate
    found = _authority_endpoint(_authority(candidate))
    return found if found is not None else _endpoint(text, candidate)


def _authority(candidate: str) -> str:
    """The URL up to the end of its authority (scheme and netloc): all an endpoint reads.

    urlsplit's netloc, when there is one, starts after the first "//" and ends before the
    next "/", "?" or "#"; a scan repeats few authorities under many paths.
    """
    start = candidate.find("//")
    end = _AUTHORITY_END.search(candidate, start + 2) if start >= 0 else None
    return candidate[: end.start()] if end else candidate


@functools.lru_cache(maxsize=4096)
def _authority_endpoint(authority: str) -> Endpoint | None:
    """The endpoint of a URL's authority, or None when it has none (then the whole text
    is read again, for the error message)."""
    try:
        return _endpoint(authority, authority)
    except EndpointError:
        return None


def _endpoint(text: str, candidate: str) -> Endpoint:
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError as error:
        raise EndpointError(f"{text!r} is not a valid URL: {error}") from error
    host = _raw_host(parts.netloc)
    if not host:
        raise EndpointError(f"{text!r} names no host")
    protocol = parts.scheme.lower() or None
    return endpoint_from_parts(host=host, port=port, protocol=protocol)


def endpoint_from_parts(
    *, host: str, port: int | str | None = None, protocol: str | None = None
) -> Endpoint:
    """The endpoint of separate fields (Generic JSON ``{"host": …, "port": …}``)."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise EndpointError("the endpoint names no host")
    scheme = protocol.lower() if protocol else None
    number = _port_number(port)
    if number is None and scheme:
        number = DEFAULT_PORTS.get(scheme)
    return Endpoint(host=identity_of(host), port=number, protocol=scheme)


@functools.lru_cache(maxsize=4096)
def identity_of(host: str) -> HostIdentity:
    """The host as written (IP or FQDN) plus the form DefectDojo stores (``dd_host``)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return HostIdentity(fqdn=host, dd_host=_clean_name(host))
    return HostIdentity(ip=host, dd_host=address.compressed)


def _clean_name(host: str) -> str:
    """Lower-case and IDNA-encode a host name, keeping it as is when it cannot be encoded."""
    lowered = host.lower()
    if lowered.isascii():
        return lowered
    try:
        return lowered.encode("idna").decode("ascii")
    except UnicodeError:
        return lowered


def _raw_host(netloc: str) -> str:
    """The host part of a URL authority, with its case kept (urlsplit lower-cases it)."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        return hostport[1 : hostport.find("]")] if "]" in hostport else ""
    name, _, port = hostport.rpartition(":")
    return name if name and (port.isdigit() or not port) else hostport


def _port_number(port: int | str | None) -> int | None:
    if port is None or port == "":
        return None
    try:
        number = int(port)
    except (TypeError, ValueError) as error:
        raise EndpointError(f"invalid port {port!r}") from error
    if number == 0:
        return None
    if not 1 <= number <= 65535:
        raise EndpointError(f"invalid port {port!r}")
    return number
