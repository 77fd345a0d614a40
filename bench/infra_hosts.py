"""Synthetic infrastructure hosts for the network scanner generators (Nessus, Nmap, ...).

Host i has a unique IPv4 address in 10.0.0.0/8, and — for most hosts — a FQDN, a NetBIOS
name and a MAC address, so that files exercise every identifier and the scanners' fallbacks
(a host without FQDN is named by its IP). A large random text is built once per seed and
sliced for descriptions and plugin output, which keeps writing fast enough for 1 GB files.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator
from dataclasses import dataclass

_WORDS = (
    "remote", "service", "host", "version", "vulnerable", "server", "certificate", "protocol",
    "cipher", "update", "patch", "kernel", "package", "configuration", "weak", "default",
    "password", "exposure", "request", "response", "allows", "attacker", "execute",
    "arbitrary", "code", "denial", "information", "disclosure", "network", "port",
    "listening", "encrypted", "plaintext", "upgrade", "vendor", "advisory", "affected",
    "installed", "detected",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class InfraHost:
    """One scanned host: its IP and the names a scanner may report for it."""

    ip: str
    fqdn: str | None
    netbios: str | None
    mac: str | None


def infra_hosts(count: int, seed: int) -> Iterator[InfraHost]:
    """`count` hosts; about one in seven has no DNS name, one in five no NetBIOS name."""
    rng = random.Random(f"hosts-{seed}")
    for number in range(count):
        ip = str(ipaddress.IPv4Address(0x0A000001 + number))
        named = rng.random() >= 1 / 7
        windows = rng.random() >= 1 / 5
        mac = ":".join(f"{byte:02x}" for byte in (0x00, 0x50, 0x56, *number.to_bytes(3, "big")))
        yield InfraHost(
            ip=ip,
            fqdn=f"host{number:05d}.corp.example.com" if named else None,
            netbios=f"HOST{number:05d}" if windows else None,
            mac=mac if rng.random() >= 0.1 else None,
        )


class TextPool:
    """Random prose to slice from: `take(rng, size)` is a window of about `size` chars."""

    def __init__(self, seed: int, size: int = 256 * 1024) -> None:
        rng = random.Random(f"text-{seed}")
        words = rng.choices(_WORDS, k=size // 6)
        self._text = " ".join(words) + " "
        self._limit = len(self._text)

    def take(self, rng: random.Random, size: int) -> str:
        size = min(size, self._limit // 2)
        start = rng.randrange(0, self._limit - size)
        return self._text[start : start + size].strip()
