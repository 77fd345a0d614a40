"""Synthetic Burp Suite XML issue exports, written as a stream: one issue per (host, finding).

Issues of one finding share their type, so DefectDojo merges each finding across all
hosts while the records stay hosts * findings.
"""

from __future__ import annotations

import random
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from bench.web_targets import finding_names, targets

_SEVERITIES = ("Information", "Low", "Medium", "High")


def write(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """A Burp export of `hosts` targets, each with `findings` issues."""
    rng = random.Random(seed)
    names = finding_names(findings, seed)
    severities = [rng.choice(_SEVERITIES) for _ in names]
    out.write(b'<?xml version="1.0"?>\n<issues burpVersion="2024.1" exportTime="synthetic">\n')
    serial = 0
    for site in targets(hosts, seed):
        address = site.host if site.is_ip else f"192.0.2.{serial % 250 + 1}"
        for number, name in enumerate(names):
            serial += 1
            out.write(
                f"<issue><serialNumber>{serial}</serialNumber><type>{1000000 + number}</type>"
                f"<name>{escape(name)}</name>"
                f"<host ip={quoteattr(address)}>{escape(site.base_url)}</host>"
                f"<path>/p/{number}</path><location>/p/{number}</location>"
                f"<severity>{severities[number]}</severity><confidence>Firm</confidence>"
                "<issueBackground>Synthetic.</issueBackground></issue>\n".encode()
            )
    out.write(b"</issues>\n")
