"""OpenVAS / Greenbone CSV exports, DefectDojo scan type "OpenVAS Parser".

What DefectDojo does, read from `dojo/tools/openvas/parser_v1/csv_parser.py` (the parser of
"OpenVAS Parser" for a file whose name ends in `.csv`), and what this module mirrors:

- Columns are matched by lower-cased name and applied in file order, a later column
  overriding an earlier one: "nvt name" is the title, "severity" the severity (kept when it
  is Info, Low, Medium, High or Critical, else Info), "port" the port when all digits,
  "port protocol" the protocol when non-empty, "nvt oid" the scanner id (and every CVE id in
  it), "cves" the CVEs (split on commas when there are several).
- Endpoint host (`dd_host`): the stripped "hostname" when non-empty, else the stripped "ip".
- Description: "summary", plus "**All CVEs:** ..." when "cves" lists several and "**IP**: ..."
  when "ip" is set. Rows with the same endpoint, severity, title and description are one
  finding: only the first is kept. Every other row is its own finding, so a record here is
  exactly one DD finding.

Rows DD's parser would fail on are refused with their record number: more cells than the
header, a "timestamp" that dateutil cannot read (DD parses every non-empty or empty cell of
it, so an empty timestamp fails the import too), a non-numeric "cvss", no "severity" cell.
A file without an "nvt name" or "severity" column, or without both "ip" and "hostname",
is refused. Host names in "hostname" are sorted into FQDN or NetBIOS slots by
`app.formats.hostnames`.

The subset is the header row and the kept rows, re-quoted by the csv module (see
`app.formats.csvstream` for encodings). OpenVAS CSV exports carry a "Task Name" per row, but
DD does not read it and no single scan name exists for the file: `scope_title` is None.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from typing import BinaryIO

from dateutil import parser as dateparser

from app.formats import csvstream
from app.formats.base import SEVERITIES, HostIdentity, Record, ScanFormatError
from app.formats.hostnames import is_ip, sort_names
from app.formats.shares import K

WHAT = "an OpenVAS/Greenbone CSV export"
_CVE = re.compile(r"CVE-\d{4}-\d{4,7}")


@dataclass(slots=True)
class _Row:
    """What DD's column strategies leave on a finding after one row."""

    title: str = ""
    severity: str = ""
    host: str = ""
    ip: str = ""
    hostname: str = ""
    port: int | None = None
    protocol: str = ""
    oid: str = ""
    cves: tuple[str, ...] = ()
    description: str = ""
    date: dt.date | None = None


class _Table:
    """An opened export with its lower-cased column names."""

    def __init__(self, source: BinaryIO) -> None:
        self.table = csvstream.open_table(source, what=WHAT)
        self.names = [name.lower() for name in self.table.header]
        present = set(self.names)
        missing = [name for name in ("nvt name", "severity") if name not in present]
        if not {"ip", "hostname"} & present:
            missing.append("ip or hostname")
        if missing:
            raise ScanFormatError(
                f"expected {WHAT}, but the header has no column {', '.join(missing)}", line=1
            )

    def findings(self) -> Iterator[tuple[list[str], _Row]]:
        """DD's findings in file order: every data row that does not repeat an earlier one."""
        seen: set[bytes] = set()
        for number, fields in self.table.rows():
            if len(fields) > len(self.names):
                raise self._refuse(number, f"has {len(fields)} cells, the header {len(self.names)}")
            row = self._read(number, fields)
            key = "\0".join(
                (row.host, str(row.port), row.protocol, row.severity, row.title, row.description)
            )
            digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).digest()
            if digest not in seen:
                seen.add(digest)
                yield fields, row

    def _refuse(self, number: int, problem: str) -> ScanFormatError:
        return ScanFormatError(f"row {number} {problem}", line=self.table.line, record=number)

    def _read(self, number: int, fields: list[str]) -> _Row:
        row = _Row()
        severity_seen = False
        raw_ip = ""
        for name, value in zip(self.names, fields, strict=False):
            if name == "timestamp":
                try:
                    row.date = _date(value)
                except (ValueError, OverflowError):
                    raise self._refuse(
                        number, f"has timestamp {value!r}, which DefectDojo cannot read"
                    ) from None
            elif name == "nvt name":
                row.title = value
            elif name == "severity":
                severity_seen = True
                row.severity = value if value in SEVERITIES else "Info"
            elif name == "cvss" and value:
                try:
                    float(value)
                except ValueError:
                    raise self._refuse(number, f"has cvss {value!r}, not a number") from None
            elif name == "summary":
                row.description = value
            elif name == "cves" and value:
                if "," in value:
                    row.description += "\n**All CVEs:** " + value
                row.cves += tuple(value.split(","))
            elif name == "nvt oid":
                row.oid = value
                row.cves += tuple(_CVE.findall(value))
            elif name == "port" and value.isdigit():
                row.port = int(value)
            elif name == "port protocol" and value:
                row.protocol = value
            elif name == "ip":
                raw_ip = value
                row.ip = value.strip()
                row.host = row.host or row.ip
            elif name == "hostname" and value:
                row.hostname = row.host = value.strip()
        if not severity_seen:
            raise self._refuse(number, "has no severity cell")
        if raw_ip:
            row.description += f"\n**IP**: {raw_ip}"
        return row


@functools.lru_cache(maxsize=1024)
def _date(text: str) -> dt.date:
    """dateutil's reading of a timestamp, as DD's parser does it; exports repeat them."""
    return dateparser.parse(text).date()


def _record(index: int, row: _Row) -> Record:
    fqdn, netbios = sort_names([row.hostname, None if is_ip(row.ip) else row.ip])
    return Record(
        index=index,
        title=row.title,
        severity=row.severity,
        host=HostIdentity(
            ip=row.ip if is_ip(row.ip) else None,
            fqdn=fqdn,
            netbios=netbios,
            dd_host=row.host or None,
        ),
        port=row.port,
        protocol=row.protocol or None,
        date=row.date,
        scanner_id=row.oid or None,
        vulnerability_ids=tuple(dict.fromkeys(cve.strip() for cve in row.cves if cve.strip())),
        description=row.description,
    )


class OpenVasCsv:
    """The `ScanFormat` of OpenVAS/Greenbone CSV exports."""

    scan_type = "OpenVAS Parser"
    name = "openvas-csv"
    description = "OpenVAS/Greenbone CSV export"

    def sniff(self, head: bytes) -> bool:
        """A header with the "NVT Name" and "NVT OID" columns of a GVM export."""
        header = {name.lower() for name in csvstream.parse_header(head, ",")}
        return {"nvt name", "nvt oid"} <= header

    def records(self, source: BinaryIO) -> Iterator[Record]:
        """One record per distinct row, in file order."""
        for index, (_, row) in enumerate(_Table(source).findings()):
            yield _record(index, row)

    def scope_title(self, source: BinaryIO) -> str | None:
        """None: see the module docstring."""
        _Table(source)
        return None

    def write_subset(self, source: BinaryIO, keep: Set[int], out: BinaryIO) -> int:
        """The header and the rows of the kept records (repeated rows are left out)."""
        table = _Table(source)
        rows = enumerate(fields for fields, _ in table.findings())
        return csvstream.write_kept(out, table.table, rows, keep)

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """`write_subset` for several disjoint shares, in one pass over the file."""
        table = _Table(source)
        rows = enumerate(fields for fields, _ in table.findings())
        return csvstream.write_kept_shares(outs, table.table, rows, keeps)


FORMAT = OpenVasCsv()
