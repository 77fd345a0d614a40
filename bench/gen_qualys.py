"""Synthetic Qualys scans: asset data reports (XML) and CSV exports, written as streams.

Each host gets `findings` detections, QIDs sampled without repetition from a catalog three
times that size, so most QIDs are found on several hosts. Hosts come from bench.infra_hosts
(IP, DNS name for most, NetBIOS name for most). The XML's glossary follows the host list,
as in Qualys's own reports, and holds only the QIDs detected. Records = hosts * findings.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from bench.infra_hosts import InfraHost, TextPool, infra_hosts

_SERVICES = ((22, "tcp", "ssh"), (80, "tcp", "http"), (443, "tcp", "https"), (123, "udp", "ntp"))
_TYPES = ("Vuln", "Ig", "Practice")
_VECTOR = "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
_CSV_HEADER = (
    "IP", "Network", "DNS", "NetBIOS", "Tracking Method", "OS", "IP Status", "QID", "Title",
    "Vuln Status", "Type", "Severity", "Port", "Protocol", "FQDN", "SSL", "First Detected",
    "Last Detected", "Times Detected", "Date Last Fixed", "CVE ID", "Vendor Reference",
    "Bugtraq ID", "CVSS3", "CVSS3 Base", "CVSS3 Temporal", "Threat", "Impact", "Solution",
    "Exploitability", "Associated Malware", "PCI Vuln", "Ticket State", "Instance", "OS CPE",
    "Category", "Associated Tags",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Qid:
    number: int
    title: str
    severity: int
    service: tuple[int, str, str] | None
    cves: tuple[str, ...]
    threat: str
    solution: str

    @property
    def cvss(self) -> str:
        return f"{min(10.0, self.severity * 2.0):.1f}"


def _catalog(size: int, seed: int, text: TextPool) -> list[_Qid]:
    rng = random.Random(f"qids-{seed}")
    return [
        _Qid(
            number=10000 + 7 * number,
            title=f"Synthetic QID {number}: {text.take(rng, 40)}",
            severity=rng.choice((1, 1, 2, 3, 3, 4, 5)),
            service=rng.choice((None, *_SERVICES)),
            cves=tuple(
                f"CVE-20{rng.randrange(10, 26)}-{rng.randrange(1000, 99999)}"
                for _ in range(rng.choice((0, 1, 3)))
            ),
            threat=text.take(rng, 200),
            solution=text.take(rng, 120),
        )
        for number in range(max(size, 1))
    ]


def _detections(
    hosts: int, findings: int, seed: int, catalog: list[_Qid]
) -> Iterator[tuple[InfraHost, list[_Qid]]]:
    rng = random.Random(f"detections-{seed}")
    for host in infra_hosts(hosts, seed):
        yield host, rng.sample(catalog, min(findings, len(catalog)))


def write_xml(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """An asset data report of `hosts` hosts with `findings` detections each."""
    text = TextPool(seed)
    catalog = _catalog(3 * findings, seed, text)
    rng = random.Random(f"results-{seed}")
    out.write(
        b'<?xml version="1.0" encoding="UTF-8" ?>\n'
        b'<!DOCTYPE ASSET_DATA_REPORT SYSTEM "https://qualysguard.qualys.com/asset_data_report.dtd">\n'
        b"<ASSET_DATA_REPORT>\n<HEADER><COMPANY><![CDATA[Synthetic Corp]]></COMPANY>"
        b"<GENERATION_DATETIME>2026-12-01T06:00:00Z</GENERATION_DATETIME>"
        + f"<TEMPLATE><![CDATA[Synthetic template {seed}]]></TEMPLATE>".encode()
        + b"<TARGET><USER_ASSET_GROUPS><ASSET_GROUP_TITLE><![CDATA[All]]></ASSET_GROUP_TITLE>"
        b"</USER_ASSET_GROUPS></TARGET></HEADER>\n<HOST_LIST>\n"
    )
    used: set[int] = set()
    for host, qids in _detections(hosts, findings, seed, catalog):
        dns = f"<DNS><![CDATA[{host.fqdn}]]></DNS>" if host.fqdn else ""
        netbios = f"<NETBIOS><![CDATA[{host.netbios}]]></NETBIOS>" if host.netbios else ""
        out.write(
            f"<HOST><IP>{host.ip}</IP><TRACKING_METHOD>IP</TRACKING_METHOD>{dns}{netbios}"
            "<OPERATING_SYSTEM><![CDATA[Linux 5.x]]></OPERATING_SYSTEM><VULN_INFO_LIST>\n".encode()
        )
        for qid in qids:
            used.add(qid.number)
            service = ""
            if qid.service:
                port, protocol, name = qid.service
                service = (
                    f"<PORT>{port}</PORT><SERVICE>{name}</SERVICE><PROTOCOL>{protocol}</PROTOCOL>"
                )
            out.write(
                f'<VULN_INFO><QID id="qid_{qid.number}">{qid.number}</QID>'
                f"<TYPE>{rng.choice(_TYPES)}</TYPE>{service}<SSL>false</SSL>"
                f"<RESULT><![CDATA[{text.take(rng, 200)}]]></RESULT>"
                "<FIRST_FOUND>2026-11-01T21:57:48Z</FIRST_FOUND>"
                "<LAST_FOUND>2026-11-30T21:57:48Z</LAST_FOUND><TIMES_FOUND>5</TIMES_FOUND>"
                "<VULN_STATUS>Active</VULN_STATUS></VULN_INFO>\n".encode()
            )
        out.write(b"</VULN_INFO_LIST></HOST>\n")
    out.write(b"</HOST_LIST>\n<GLOSSARY><VULN_DETAILS_LIST>\n")
    for qid in catalog:
        if qid.number in used:
            _write_details(out, qid)
    out.write(b"</VULN_DETAILS_LIST></GLOSSARY>\n<APPENDICES/>\n</ASSET_DATA_REPORT>\n")


def _write_details(out: BinaryIO, qid: _Qid) -> None:
    cves = "".join(
        f"<CVE_ID><ID><![CDATA[{cve}]]></ID><URL><![CDATA[https://nvd.example/{cve}]]></URL>"
        "</CVE_ID>"
        for cve in qid.cves
    )
    out.write(
        f'<VULN_DETAILS id="qid_{qid.number}"><QID id="qid_{qid.number}">{qid.number}</QID>'
        f"<TITLE><![CDATA[{qid.title}]]></TITLE><SEVERITY>{qid.severity}</SEVERITY>"
        f"<CATEGORY>General</CATEGORY><THREAT><![CDATA[{qid.threat}]]></THREAT>"
        "<IMPACT><![CDATA[Synthetic impact.]]></IMPACT>"
        f"<SOLUTION><![CDATA[{qid.solution}]]></SOLUTION>"
        f"<CVSS3_SCORE><CVSS3_BASE>{qid.cvss} ({_VECTOR})</CVSS3_BASE></CVSS3_SCORE>"
        f"{'<CVE_ID_LIST>' + cves + '</CVE_ID_LIST>' if cves else ''}"
        "</VULN_DETAILS>\n".encode()
    )


def write_csv(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """A Qualys CSV export of `hosts` hosts with `findings` detections each."""
    text = TextPool(seed)
    catalog = _catalog(3 * findings, seed, text)
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(_CSV_HEADER)
    for host, qids in _detections(hosts, findings, seed, catalog):
        for qid in qids:
            port, protocol = (str(qid.service[0]), qid.service[1]) if qid.service else ("", "")
            writer.writerow(
                (
                    host.ip, "Global Default Network", host.fqdn or "", host.netbios or "",
                    "IP", "Linux 5.x", "host scanned, found vuln", qid.number, qid.title,
                    "Active", "Vuln", qid.severity, port, protocol, "", "false",
                    "11/01/2026 21:57:48", "11/30/2026 21:57:48", "5", "", ", ".join(qid.cves),
                    "", "", qid.cvss, f"{qid.cvss} ({_VECTOR})", f"{qid.cvss} (E:U/RL:U/RC:C)",
                    qid.threat, "Synthetic impact.", qid.solution, "", "", "no", "Open", "",
                    "", "General", "Synthetic",
                )
            )  # fmt: skip
            if buffer.tell() > 1 << 16:
                out.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
    out.write(buffer.getvalue().encode())
