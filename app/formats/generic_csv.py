"""Generic Findings Import, CSV flavour (DefectDojo scan type ``Generic Findings Import``).

What DefectDojo does (``dojo/tools/generic/csv_parser.py``, ``GenericCSVParser``), mirrored:

- A comma-separated file with a header row, read by ``csv.DictReader``: every data row is
  a finding, needing the columns ``Title``, ``Description``, ``Date`` and ``Severity``.
- ``Severity`` is kept when it is one of DD's five severities, else it becomes ``Info``.
- ``Date`` is parsed with dateutil; optional ``CweId`` (int), ``epss_score``,
  ``epss_percentile``, ``CVSSV4_score`` (float), ``MitigatedDate`` and ``kev_date`` (dates)
  are converted when their column exists, even when the cell is empty. Any failed
  conversion fails the whole import, so such a file is refused with its record number.
- ``Url``, when not empty, is the endpoint (a URL, or ``host[:port]`` read as ``//`` + text).
- Rows with the same severity, title and description are one finding, collecting all their
  endpoints (the sample ``generic_report1.csv`` gives one finding on five URLs).

Records: one per (finding, endpoint host and port), numbered by first appearance; rows
without ``Url`` give their finding one record with no host. A subset keeps the header and
every row of a kept record, written back with the csv module so quoting stays valid and a
cell such as ``=cmd|…`` stays inert text.

Reading goes through `csvstream`, which also decodes UTF-16 and BOM-prefixed UTF-8 exports
and writes subsets as plain UTF-8, the form DD reads. A field longer than 131,072
characters, the csv module's default limit under which DD reads, is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from app.formats import csvstream, shares
from app.formats.base import SEVERITIES, HostIdentity, Record, ScanFormatError
from app.formats.dd_import import parse_date
from app.formats.shares import K
from app.formats.urls import Endpoint, EndpointError, endpoint_from_text

WHAT = "a Generic Findings Import CSV (columns Date, Title, Severity, Description, …)"
DD_FIELD_LIMIT = 131072
_REQUIRED = ("Title", "Description", "Date", "Severity")
_INTEGERS = ("CweId",)
_FLOATS = ("epss_score", "epss_percentile", "CVSSV4_score")
_DATES = ("MitigatedDate", "kev_date")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Row:
    """One data row as DefectDojo reads it."""

    finding_key: bytes
    title: str
    severity: str
    date: dt.date
    endpoint: Endpoint | None
    vulnerability_ids: tuple[str, ...]


class GenericCsvFormat(shares.OnePass):
    """Generic Findings Import CSV; see the module docstring for DefectDojo's rules."""

    scan_type = "Generic Findings Import"
    name = "generic-csv"
    description = "Generic Findings Import CSV"

    def sniff(self, head: bytes) -> bool:
        header = set(csvstream.parse_header(head, ","))
        return all(column in header for column in _REQUIRED)

    def records(self, source: BinaryIO) -> Iterator[Record]:
        table = _open(source)
        columns = _columns(table)
        groups = _Groups()
        for number, fields in table.rows():
            row = _parse(table, columns, number, fields)
            index, new = groups.index_of(row)
            if new:
                yield groups.record(index, row)

    def scope_title(self, source: BinaryIO) -> str | None:
        return None

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """Each share's subset, in one pass over the rows: the header and every row of
        the share's records."""
        table = _open(source)
        columns = _columns(table)
        groups = _Groups()
        rows = (
            (groups.index_of(_parse(table, columns, number, fields))[0], fields)
            for number, fields in table.rows()
        )
        return csvstream.write_kept_shares(outs, table, rows, keeps)


FORMAT = GenericCsvFormat()


