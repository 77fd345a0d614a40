"""Synthetic Tenable scans: .nessus v2 XML and Tenable.sc-style CSV, written as streams.

Each host gets `findings_per_host` report items: "Nessus Scan Information" (on every host,
like the real scanner) plus plugins sampled from a catalog three times that size, so most
plugins are found on several hosts and DefectDojo merges them into one finding each. Hosts
come from bench.infra_hosts: IPs, FQDNs (most hosts), NetBIOS names and MAC addresses.
Records (DefectDojo endpoints) = hosts * findings_per_host in both formats.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from bench.infra_hosts import TextPool, infra_hosts

_SERVICES = (
    (22, "tcp", "ssh"),
    (25, "tcp", "smtp"),
    (53, "udp", "dns"),
    (80, "tcp", "www"),
    (161, "udp", "snmp"),
    (443, "tcp", "https?"),
    (445, "tcp", "cifs"),
    (3389, "tcp", "msrdp"),
    (8080, "tcp", "www"),
    (0, "tcp", "general"),
)
_LEVELS = (0, 0, 0, 0, 0, 0, 1, 2, 2, 3, 4)
_RISKS = ("None", "Low", "Medium", "High", "Critical")
_SEVERITY_NAMES = ("Info", "Low", "Medium", "High", "Critical")
_FAMILIES = ("General", "Web Servers", "Windows", "Misc.", "Service detection", "Databases")
_SCAN_START = dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class _Plugin:
    plugin_id: int
    name: str
    family: str
    level: int
    cvss3: float | None
    cves: tuple[str, ...]
    port: int
    protocol: str
    service: str
    synopsis: str
    description: str
    solution: str


def _catalog(size: int, seed: int, text: TextPool) -> list[_Plugin]:
    rng = random.Random(f"plugins-{seed}")
    plugins = [
        _Plugin(
            19506, "Nessus Scan Information", "Settings", 0, None, (), 0, "tcp", "general",
            "This plugin displays information about the Nessus scan.",
            "This plugin displays, for each tested host, information about the scan itself.",
            "n/a",
        )
    ]  # fmt: skip
    for number in range(size):
        level = rng.choice(_LEVELS)
        port, protocol, service = rng.choice(_SERVICES)
        cves = tuple(
            f"CVE-{rng.randint(2010, 2026)}-{rng.randint(1000, 49999)}"
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3)) if level else 0)
        )
        cvss3 = round(rng.uniform(0.1, 10.0), 1) if level and rng.random() < 0.5 else None
        plugins.append(
            _Plugin(
                plugin_id=100000 + number,
                name=f"Synthetic check {number} & {text.take(rng, 24)}",
                family=rng.choice(_FAMILIES),
                level=level,
                cvss3=cvss3,
                cves=cves,
                port=port,
                protocol=protocol,
                service=service,
                synopsis=text.take(rng, 90),
                description=text.take(rng, rng.randint(300, 900)),
                solution=text.take(rng, 120),
            )
        )
    return plugins


def _assignments(
    hosts: int, findings_per_host: int, seed: int
) -> tuple[TextPool, list[_Plugin], random.Random]:
    text = TextPool(seed)
    catalog = _catalog(max(3 * findings_per_host, 30), seed, text)
    return text, catalog, random.Random(f"items-{seed}-{hosts}")


def _host_plugins(catalog: list[_Plugin], count: int, rng: random.Random) -> list[_Plugin]:
    if count <= 0:
        return []
    return [catalog[0], *rng.sample(catalog[1:], count - 1)]


def nessus_xml(out: BinaryIO, hosts: int = 10, findings_per_host: int = 20, seed: int = 0) -> None:
    """A .nessus v2 report of `hosts` hosts with `findings_per_host` report items each."""
    text, catalog, rng = _assignments(hosts, findings_per_host, seed)
    out.write(
        b'<?xml version="1.0" ?>\n<NessusClientData_v2>\n<Policy><policyName>Synthetic '
        b"policy</policyName>\n<Preferences><ServerPreferences><preference><name>"
        b"max_hosts</name><value>30</value></preference></ServerPreferences></Preferences>"
        b"\n</Policy>\n"
    )
    out.write(
        f'<Report name="Synthetic scan {seed}" xmlns:cm="http://www.nessus.org/cm">\n'.encode()
    )
    for number, host in enumerate(infra_hosts(hosts, seed)):
        started = _SCAN_START + dt.timedelta(seconds=7 * number)
        name = host.fqdn if host.fqdn and number % 2 else host.ip
        parts = [f"<ReportHost name={quoteattr(name)}><HostProperties>\n"]
        parts.append(
            f'<tag name="HOST_END">{_nessus_time(started + dt.timedelta(minutes=9))}</tag>\n'
        )
        system = "Microsoft Windows" if host.netbios else "Linux"
        parts.append(f'<tag name="operating-system">{system}</tag>\n')
        if host.mac:
            parts.append(f'<tag name="mac-address">{host.mac}</tag>\n')
        if host.netbios:
            parts.append(f'<tag name="netbios-name">{host.netbios}</tag>\n')
        if host.fqdn:
            parts.append(f'<tag name="host-fqdn">{host.fqdn}</tag>\n')
        parts.append(f'<tag name="host-ip">{host.ip}</tag>\n')
        parts.append(f'<tag name="HOST_START">{_nessus_time(started)}</tag>\n')
        parts.append("</HostProperties>\n")
        for plugin in _host_plugins(catalog, findings_per_host, rng):
            parts.append(_report_item(plugin, text, rng))
        parts.append("</ReportHost>\n")
        out.write("".join(parts).encode())
    out.write(b"</Report>\n</NessusClientData_v2>\n")


def _report_item(plugin: _Plugin, text: TextPool, rng: random.Random) -> str:
    scores = ""
    if plugin.cvss3 is not None:
        scores = (
            f"<cvss3_base_score>{plugin.cvss3}</cvss3_base_score>\n"
            "<cvss3_vector>CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N</cvss3_vector>\n"
        )
    cves = "".join(f"<cve>{cve}</cve>\n" for cve in plugin.cves)
    return (
        f'<ReportItem port="{plugin.port}" svc_name="{plugin.service}" '
        f'protocol="{plugin.protocol}" severity="{plugin.level}" pluginID="{plugin.plugin_id}" '
        f"pluginName={quoteattr(plugin.name)} pluginFamily={quoteattr(plugin.family)}>\n"
        f"<description>{plugin.description}</description>\n"
        f"<fname>synthetic_{plugin.plugin_id}.nasl</fname>\n"
        f"<plugin_name>{escape(plugin.name)}</plugin_name>\n"
        "<plugin_type>remote</plugin_type>\n"
        f"<risk_factor>{_RISKS[plugin.level]}</risk_factor>\n"
        f"<solution>{plugin.solution}</solution>\n"
        f"<synopsis>{plugin.synopsis}</synopsis>\n"
        f"{scores}{cves}"
        f"<plugin_output>{text.take(rng, rng.randint(80, 500))}</plugin_output>\n"
        "</ReportItem>\n"
    )


def _nessus_time(moment: dt.datetime) -> str:
    return moment.strftime("%a %b %d %H:%M:%S %Y")


CSV_COLUMNS = (
    "Plugin", "Plugin Name", "Family", "Severity", "IP Address", "Protocol", "Port",
    "Exploit?", "MAC Address", "DNS Name", "NetBIOS Name", "Plugin Text", "First Discovered",
    "Last Observed", "Synopsis", "Description", "Solution", "See Also", "CVSS V3 Base Score",
    "CVE",
)  # fmt: skip
"""Tenable.sc's vulnerability export columns (a subset, in its order)."""


def tenable_csv(out: BinaryIO, hosts: int = 10, findings_per_host: int = 20, seed: int = 0) -> None:
    """A Tenable.sc CSV export: one row per host and plugin, then empty rows as Tenable adds."""
    text, catalog, rng = _assignments(hosts, findings_per_host, seed)
    stream = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    for number, host in enumerate(infra_hosts(hosts, seed)):
        seen = (_SCAN_START + dt.timedelta(seconds=7 * number)).strftime("%b %d, %Y %H:%M:%S UTC")
        for plugin in _host_plugins(catalog, findings_per_host, rng):
            writer.writerow(
                (
                    plugin.plugin_id, plugin.name, plugin.family, _SEVERITY_NAMES[plugin.level],
                    host.ip, plugin.protocol.upper(), plugin.port, "No", host.mac or "",
                    host.fqdn or "", host.netbios or "", text.take(rng, rng.randint(80, 500)),
                    seen, seen, plugin.synopsis, plugin.description, plugin.solution,
                    "https://example.com/advisory", plugin.cvss3 or "", ",".join(plugin.cves),
                )
            )  # fmt: skip
    for _ in range(3):
        writer.writerow([""] * len(CSV_COLUMNS))
    stream.flush()
    stream.detach()
