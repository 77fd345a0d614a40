"""Tenable Scan as a Tenable/Nessus CSV export, read as DefectDojo reads it.

What DefectDojo's parser does (dojo/tools/tenable/csv_format.py, TenableCSVParser) and this
module mirrors. Column lookups follow `row.get(a, row.get(b, default))`: the first column
that exists wins, even when its cell is empty.

- Delimiter: ";" when the first line contains one, else ",".
- It refuses a file with none of the title columns "Name", "Plugin Name", "asset.name",
  and skips every row whose title is empty (Tenable exports end in many empty rows).
  Every other row becomes one endpoint of a finding, so a record here is one such row.
  Rows merge into one finding on severity + title + host + port + synopsis, which only
  ever joins rows of the same host.
- Severity: "Risk" (else "severity"); when that is empty, "Severity" (else "Info"). An
  integer 4/3/2/1 is Critical/High/Medium/Low, other integers Info; text is title-cased
  and kept when it is one of DefectDojo's severities, else Info.
- Endpoint host: "Host" (else "asset.host_name"); when empty "DNS Name"; when empty
  "IP Address" (else "localhost"). A host holding a URL ("://") gives the URL's host.
- Port: "Port" (else "asset.port"), none when empty or "0". Protocol: "Protocol" (else
  "protocol") lower-cased, none when empty.
- Vulnerability ids: every CVE-nnnn-nnnn in "CVE" (else "definition.cve").

DefectDojo decodes the upload as UTF-8; csvstream also reads UTF-8 with a byte order mark
and UTF-16, and subsets are written as UTF-8 so DefectDojo can read them. A data row with
a title but fewer cells than the header is refused: DefectDojo's parser reads the missing
cells as None, which fails or silently differs depending on the column.

The subset is the header row and the kept rows, re-quoted by the csv module with the
file's delimiter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping, Set
from typing import BinaryIO
from urllib.parse import urlsplit

from app.formats import csvstream
from app.formats.base import SEVERITIES, HostIdentity, Record, ScanFormatError
from app.formats.hostnames import is_ip
from app.formats.shares import K

WHAT = "a Tenable/Nessus CSV export"
DESCRIPTION_CHARS = 500
TITLE_COLUMNS = ("Name", "Plugin Name", "asset.name")
PLUGIN_COLUMNS = ("Plugin ID", "Plugin", "definition.id")

_LEVELS = {4: "Critical", 3: "High", 2: "Medium", 1: "Low"}
_CVE = re.compile(r"CVE-[0-9]+-[0-9]+", re.IGNORECASE)


def semicolon_or_comma(first_line: str) -> str:
    """DefectDojo's delimiter rule for Tenable CSV."""
    return ";" if ";" in first_line else ","


class TenableCsv:
    """Tenable Scan, CSV export of Nessus, Tenable.sc or Tenable.io."""

    scan_type = "Tenable Scan"
    name = "tenable-csv"
    description = "Tenable/Nessus CSV export"

    def sniff(self, head: bytes) -> bool:
        line = csvstream.first_line(head)
        header = set(csvstream.parse_header(head, semicolon_or_comma(line)))
        return bool(header & set(TITLE_COLUMNS)) and bool(header & set(PLUGIN_COLUMNS))

    def records(self, source: BinaryIO) -> Iterator[Record]:
        columns = _open(source)
        index = 0
        for number, fields in columns.table.rows():
            record = columns.record(index, number, fields)
            if record is not None:
                yield record
                index += 1

    def scope_title(self, source: BinaryIO) -> str | None:
        """Tenable CSV exports carry no scan name."""
        _open(source)
        return None

    def write_subset(self, source: BinaryIO, keep: Set[int], out: BinaryIO) -> int:
        columns = _open(source)
        titled = (
            fields
            for number, fields in columns.table.rows()
            if columns.title(number, fields) is not None
        )
        return csvstream.write_kept(out, columns.table, enumerate(titled), keep)

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """`write_subset` for several disjoint shares, in one pass over the file."""
        columns = _open(source)
        titled = (
            fields
            for number, fields in columns.table.rows()
            if columns.title(number, fields) is not None
        )
        return csvstream.write_kept_shares(outs, columns.table, enumerate(titled), keeps)


FORMAT = TenableCsv()