class _Groups:
    """Numbers records by DefectDojo finding key plus host and port, first seen first.

    Keys are kept as 16-byte digests so a file of millions of rows stays small in memory.
    """

    def __init__(self) -> None:
        self._index: dict[bytes, int] = {}
        self._first: dict[bytes, _Row] = {}

    def index_of(self, row: _Row) -> tuple[int, bool]:
        self._first.setdefault(row.finding_key, row)
        where = row.endpoint.key if row.endpoint else (None, None)
        key = hashlib.blake2b(row.finding_key + repr(where).encode(), digest_size=16).digest()
        if key in self._index:
            return self._index[key], False
        self._index[key] = len(self._index)
        return self._index[key], True

    def record(self, index: int, row: _Row) -> Record:
        finding = self._first[row.finding_key]
        endpoint = row.endpoint
        return Record(
            index=index,
            title=finding.title,
            severity=finding.severity,
            host=endpoint.host if endpoint else HostIdentity(),
            port=endpoint.port if endpoint else None,
            protocol=endpoint.protocol if endpoint else None,
            date=finding.date,
            vulnerability_ids=finding.vulnerability_ids,
        )


def _open(source: BinaryIO) -> csvstream.CsvTable:
    return csvstream.open_table(source, what=WHAT, required=_REQUIRED)


def _parse(
    table: csvstream.CsvTable, columns: dict[str, int], number: int, fields: list[str]
) -> _Row:
    """One row as DefectDojo reads it; raises where DD's parser would fail."""
    for position, value in enumerate(fields):
        if len(value) > DD_FIELD_LIMIT:
            raise ScanFormatError(
                f"field {position + 1} is {len(value)} characters long; DefectDojo reads "
                f"CSV fields of at most {DD_FIELD_LIMIT}",
                line=table.line,
                record=number,
            )

    def cell(name: str) -> str | None:
        position = columns.get(name)
        if position is None:
            return None
        return fields[position] if position < len(fields) else None

    title, description, severity = cell("Title"), cell("Description"), cell("Severity")
    if title is None or description is None or severity is None:
        raise ScanFormatError(
            "the row has fewer fields than the header", line=table.line, record=number
        )
    date = _read(cell("Date"), "Date", parse_date, number, table)
    for name, convert in _CONVERTED:
        if name in columns:
            _read(cell(name), name, convert, number, table)
    severity = severity if severity in SEVERITIES else "Info"
    url = cell("Url")
    try:
        endpoint = endpoint_from_text(url) if url else None
    except EndpointError as error:
        raise ScanFormatError(f"Url {error}", line=table.line, record=number) from error
    ids = tuple(value for value in (cell("CVE"), cell("Vulnerability Id")) if value)
    return _Row(
        finding_key=f"{severity}|{title}|{description}".encode(),
        title=title,
        severity=severity,
        date=date,
        endpoint=endpoint,
        vulnerability_ids=ids,
    )


_CONVERTED: tuple[tuple[str, Callable[[str], object]], ...] = (
    *((name, int) for name in _INTEGERS),
    *((name, float) for name in _FLOATS),
    *((name, parse_date) for name in _DATES),
)
"""The optional columns DefectDojo converts when the header has them, in its order."""
_READ = ("Title", "Description", "Severity", "Date", "Url", "CVE", "Vulnerability Id")


def _columns(table: csvstream.CsvTable) -> dict[str, int]:
    """The positions of the columns rows are read from (a duplicated name: its last)."""
    names = (*_READ, *(name for name, _ in _CONVERTED))
    found = {name: table.column(name) for name in names}
    return {name: position for name, position in found.items() if position is not None}


def _read(
    value: str | None,
    column: str,
    convert: Callable[[str], T],
    number: int,
    table: csvstream.CsvTable,
) -> T:
    """Convert a cell as DefectDojo does (int, float, dateutil); raise where it would fail."""
    try:
        if value is None:
            raise ValueError("the cell is missing")
        return convert(value)
    except (ValueError, OverflowError) as error:
        raise ScanFormatError(
            f"column {column}: DefectDojo cannot read {value!r}",
            line=table.line,
            record=number,
        ) from error
