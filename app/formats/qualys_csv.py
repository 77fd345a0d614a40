"""Qualys CSV exports, DefectDojo scan type "Qualys Scan".

What DefectDojo does, read from `dojo/tools/qualys/csv_parser.py` (used for a file whose name
ends in `.csv`), and what this module mirrors, with its default settings
(`USE_QUALYS_LEGACY_SEVERITY_PARSING` on, `USE_FIRST_SEEN` off):

- The first line is the header (`csv.DictReader`). A row is read when its "Title" is
  non-empty and not "Title" (a repeated header), or its "VULN TITLE" is non-empty (the PCI
  export's shape); every other row is skipped.
- Rows merge into one finding per "QID": the first row of a QID makes the finding (title
  `"QID-<QID> | <Title>"`, severity, date), every row adds its endpoint. So a record is one
  row, titled and rated like its QID's first row, so its (title, host) pairs are DD's; its
  date is the row's own, which is what the finding gets when a subset makes the row first.
- Severity: "Severity" 1 Info, 2 Low, 3 Medium, 4 High, 5 Critical, else Info; in the PCI
  shape "SEVERITY" is taken as written (Info-like words become Info, as DD's importer does).
- Endpoint host (`dd_host`): from "FQDN" when non-empty, which DD reads as a URL (a bare name
  parses as a path, leaving the endpoint without host: `dd_host` None, the FQDN still an
  identifier); else "DNS"; else "IP". No port is put on the endpoint; the record carries
  "Port"/"Protocol" for routing. Date: "Last Detected" ("%m/%d/%Y %H:%M:%S"), else none.
- CVEs: "CVE ID" (else "CVEID"), split on commas. Scanner id: the QID.

Files DD would fail on are refused: a "Title"-shaped row without the "QID", "Solution",
"Threat", "Impact", "Severity", "Vuln Status", "Date Last Fixed" and CVSS3 (or CVSS3.1)
"Base"/"Temporal" columns DD reads, a PCI row without "QID", "SOLUTION", "THREAT", "IMPACT",
"SEVERITY", a row with fewer cells than the header, an unreadable "Date Last Fixed", a PCI
severity DD's importer rejects. DD checks the last two only on the first row of a QID; they
are checked on every row here, because a subset may make any row the first.

The subset is the header row and the kept rows, re-quoted by the csv module (see
`app.formats.csvstream` for encodings). A Qualys CSV export has no report title in its
rows: `scope_title` is None.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Set
from typing import BinaryIO
from urllib.parse import urlsplit

from app.formats import csvstream
from app.formats.base import SEVERITIES, HostIdentity, Record, ScanFormatError
from app.formats.hostnames import sort_names
from app.formats.shares import K

WHAT = "a Qualys CSV export"
_LEVELS = {"1": "Info", "2": "Low", "3": "Medium", "4": "High", "5": "Critical"}
_DATE_FORMAT = "%m/%d/%Y %H:%M:%S"
_REPORT_COLUMNS = (
    "QID",
    "Solution",
    "Threat",
    "Impact",
    "Severity",
    "Vuln Status",
    "Date Last Fixed",
)
_PCI_COLUMNS = ("QID", "SOLUTION", "THREAT", "IMPACT", "SEVERITY")
_CVSS_PAIRS = (("CVSS3 Base", "CVSS3 Temporal"), ("CVSS3.1 Base", "CVSS3.1 Temporal"))


class _Table:
    """An opened export and the rows DD reads from it."""

    def __init__(self, source: BinaryIO) -> None:
        self.table = csvstream.open_table(source, what=WHAT, required=(("Title", "VULN TITLE"),))
        self.header = self.table.header
        self.position = {name: i for i, name in enumerate(self.header)}
        self.findings: dict[str, tuple[str, str]] = {}

    def cell(self, fields: list[str], name: str) -> str:
        position = self.position.get(name)
        return fields[position] if position is not None and position < len(fields) else ""

    def refuse(self, number: int, problem: str) -> ScanFormatError:
        return ScanFormatError(f"row {number} {problem}", line=self.table.line, record=number)

    def rows(self) -> Iterator[tuple[list[str], Record]]:
        """The rows DD reads, each with its record, in file order."""
        index = 0
        for number, fields in self.table.rows():
            title = self.cell(fields, "Title")
            if not ((title and title != "Title") or self.cell(fields, "VULN TITLE")):
                continue
            if len(fields) < len(self.header):
                raise self.refuse(number, f"has {len(fields)} cells, the header {len(self.header)}")
            yield fields, self._record(index, number, fields, pci=not title)
            index += 1

    def _record(self, index: int, number: int, fields: list[str], *, pci: bool) -> Record:
        self._check_columns(number, pci=pci)
        qid = self.cell(fields, "QID")
        if pci:
            severity = self._pci_severity(number, self.cell(fields, "SEVERITY"))
            title = f"QID-{qid} | {self.cell(fields, 'VULN TITLE')}"
        else:
            self._check_fixed(number, self.cell(fields, "Date Last Fixed"))
            severity = _LEVELS.get(self.cell(fields, "Severity"), "Info")
            title = f"QID-{qid} | {self.cell(fields, 'Title')}"
        title, severity = self.findings.setdefault(qid, (title, severity))
        port = self.cell(fields, "PORT" if pci else "Port").strip()
        cves = self.cell(fields, "CVE ID" if "CVE ID" in self.position else "CVEID")
        return Record(
            index=index,
            title=title,
            severity=severity,
            host=self._host(number, fields),
            port=int(port) if port.isdigit() else None,
            protocol=self.cell(fields, "PROTOCOL" if pci else "Protocol").strip() or None,
            date=None if pci else _date(self.cell(fields, "Last Detected")),
            scanner_id=qid or None,
            vulnerability_ids=tuple(cve.strip() for cve in cves.split(",") if cve.strip()),
            description=self.cell(fields, "THREAT" if pci else "Threat"),
        )

    def _check_columns(self, number: int, *, pci: bool) -> None:
        needed = _PCI_COLUMNS if pci else _REPORT_COLUMNS
        missing = [name for name in needed if name not in self.position]
        if not pci and not any(set(pair) <= self.position.keys() for pair in _CVSS_PAIRS):
            missing.append("CVSS3 Base and CVSS3 Temporal")
        if missing:
            raise self.refuse(
                number, f"needs the column(s) {', '.join(missing)}, which DefectDojo reads"
            )

    def _check_fixed(self, number: int, text: str) -> None:
        if not text:
            return
        try:
            dt.datetime.strptime(text, _DATE_FORMAT)
        except ValueError:
            raise self.refuse(
                number, f"has Date Last Fixed {text!r}; DefectDojo needs {_DATE_FORMAT}"
            ) from None

    def _pci_severity(self, number: int, text: str) -> str:
        if text != "Info" and (text.lower().startswith("info") or text.lower() == "none"):
            return "Info"
        if text not in SEVERITIES:
            raise self.refuse(number, f"has SEVERITY {text!r}, which DefectDojo rejects")
        return text

    def _host(self, number: int, fields: list[str]) -> HostIdentity:
        fqdn_cell = self.cell(fields, "FQDN")
        dns = self.cell(fields, "DNS") or self.cell(fields, "HOSTNAME")
        ip = self.cell(fields, "IP")
        if fqdn_cell:
            dd_host = urlsplit(fqdn_cell).hostname if "//" in fqdn_cell else None
        elif self.cell(fields, "DNS"):
            dd_host = self.cell(fields, "DNS")
        elif "IP" in self.position:
            dd_host = ip
        else:
            raise self.refuse(number, "has no FQDN or DNS, and the file has no IP column")
        fqdn, short = sort_names([fqdn_cell, dns])
        return HostIdentity(
            ip=ip.strip() or None,
            fqdn=fqdn,
            netbios=self.cell(fields, "NetBIOS").strip() or short,
            dd_host=dd_host or None,
        )


def _date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text, _DATE_FORMAT).date()
    except ValueError:
        return None


class QualysCsv:
    """The `ScanFormat` of Qualys CSV exports."""

    scan_type = "Qualys Scan"
    name = "qualys-csv"
    description = "Qualys CSV export"

    def sniff(self, head: bytes) -> bool:
        """A header with "QID" and "Title" (or the PCI export's "VULN TITLE")."""
        header = set(csvstream.parse_header(head, ","))
        return "QID" in header and bool({"Title", "VULN TITLE"} & header)

    def records(self, source: BinaryIO) -> Iterator[Record]:
        """One record per row DD reads, in file order."""
        for _, record in _Table(source).rows():
            yield record

    def scope_title(self, source: BinaryIO) -> str | None:
        """None: see the module docstring."""
        _Table(source)
        return None

    def write_subset(self, source: BinaryIO, keep: Set[int], out: BinaryIO) -> int:
        """The header and the kept rows."""
        table = _Table(source)
        rows = ((record.index, fields) for fields, record in table.rows())
        return csvstream.write_kept(out, table.table, rows, keep)

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """`write_subset` for several disjoint shares, in one pass over the file."""
        table = _Table(source)
        rows = ((record.index, fields) for fields, record in table.rows())
        return csvstream.write_kept_shares(outs, table.table, rows, keeps)


FORMAT = QualysCsv()
