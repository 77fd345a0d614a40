"""What every scan format module provides, and the record it yields.

A format module turns one scan file into a stream of `Record`s — one per (finding, host)
pair that DefectDojo's own parser would create for that file — and can later write a
*subset document*: the same file, in the same format, holding only chosen records, which
DefectDojo's parser accepts as if it were the original scan.

Records are numbered by their position in the stream (`Record.index`, from 0). The subset
writer reads the file again and keeps exactly the items whose records carry a kept index,
so both passes must walk the file in the same order and number it the same way. An upload
split over many products writes every product's subset in one such pass (`write_subsets`).

Format modules are pure: no FastAPI, no SQLAlchemy, no httpx. They read from binary file
objects and never hold a whole document in memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol, TypeVar

K = TypeVar("K")

SEVERITIES: tuple[str, ...] = ("Info", "Low", "Medium", "High", "Critical")
"""DefectDojo's severities, least to most severe."""

SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}


class ScanFormatError(Exception):
    """The file is not a readable scan of the expected format.

    `message` is written for a person ("expected a .nessus v2 report (root <NessusClientData_v2>),
    found root <nmaprun>"); `line`/`column` (1-based) or `record` point at the problem when known.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        record: int | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.column = column
        self.record = record
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.record is not None:
            where.append(f"record {self.record}")
        return f"{self.message} ({', '.join(where)})" if where else self.message


@dataclass(frozen=True, slots=True)
class HostIdentity:
    """Every identifier the scan gives for a host, as written in the file (not normalised).

    `dd_host` is the host name DefectDojo itself will put on the finding's endpoint for this
    record (its parser prefers FQDN or IP depending on the format); None when DefectDojo
    creates no endpoint.
    """

    ip: str | None = None
    fqdn: str | None = None
    netbios: str | None = None
    mac: str | None = None
    dd_host: str | None = None

    def identifiers(self) -> tuple[str, ...]:
        """The non-empty identifiers, most specific first (FQDN, IP, NetBIOS)."""
        return tuple(v for v in (self.fqdn, self.ip, self.netbios, self.dd_host) if v)

    def display(self) -> str:
        """One name for a person: what DefectDojo shows, else the FQDN, IP or NetBIOS name."""
        return self.dd_host or self.fqdn or self.ip or self.netbios or self.mac or ""


@dataclass(frozen=True, slots=True)
class Record:
    """One (finding, host) pair of a scan, as DefectDojo's parser would see it."""

    index: int
    title: str
    severity: str
    host: HostIdentity
    port: int | None = None
    protocol: str | None = None
    date: dt.date | None = None
    scanner_id: str | None = None
    vulnerability_ids: tuple[str, ...] = ()
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


class ScanFormat(Protocol):
    """One file format of one DefectDojo scan type (e.g. Tenable Scan as .nessus XML)."""

    scan_type: str
    """DefectDojo's exact scan type name, e.g. "Tenable Scan"."""

    name: str
    """A short stable id of this format, e.g. "tenable-xml"."""

    description: str
    """What a person calls the file, e.g. "Nessus v2 XML report (.nessus)"."""

    def sniff(self, head: bytes) -> bool:
        """True when the first bytes of a file (up to 64 KiB) look like this format."""
        ...

    def records(self, source: BinaryIO) -> Iterator[Record]:
        """Stream the file's records in file order, numbered from 0.

        Raises ScanFormatError when the file is not of this format or is broken; the error
        may come after some records were yielded (a truncated file).
        """
        ...

    def scope_title(self, source: BinaryIO) -> str | None:
        """The scan's own name where the format has one (Nessus Report@name, ...), else None.

        Reads only as far as needed.
        """
        ...

    def write_subset(self, source: BinaryIO, keep: Set[int], out: BinaryIO) -> int:
        """Write a document of this format holding only the records whose index is in `keep`.

        Keeps the document's metadata (root, policy, scan information, header row,
        definitions the kept items reference). Returns the number of records written.
        """
        ...

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """`write_subset` of each share (`keeps[k]` into `outs[k]`) in one pass over the file.

        Each output gets what `write_subset` alone would write for its share; the records
        written by share. The shares must be disjoint (ValueError otherwise). One writer per
        share is open during the pass, so the caller bounds how many shares it passes.
        """
        ...
