"""Sorting the host names a scanner prints into the slots of `HostIdentity`.

Scanners often print one or more names for a host without saying where each came from
(OpenVAS `hostname`, Nexpose `<names>`). A name with a dot is taken as a DNS name (FQDN); a
single label, like `LOGSRV` or `EC2AMAZ-IU0C43L`, is what Windows networks announce and what
scanners learn over NetBIOS/SMB, so it goes to the NetBIOS slot. Matching compares every
identifier anyway; the slots only decide how a person sees the host.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable


@functools.lru_cache(maxsize=4096)
def is_ip(text: str) -> bool:
    """True when `text` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def sort_names(names: Iterable[str | None]) -> tuple[str | None, str | None]:
    """The first DNS name and the first single-label name among `names`, as (fqdn, netbios).

    Empty names and IP addresses are skipped.
    """
    fqdn: str | None = None
    netbios: str | None = None
    for raw in names:
        name = (raw or "").strip()
        if not name or is_ip(name):
            continue
        if "." in name:
            fqdn = fqdn or name
        else:
            netbios = netbios or name
    return fqdn, netbios
