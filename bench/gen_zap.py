"""Synthetic OWASP ZAP XML reports, written as a stream: one site per host.

Every site has one alert item per finding, with two instances on two paths of that host,
so records = hosts * findings.
"""

from __future__ import annotations

import random
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from bench.web_targets import finding_names, targets


def write(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """A ZAP report of `hosts` sites, each with `findings` alert items."""
    rng = random.Random(seed)
    names = finding_names(findings, seed)
    risks = [rng.choice("0123") for _ in names]
    out.write(b'<?xml version="1.0"?>\n<OWASPZAPReport version="2.14.0" generated="synthetic">\n')
    for site in targets(hosts, seed):
        ssl = "true" if site.scheme == "https" else "false"
        out.write(
            f"<site name={quoteattr(site.base_url)} host={quoteattr(site.host)} "
            f'port="{site.port}" ssl="{ssl}"><alerts>\n'.encode()
        )
        for number, name in enumerate(names):
            instances = "".join(
                f"<instance><uri>{escape(site.base_url)}/{page}/{number}</uri>"
                "<method>GET</method></instance>"
                for page in ("a", "b")
            )
            out.write(
                f"<alertitem><pluginid>{10000 + number}</pluginid><alert>{escape(name)}</alert>"
                f"<riskcode>{risks[number]}</riskcode><desc>Synthetic.</desc>"
                f"<instances>{instances}</instances><solution>Fix.</solution>"
                "<reference></reference></alertitem>\n".encode()
            )
        out.write(b"</alerts></site>\n")
    out.write(b"</OWASPZAPReport>\n")