def _open(source: BinaryIO) -> _Columns:
    table = csvstream.open_table(
        source, what=WHAT, required=(TITLE_COLUMNS,), delimiter=semicolon_or_comma
    )
    return _Columns(table)


class _Columns:
    """The positions of the columns DefectDojo reads, resolved once from the header."""

    def __init__(self, table: csvstream.CsvTable) -> None:
        self.table = table
        column = table.column
        self._title = column(*TITLE_COLUMNS)
        self._risk = column("Risk", "severity")
        self._severity = column("Severity")
        self._host = column("Host", "asset.host_name")
        self._dns = column("DNS Name")
        self._ip = column("IP Address")
        self._netbios = column("NetBIOS Name")
        self._mac = column("MAC Address")
        self._port = column("Port", "asset.port")
        self._protocol = column("Protocol", "protocol")
        self._cve = column("CVE", "definition.cve")
        self._plugin = column(*PLUGIN_COLUMNS)
        self._summary = column("Synopsis", "definition.synopsis", "Description")
        self._seen = column("Last Observed", "First Discovered")

    def title(self, number: int, fields: list[str]) -> str | None:
        """The row's title, or None when DefectDojo skips the row."""
        title = _cell(fields, self._title)
        if not title:
            return None
        if len(fields) < len(self.table.header):
            raise ScanFormatError(
                f"row {number} has {len(fields)} cells but the header has {len(self.table.header)}",
                line=self.table.line,
                record=number,
            )
        return title

    def record(self, index: int, number: int, fields: list[str]) -> Record | None:
        title = self.title(number, fields)
        if title is None:
            return None
        dd_host, protocol, port = self._endpoint(fields)
        ip = _cell(fields, self._ip) or None
        dns = _cell(fields, self._dns) or None
        listed = _cell(fields, self._host) or None
        mac = _cell(fields, self._mac).split()
        return Record(
            index=index,
            title=title,
            severity=self._severity_of(fields),
            host=HostIdentity(
                ip=ip or (listed if listed and is_ip(listed) else None),
                fqdn=dns or (listed if listed and not is_ip(listed) else None),
                netbios=_cell(fields, self._netbios) or None,
                mac=mac[0] if mac else None,
                dd_host=dd_host,
            ),
            port=port,
            protocol=protocol,
            date=_date(_cell(fields, self._seen)),
            scanner_id=_cell(fields, self._plugin) or None,
            vulnerability_ids=tuple(_CVE.findall(_cell(fields, self._cve).upper())),
            description=_cell(fields, self._summary)[:DESCRIPTION_CHARS],
        )

    def _severity_of(self, fields: list[str]) -> str:
        raw = _cell(fields, self._risk)
        if raw == "":
            raw = _cell(fields, self._severity, default="Info")
        try:
            return _LEVELS.get(int(raw), "Info")
        except ValueError:
            pass
        named = raw.title()
        return named if named in SEVERITIES else "Info"

    def _endpoint(self, fields: list[str]) -> tuple[str | None, str | None, int | None]:
        """DefectDojo's endpoint host, protocol and port for the row."""
        host = _cell(fields, self._host)
        if host == "":
            host = _cell(fields, self._dns)
        if host == "":
            host = _cell(fields, self._ip, default="localhost")
        port_text = _cell(fields, self._port)
        protocol = _cell(fields, self._protocol)
        if host and "://" in host:
            parts = urlsplit(host)
            try:
                url_port = parts.port
            except ValueError:
                url_port = None
            return parts.hostname, parts.scheme or None, url_port
        digits = port_text.strip()
        port = int(digits) if digits.isdecimal() and int(digits) > 0 else None
        return host or None, protocol.lower() or None, port


def _cell(fields: list[str], position: int | None, default: str = "") -> str:
    """A cell by column position; `default` when the column does not exist.

    A missing cell of a short row reads as empty (rows with a title are never short).
    """
    if position is None:
        return default
    return fields[position] if position < len(fields) else ""


def _date(text: str) -> dt.date | None:
    """The date of a Tenable timestamp such as "Jan 5, 2021 10:24:08 MST"."""
    words = text.split()
    if len(words) < 3:
        return None
    try:
        return dt.datetime.strptime(" ".join(words[:3]), "%b %d, %Y").date()
    except ValueError:
        return None
