"""Synthetic Nmap XML reports (nmap -oX), written as a stream.

Each host has `findings_per_host` open ports sampled from a pool three times that size (so
DefectDojo, which merges on the port number, merges most of them across hosts), plus a few
closed and filtered ports that DefectDojo skips. Every port number has one protocol, so
titles never depend on which host comes first. A third of the pool's services carry a
vulners script with one to three vulnerabilities, which DefectDojo turns into findings of
their own. Hosts come from bench.infra_hosts: a PTR name for most hosts (a user-given name
for some), a MAC address, and a NetBIOS name in an nbstat host script.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import BinaryIO

from bench.infra_hosts import InfraHost, infra_hosts

_START = 1796162400  # 2026-12-01 00:00:00 UTC
_PRODUCTS = (
    ("ssh", "cpe:/a:openbsd:openssh:7.4", "OpenSSH", "7.4"),
    ("http", "cpe:/a:apache:http_server:2.4.6", "Apache httpd", "2.4.6"),
    ("mysql", "cpe:/a:mysql:mysql:5.5.62", "MySQL", "5.5.62"),
    ("smtp", "cpe:/a:postfix:postfix:2.10", "Postfix smtpd", "2.10"),
)


@dataclass(frozen=True, slots=True)
class _Service:
    port: int
    protocol: str
    name: str
    product: str | None
    version: str | None
    cpe: str | None
    vulnerabilities: tuple[tuple[str, float, str], ...]


def _pool(size: int, seed: int) -> list[_Service]:
    rng = random.Random(f"ports-{seed}")
    services = []
    for port in rng.sample(range(1, 65536), size):
        protocol = "udp" if rng.random() < 0.1 else "tcp"
        name, cpe, product, version = rng.choice(_PRODUCTS)
        vulnerable = protocol == "tcp" and rng.random() < 1 / 3
        vulnerabilities = tuple(
            _vulnerability(rng) for _ in range(rng.randint(1, 3) if vulnerable else 0)
        )
        services.append(
            _Service(
                port=port,
                protocol=protocol,
                name=name,
                product=product if vulnerable or rng.random() < 0.5 else None,
                version=version if vulnerable else None,
                cpe=cpe if vulnerable else None,
                vulnerabilities=vulnerabilities,
            )
        )
    return services


def _vulnerability(rng: random.Random) -> tuple[str, float, str]:
    """Id, CVSS score and vulners type of one vulnerability."""
    score = round(rng.uniform(0.0, 10.0), 1)
    if rng.random() < 0.7:
        return f"CVE-{rng.randint(2015, 2026)}-{rng.randint(1000, 49999)}", score, "cve"
    return f"EXPLOITPACK:{rng.getrandbits(64):016X}", score, "exploitpack"


def nmap_xml(out: BinaryIO, hosts: int = 10, findings_per_host: int = 20, seed: int = 0) -> None:
    """An Nmap XML report of `hosts` hosts with `findings_per_host` open ports each."""
    pool = _pool(max(3 * findings_per_host, 30), seed)
    rng = random.Random(f"scan-{seed}-{hosts}")
    out.write(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n'
        b'<?xml-stylesheet href="file:///usr/bin/../share/nmap/nmap.xsl" type="text/xsl"?>\n'
        b"<!-- Nmap 7.94 scan initiated Tue Dec  1 00:00:00 2026 -->\n"
    )
    out.write(
        f'<nmaprun scanner="nmap" args="nmap -sV --script vulners -oX - 10.0.0.0/8" '
        f'start="{_START}" startstr="Tue Dec  1 00:00:00 2026" version="7.94" '
        f'xmloutputversion="1.05">\n'.encode()
    )
    out.write(
        b'<scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>\n'
        b'<verbose level="0"/>\n<debugging level="0"/>\n'
    )
    for number, host in enumerate(infra_hosts(hosts, seed)):
        chosen = sorted(rng.sample(pool, min(findings_per_host, len(pool))), key=_order)
        out.write(_host(host, number, chosen, rng).encode())
    out.write(
        f'<runstats><finished time="{_START + 7 * hosts}" elapsed="{7 * hosts}" '
        f'exit="success"/><hosts up="{hosts}" down="0" total="{hosts}"/>\n'
        "</runstats>\n</nmaprun>\n".encode()
    )


def _order(service: _Service) -> tuple[str, int]:
    return service.protocol, service.port


def _host(host: InfraHost, number: int, services: list[_Service], rng: random.Random) -> str:
    started = _START + 7 * number
    parts = [
        f'<host starttime="{started}" endtime="{started + 7}">'
        '<status state="up" reason="echo-reply" reason_ttl="63"/>\n'
        f'<address addr="{host.ip}" addrtype="ipv4"/>\n'
    ]
    if host.mac:
        parts.append(f'<address addr="{host.mac.upper()}" addrtype="mac" vendor="VMware"/>\n')
    parts.append("<hostnames>\n")
    if host.fqdn and number % 5 == 1:
        parts.append(f'<hostname name="{host.fqdn}" type="user"/>\n')
    elif host.fqdn:
        parts.append(f'<hostname name="{host.fqdn}" type="PTR"/>\n')
    parts.append('</hostnames>\n<ports><extraports state="closed" count="990">\n')
    parts.append('<extrareasons reason="resets" count="990"/>\n</extraports>\n')
    for state in ("closed", "filtered"):
        port = rng.randint(1, 65535)
        parts.append(
            f'<port protocol="tcp" portid="{port}"><state state="{state}" reason="reset" '
            'reason_ttl="63"/></port>\n'
        )
    parts.extend(_port(service) for service in services)
    parts.append("</ports>\n")
    if host.netbios:
        parts.append(
            '<hostscript><script id="nbstat" output="NetBIOS name: '
            f'{host.netbios}, NetBIOS user: &lt;unknown&gt;, NetBIOS MAC: {host.mac or "unknown"}"'
            "/></hostscript>\n"
        )
    parts.append('<times srtt="412" rttvar="120" to="100000"/>\n</host>\n')
    return "".join(parts)


def _port(service: _Service) -> str:
    attributes = f'name="{service.name}"'
    if service.product:
        attributes += f' product="{service.product}"'
    if service.version:
        attributes += f' version="{service.version}"'
    script = ""
    if service.vulnerabilities and service.cpe:
        tables = "".join(
            f'<table>\n<elem key="is_exploit">false</elem>\n<elem key="cvss">{score}</elem>\n'
            f'<elem key="id">{ident}</elem>\n<elem key="type">{kind}</elem>\n</table>\n'
            for ident, score, kind in service.vulnerabilities
        )
        output = " ".join(ident for ident, _, _ in service.vulnerabilities)
        script = (
            f'<script id="vulners" output="{service.cpe}: {output}">\n'
            f'<table key="{service.cpe}">\n{tables}</table>\n</script>'
        )
    return (
        f'<port protocol="{service.protocol}" portid="{service.port}">'
        '<state state="open" reason="syn-ack" reason_ttl="63"/>'
        f'<service {attributes} method="probed" conf="10"/>{script}</port>\n'
    )
