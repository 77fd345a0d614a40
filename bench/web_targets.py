"""Synthetic web targets shared by the ZAP, Burp, Nuclei and Generic generators.

Each host is a base URL on an IPv4 address or a DNS name (about one in three are
addresses), with a scheme and port chosen from what web scanners meet most (https on 443,
http on 80, https on 8443). The same seed gives the same targets, so a benchmark or a test
can regenerate a file and know what it holds: `hosts` targets, each with every finding.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_SCHEMES = (("https", 443), ("http", 80), ("https", 8443))


@dataclass(frozen=True, slots=True)
class Target:
    """One scanned web host."""

    host: str
    scheme: str
    port: int

    @property
    def base_url(self) -> str:
        default = (self.scheme, self.port) in (("https", 443), ("http", 80))
        authority = self.host if default else f"{self.host}:{self.port}"
        return f"{self.scheme}://{authority}"

    @property
    def is_ip(self) -> bool:
        return self.host[0].isdigit()


def targets(count: int, seed: int) -> list[Target]:
    """`count` distinct targets, reproducible from `seed`."""
    rng = random.Random(seed)
    result = []
    for number in range(count):
        if rng.random() < 0.34:
            host = f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"
        else:
            host = f"app{number}.{rng.choice(('corp', 'shop', 'dmz'))}.example.com"
        scheme, port = rng.choice(_SCHEMES)
        result.append(Target(host=host, scheme=scheme, port=port))
    return result


def finding_names(count: int, seed: int) -> list[str]:
    """`count` distinct finding titles, reproducible from `seed`."""
    rng = random.Random(seed * 7919 + 1)
    words = ("Cookie", "Header", "Injection", "Disclosure", "Redirect", "TLS", "CSRF", "Cache")
    return [f"{rng.choice(words)} issue {number}" for number in range(count)]
