"""Synthetic OpenVAS/Greenbone scans: GVM XML reports and CSV exports, written as streams.

Each host gets `findings` results, NVTs sampled without repetition from a catalog three
times that size, so most NVTs are found on several hosts. Hosts come from
bench.infra_hosts; GVM prints the host's DNS name (or else its NetBIOS name) in the
`<hostname>` nested in `<host>` and in the CSV's "Hostname" column. Every result is a
distinct DefectDojo finding, so records = hosts * findings in both formats.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from bench.infra_hosts import InfraHost, TextPool, infra_hosts

_PORTS = ("22/tcp", "80/tcp", "443/tcp", "445/tcp", "3389/tcp", "161/udp", "general/tcp")
_THREATS = ("Log", "Log", "Low", "Medium", "Medium", "High", "High")
_SCORES = {"Log": 0.0, "Low": 2.6, "Medium": 5.0, "High": 7.5}
_CSV_HEADER = (
    "IP", "Hostname", "Port", "Port Protocol", "CVSS", "Severity", "Solution Type", "NVT Name",
    "Summary", "Specific Result", "NVT OID", "CVEs", "Task ID", "Task Name", "Timestamp",
    "Result ID", "Impact", "Solution", "Affected Software/OS", "Vulnerability Insight",
    "Vulnerability Detection Method", "Product Detection Result", "BIDs", "CERTs",
    "Other References",
)  # fmt: skip
_TIMESTAMP = "2026-11-30T22:15:00Z"


@dataclass(frozen=True, slots=True)
class _Nvt:
    oid: str
    name: str
    family: str
    threat: str
    port: str
    cves: tuple[str, ...]
    summary: str
    solution: str


@dataclass(frozen=True, slots=True)
class _Result:
    number: int
    host: InfraHost
    nvt: _Nvt
    output: str

    @property
    def hostname(self) -> str:
        return self.host.fqdn or self.host.netbios or ""


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128))


def _cves(rng: random.Random) -> tuple[str, ...]:
    count = rng.choice((0, 0, 1, 2))
    return tuple(
        f"CVE-20{rng.randrange(10, 26)}-{rng.randrange(1000, 99999)}" for _ in range(count)
    )


def _catalog(size: int, seed: int, text: TextPool) -> list[_Nvt]:
    rng = random.Random(f"nvts-{seed}")
    return [
        _Nvt(
            oid=f"1.3.6.1.4.1.25623.1.0.{100000 + number}",
            name=f"Synthetic NVT {number}: {text.take(rng, 40)}",
            family=rng.choice(("General", "Web Servers", "Windows", "Denial of Service")),
            threat=rng.choice(_THREATS),
            port=rng.choice(_PORTS),
            cves=_cves(rng),
            summary=text.take(rng, 160),
            solution=text.take(rng, 120),
        )
        for number in range(max(size, 1))
    ]


def _results(hosts: int, findings: int, seed: int) -> Iterator[_Result]:
    text = TextPool(seed)
    catalog = _catalog(3 * findings, seed, text)
    rng = random.Random(f"results-{seed}")
    number = 0
    for host in infra_hosts(hosts, seed):
        for nvt in rng.sample(catalog, min(findings, len(catalog))):
            yield _Result(number, host, nvt, text.take(rng, 300))
            number += 1


def write_xml(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """A GVM XML report of `hosts` hosts with `findings` results each."""
    ids = random.Random(f"ids-{seed}")
    task = f"synthetic-scan-{seed}"
    out.write(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<report id="{_uuid(ids)}"'
        ' format_id="a994b278-1f62-11e1-96ac-406186ea4fc5" extension="xml"'
        f' content_type="text/xml"><owner><name>bench</name></owner><name>{task}</name>'
        f'<task id="{_uuid(ids)}"><name>{task}</name></task>'
        f'<report id="{_uuid(ids)}"><gmp><version>22.4</version></gmp>'
        "<scan_run_status>Done</scan_run_status>"
        f'<hosts><count>{hosts}</count></hosts>\n<results start="1" max="-1">\n'.encode()
    )
    for result in _results(hosts, findings, seed):
        nvt = result.nvt
        refs = "".join(f'<ref type="cve" id="{cve}"/>' for cve in nvt.cves)
        out.write(
            f'<result id="{_uuid(ids)}"><name>{escape(nvt.name)}</name>'
            f"<owner><name>bench</name></owner>"
            f'<host>{result.host.ip}<asset asset_id=""/><hostname>{escape(result.hostname)}'
            f"</hostname></host><port>{nvt.port}</port>"
            f"<nvt oid={quoteattr(nvt.oid)}><type>nvt</type><name>{escape(nvt.name)}</name>"
            f"<family>{nvt.family}</family><cvss_base>{_SCORES[nvt.threat]}</cvss_base>"
            f"<tags>summary={escape(nvt.summary)}|solution={escape(nvt.solution)}</tags>"
            f"<refs>{refs}</refs></nvt><threat>{nvt.threat}</threat>"
            f"<severity>{_SCORES[nvt.threat]}</severity><qod><value>80</value>"
            f"<type>remote_banner</type></qod><description>{escape(result.output)}</description>"
            "</result>\n".encode()
        )
    out.write(b"</results>\n<scan_end>2026-11-30T23:00:00Z</scan_end></report></report>\n")


def write_csv(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """A GVM CSV export of `hosts` hosts with `findings` results each."""
    ids = random.Random(f"ids-{seed}")
    task_id = str(_uuid(ids))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_HEADER)
    for result in _results(hosts, findings, seed):
        nvt = result.nvt
        port, protocol = nvt.port.split("/")
        writer.writerow(
            (
                result.host.ip, result.hostname, "" if port == "general" else port,
                "" if port == "general" else protocol, _SCORES[nvt.threat],
                "Info" if nvt.threat == "Log" else nvt.threat, "Mitigation", nvt.name,
                nvt.summary, result.output, nvt.oid, ",".join(nvt.cves), task_id,
                f"synthetic-scan-{seed}", _TIMESTAMP, str(_uuid(ids)),
                "", nvt.solution, "", "", "", "", "", "", "",
            )
        )  # fmt: skip
        if buffer.tell() > 1 << 16:
            out.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode())
