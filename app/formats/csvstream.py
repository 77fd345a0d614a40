"""Safe, streaming CSV reading and writing shared by the CSV format modules.

Scanner CSV exports arrive from anyone with a token and can be large, so the file is decoded
and split into rows as it streams, never read whole, and every way it can be unreadable
becomes a ScanFormatError that points at the place:

- Encoding: UTF-8, with or without a byte order mark, and UTF-16/UTF-32 with a byte order
  mark (which Excel writes) are decoded. Anything else that is not valid UTF-8 (a Latin-1 or
  Windows-1252 export) is refused with the line and column of the first undecodable byte:
  guessing a legacy code page would silently change names that routing compares.
- Size: a field longer than FIELD_LIMIT characters, or a physical line longer than four
  times that, is refused with its record or line number instead of being buffered.
- Columns: `required` names the columns a format cannot do without; when one is missing the
  error names it (and its accepted alternatives).

Subset documents are written back as UTF-8 without a byte order mark, whatever the input
encoding was, because DefectDojo's CSV parsers decode uploads as plain UTF-8: re-encoding
is what lets DefectDojo read a subset of a UTF-16 export at all.

`csv.field_size_limit` is process-wide, so the limit is one constant: `open_table` sets it,
and every CSV format module of this service reads with the same generous limit.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from app.formats import shares
from app.formats.base import ScanFormatError
from app.formats.shares import K

FIELD_LIMIT = 4 * 1024 * 1024
"""Longest field accepted, in characters: plugin outputs of a few hundred KiB are normal."""

if TYPE_CHECKING:
    from _csv import _writer

_CHUNK_BYTES = 64 * 1024
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)

Columns = str | tuple[str, ...]
"""A required column: one name, or alternatives of which any one will do."""


def detect_encoding(head: bytes) -> tuple[str, str]:
    """The Python codec and the human name of the encoding announced by a byte order mark."""
    for bom, codec, label in _BOMS:
        if head.startswith(bom):
            return codec, label
    return "utf-8", "UTF-8"


def decode_head(head: bytes) -> str:
    """The first bytes of a file as text, for sniffing: lenient, never raises."""
    codec, _ = detect_encoding(head)
    return head.decode(codec, "replace")


def first_line(head: bytes) -> str:
    """The first physical line of a file's first bytes, without its line break."""
    return decode_head(head).split("\n", 1)[0].rstrip("\r")


def parse_header(head: bytes, delimiter: str) -> list[str]:
    """The column names of the first line of a file's first bytes (for sniffing); none
    when that line is not CSV at all (a stray carriage return, say): sniffing never raises."""
    try:
        return next(csv.reader([first_line(head)], delimiter=delimiter), [])
    except csv.Error:
        return []


@dataclass(slots=True)
class _Position:
    """Where the decoder is, so errors raised by the csv module can be located."""

    line: int = 1


