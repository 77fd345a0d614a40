"""Synthetic Nexpose XML 2.0 reports, written as a stream.

DefectDojo makes, per node, one finding per vulnerable test, a "Host Up" finding, and per
endpoint an "Open port" finding plus one per vulnerable test of its service. Each host here
gets exactly `findings` of them: "Host Up", up to four endpoints (each with its "Open port"),
and vulnerable tests split between the node and its services, sampled from a catalog of
definitions three times `findings`, so most vulnerabilities are found on several hosts. A
few tests are "not-vulnerable" and make no finding. Hosts come from bench.infra_hosts
(IP, names, MAC). The definitions follow the nodes, as in Nexpose's own reports, and hold
only the vulnerabilities found. Records = hosts * max(findings, 1): "Host Up" is always there.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from bench.infra_hosts import InfraHost, TextPool, infra_hosts

_SERVICES = ((22, "tcp", "SSH"), (80, "tcp", "HTTP"), (443, "tcp", "HTTPS"), (161, "udp", "SNMP"))
_STATUSES = ("vulnerable-exploited", "vulnerable-version", "vulnerable-potential")


@dataclass(frozen=True, slots=True)
class _Vulnerability:
    vid: str
    title: str
    severity: int
    cve: str | None
    description: str


def _catalog(size: int, seed: int, text: TextPool) -> list[_Vulnerability]:
    rng = random.Random(f"definitions-{seed}")
    return [
        _Vulnerability(
            vid=f"synthetic-vuln-{number}",
            title=f"Synthetic vulnerability {number}: {text.take(rng, 40)}",
            severity=rng.randrange(1, 11),
            cve=(
                f"CVE-20{rng.randrange(10, 26)}-{rng.randrange(1000, 99999)}"
                if rng.random() < 0.5
                else None
            ),
            description=text.take(rng, 300),
        )
        for number in range(max(size, 1))
    ]


def _test(rng: random.Random, text: TextPool, vid: str, status: str) -> str:
    return (
        f'<test id={quoteattr(vid)} status={quoteattr(status)} scan-id="1">'
        f"<Paragraph><Paragraph>{escape(text.take(rng, 160))}</Paragraph></Paragraph></test>"
    )


def _node(
    host: InfraHost,
    findings: int,
    catalog: list[_Vulnerability],
    rng: random.Random,
    text: TextPool,
) -> tuple[str, set[str]]:
    """The `<node>` of one host, and the definitions its tests use."""
    remaining = max(findings - 1, 0)
    endpoints = min(len(_SERVICES), remaining // 4)
    tests = rng.sample(catalog, min(remaining - endpoints, len(catalog)))
    node_tests = tests[: len(tests) // 2] if endpoints else tests
    used = {vulnerability.vid for vulnerability in tests}
    quiet = rng.choice(catalog).vid
    body = [
        f'<node address={quoteattr(host.ip)} status="alive" device-id="1"'
        + (f" hardware-address={quoteattr(host.mac.replace(':', '').upper())}" if host.mac else "")
        + ">",
        "<names>"
        + "".join(f"<name>{escape(name)}</name>" for name in (host.fqdn, host.netbios) if name)
        + "</names>",
        '<fingerprints><os certainty="0.80" vendor="Linux" family="Linux" product="Linux"/>'
        "</fingerprints><tests>",
        *(_test(rng, text, v.vid, rng.choice(_STATUSES)) for v in node_tests),
        _test(rng, text, quiet, "not-vulnerable"),
        "</tests><endpoints>",
    ]
    service_tests = tests[len(node_tests) :]
    for number, (port, protocol, name) in enumerate(_SERVICES[:endpoints]):
        mine = service_tests[number::endpoints]
        body.append(
            f'<endpoint protocol="{protocol}" port="{port}" status="open"><services>'
            f"<service name={quoteattr(name)}><configurations>"
            f'<config name="{name.lower()}.banner">Synthetic/1.0</config></configurations><tests>'
            + "".join(_test(rng, text, v.vid, rng.choice(_STATUSES)) for v in mine)
            + "</tests></service></services></endpoint>"
        )
    body.append("</endpoints></node>\n")
    return "".join(body), used


def write(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """A Nexpose report of `hosts` nodes with `findings` DefectDojo findings each."""
    text = TextPool(seed)
    catalog = _catalog(3 * findings, seed, text)
    rng = random.Random(f"nodes-{seed}")
    out.write(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<NexposeReport version="2.0"><scans>'
        + f'<scan id="1" name="synthetic-{seed}" startTime="20261130T220000000" '.encode()
        + b'endTime="20261130T230000000" status="finished"/></scans>\n<nodes>\n'
    )
    used: set[str] = set()
    for host in infra_hosts(hosts, seed):
        node, found = _node(host, findings, catalog, rng, text)
        used |= found
        out.write(node.encode())
    out.write(b"</nodes>\n<VulnerabilityDefinitions>\n")
    for vulnerability in catalog:
        if vulnerability.vid in used:
            reference = (
                f'<reference source="CVE">{vulnerability.cve}</reference>'
                if vulnerability.cve
                else ""
            )
            out.write(
                f"<vulnerability id={quoteattr(vulnerability.vid)} "
                f'title={quoteattr(vulnerability.title)} severity="{vulnerability.severity}" '
                'cvssVector="(AV:N/AC:L/Au:N/C:P/I:N/A:N)"><description><ContainerBlockElement>'
                f"<Paragraph>{escape(vulnerability.description)}</Paragraph>"
                f"</ContainerBlockElement></description><references>{reference}</references>"
                "<tags><tag>Synthetic</tag></tags><solution><ContainerBlockElement><Paragraph>"
                "Upgrade.</Paragraph></ContainerBlockElement></solution></vulnerability>\n".encode()
            )
    out.write(b"</VulnerabilityDefinitions>\n</NexposeReport>\n")