@dataclass(slots=True)
class CsvTable:
    """An open CSV file: its header and a one-pass stream of data rows.

    `rows()` yields `(row_number, fields)` with row_number counted from 1 after the header;
    blank lines are skipped as `csv.DictReader` skips them. `fields` is the row as read: it
    may be shorter or longer than the header, and the caller decides what that means.
    """

    header: list[str]
    delimiter: str
    encoding: str
    _reader: Iterator[list[str]]
    _position: _Position
    _index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A duplicated column name maps to its last occurrence, as in csv.DictReader.
        self._index = {name: position for position, name in enumerate(self.header)}

    def column(self, *names: str) -> int | None:
        """Index of the first of `names` that is a column, or None when none is."""
        for name in names:
            if name in self._index:
                return self._index[name]
        return None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        number = 0
        while True:
            try:
                fields = next(self._reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise ScanFormatError(
                    f"the CSV cannot be read: {error}",
                    line=self._position.line,
                    record=number + 1,
                ) from error
            if not fields:
                continue
            number += 1
            yield number, fields

    @property
    def line(self) -> int:
        """The physical line the reader has reached (1-based)."""
        return self._position.line


def open_table(
    source: BinaryIO,
    *,
    what: str,
    required: Sequence[Columns] = (),
    delimiter: str | Callable[[str], str] = ",",
) -> CsvTable:
    """Open a CSV file for streaming: decode it, read its header, check required columns.

    `what` names the expected file for error messages ("a Tenable/Nessus CSV export").
    `delimiter` is a character, or a function choosing one from the header line as text.
    """
    csv.field_size_limit(FIELD_LIMIT)
    head = source.read(4)
    codec, label = detect_encoding(head)
    position = _Position()
    lines = _decoded_lines(head, source, codec, label, position, line_limit=4 * FIELD_LIMIT)
    try:
        header_line = next(lines)
    except StopIteration:
        raise ScanFormatError(f"the file is empty; expected {what}") from None
    chosen = delimiter(header_line.rstrip("\r\n")) if callable(delimiter) else delimiter
    reader = csv.reader(_chain_first(header_line, lines), delimiter=chosen)
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise ScanFormatError(f"the CSV header cannot be read: {error}", line=1) from error
    table = CsvTable(header, chosen, label, reader, position)
    for columns in required:
        names = (columns,) if isinstance(columns, str) else columns
        if table.column(*names) is None:
            alternatives = " or ".join(repr(name) for name in names)
            raise ScanFormatError(
                f"expected {what}, but the header has no column {alternatives}", line=1
            )
    return table


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _decoded_lines(
    head: bytes,
    source: BinaryIO,
    codec: str,
    label: str,
    position: _Position,
    *,
    line_limit: int,
) -> Iterator[str]:
    """Decode the stream strictly and yield whole physical lines, each ending in "\\n".

    The csv module ends a record at the end of every string it is given, so lines must be
    whole; `position.line` is the number of the line being yielded.
    """
    decoder = codecs.getincrementaldecoder(codec)("strict")
    pending = ""
    chunk = head
    while True:
        final = not chunk
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            raise _undecodable(error, pending, position.line, label) from error
        pending += text
        if "\n" in pending:
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line + "\n"
                position.line += 1
        if len(pending) > line_limit:
            raise ScanFormatError(
                f"line {position.line} is longer than {line_limit} characters; "
                "the file is not a CSV export this service accepts",
                line=position.line,
            )
        if final:
            if pending:
                yield pending
            return
        chunk = source.read(_CHUNK_BYTES)


def _undecodable(error: UnicodeDecodeError, pending: str, line: int, label: str) -> ScanFormatError:
    before = pending + error.object[: error.start].decode(error.encoding, "replace")
    line += before.count("\n")
    column = len(before) - (before.rfind("\n") + 1) + 1
    bad = error.object[error.start : error.start + 1].hex().upper()
    return ScanFormatError(
        f"the file is not valid {label} text (byte 0x{bad} cannot be decoded); "
        "export the CSV as UTF-8",
        line=line,
        column=column,
    )


@contextlib.contextmanager
def csv_writer(out: BinaryIO, delimiter: str) -> Iterator[_writer]:
    """A csv.writer writing UTF-8 (no byte order mark) to a binary stream it leaves open."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        yield csv.writer(text, delimiter=delimiter)
        text.flush()
    finally:
        text.detach()


def write_kept(
    out: BinaryIO, table: CsvTable, rows: Iterable[tuple[int, list[str]]], keep: Set[int]
) -> int:
    """Write the table's header and those `(record index, fields)` rows whose index is in
    `keep`, as the subset document of a format with one row per record; the rows written."""
    written = 0
    with csv_writer(out, table.delimiter) as writer:
        writer.writerow(table.header)
        for index, fields in rows:
            if index in keep:
                writer.writerow(fields)
                written += 1
    return written


def write_kept_shares(
    outs: Mapping[K, BinaryIO],
    table: CsvTable,
    rows: Iterable[tuple[int, list[str]]],
    keeps: Mapping[K, Set[int]],
) -> dict[K, int]:
    """`write_kept` for several disjoint shares in one pass over the rows: the row of a
    record goes to the output of the share holding it; the records written per share.

    Several rows may carry one record (Generic CSV merges rows into findings); records are
    numbered by first appearance, so a record is counted at its first row."""
    keys, owner = shares.ordered(keeps)
    written = [0] * len(keys)
    newest = -1
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(csv_writer(outs[key], table.delimiter)) for key in keys]
        for writer in writers:
            writer.writerow(table.header)
        for index, fields in rows:
            slot = shares.slot_of(owner, index)
            if slot >= 0:
                writers[slot].writerow(fields)
                if index > newest:
                    written[slot] += 1
            newest = max(newest, index)
    return shares.keyed(keys, written)
