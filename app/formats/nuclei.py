"""Nuclei JSON / JSONL output (DefectDojo scan type ``Nuclei Scan``).

What DefectDojo does (``dojo/tools/nuclei/parser.py``, ``NucleiParser``), mirrored:

- The whole file is decoded as UTF-8. If its very first character is ``[`` it is one JSON
  array of results; if it is ``{`` it is JSONL: split on ``\\n``, every non-empty line is
  one JSON result (a blank-looking line such as a lone space fails the import). Any other
  first character (a BOM, leading whitespace) makes DD import nothing at all.
- Title: ``info.name``; severity: ``info.severity`` title-cased, ``Low`` when it is not one
  of DD's severities. Template id: ``templateID`` or ``template-id``.
- The endpoint is ``matched`` or ``matched-at``: a URL, or ``host:port`` read as ``//`` +
  text.
- Results with the same template id, ``type``, matcher name (``matcher-name`` /
  ``matcher_name``) and endpoint host are one finding (title and severity of the first),
  collecting their endpoints. A finding therefore never spans hosts.

Records: one per (finding, port): a finding's endpoints on several ports of its host are
several records, several paths on one port are one. Deviations on purpose: where DD would
silently import nothing (leading whitespace or BOM) or crash (a result without ``info``,
severity or endpoint host) the file is refused with the line or item number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from typing import Any, BinaryIO

from app.formats import jsonstream, shares
from app.formats.base import SEVERITIES, Record, ScanFormatError
from app.formats.shares import K
from app.formats.urls import Endpoint, EndpointError, endpoint_from_text

WHAT = "Nuclei JSON output (a JSON array or one JSON result per line)"
MAX_LINE = 64 * 1024 * 1024
"""Longest JSONL line read; a result with a full HTTP exchange is far below it."""


@dataclass(frozen=True, slots=True)
class _Result:
    """One Nuclei result, read as DefectDojo reads it."""

    finding_key: tuple[str, str, str, str]
    title: str
    severity: str
    template_id: str
    endpoint: Endpoint
    vulnerability_ids: tuple[str, ...]


class NucleiFormat(shares.OnePass):
    """Nuclei JSON array or JSONL; see the module docstring for DefectDojo's rules."""

    scan_type = "Nuclei Scan"
    name = "nuclei-json"
    description = "Nuclei JSON/JSONL output"

    def sniff(self, head: bytes) -> bool:
        """A JSON array or object whose first result carries a Nuclei template id."""
        start = head.lstrip()[:1]
        return start in (b"[", b"{") and (b'"template-id"' in head or b'"templateID"' in head)

    def records(self, source: BinaryIO) -> Iterator[Record]:
        groups = _Groups()
        for number, _, item in _items(source):
            result = _parse(item, number)
            index, new = groups.index_of(result)
            if new:
                yield groups.record(index, result)

    def scope_title(self, source: BinaryIO) -> str | None:
        return None

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """Each share's subset, in one pass: its results in the file's own layout; "[]"
        when a JSONL subset is empty, because an empty file is no scan at all."""
        keys, owner = shares.ordered(keeps)
        targets = [outs[key] for key in keys]
        written = [0] * len(keys)
        separators = [b""] * len(keys)
        groups = _Groups()
        array = _first_byte(source) == b"["
        if array:
            for out in targets:
                out.write(b"[")
        for number, raw, item in _items(source):
            index, new = groups.index_of(_parse(item, number))
            slot = shares.slot_of(owner, index)
            if slot < 0:
                continue
            written[slot] += new
            if array:
                dumped = json.dumps(item, ensure_ascii=False).encode("utf-8")
                targets[slot].write(separators[slot] + dumped)
                separators[slot] = b","
            else:
                targets[slot].write(raw.rstrip(b"\n") + b"\n")
        for out, count in zip(targets, written, strict=True):
            if array:
                out.write(b"]")
            elif not count:
                out.write(b"[]")
        return shares.keyed(keys, written)


FORMAT = NucleiFormat()


_Shown = tuple[str, str, str, tuple[str, ...]]
"""Title, severity, template id and vulnerability ids: what a finding's records show."""


class _Groups:
    """Numbers records: DefectDojo's finding key plus the endpoint port, first seen first.

    Keys are kept as 16-byte digests, and of each finding only what its records show, so
    memory stays small for files of many hosts.
    """

    def __init__(self) -> None:
        self._index: dict[bytes, int] = {}
        self._first: dict[bytes, _Shown] = {}
        # One copy of each distinct finding face: a template repeats it on every host.
        self._faces: dict[_Shown, _Shown] = {}

    def index_of(self, result: _Result) -> tuple[int, bool]:
        finding = _digest(result.finding_key)
        if finding not in self._first:
            face = (result.title, result.severity, result.template_id, result.vulnerability_ids)
            self._first[finding] = self._faces.setdefault(face, face)
        key = _digest((finding, result.endpoint.port))
        if key in self._index:
            return self._index[key], False
        self._index[key] = len(self._index)
        return self._index[key], True

    def record(self, index: int, result: _Result) -> Record:
        title, severity, template_id, vulnerability_ids = self._first[_digest(result.finding_key)]
        return Record(
            index=index,
            title=title,
            severity=severity,
            host=result.endpoint.host,
            port=result.endpoint.port,
            protocol=result.endpoint.protocol,
            scanner_id=template_id or None,
            vulnerability_ids=vulnerability_ids,
        )


def _digest(value: object) -> bytes:
    return hashlib.blake2b(repr(value).encode(), digest_size=16).digest()


def _first_byte(source: BinaryIO) -> bytes:
    first = source.read(1)
    source.seek(source.tell() - len(first))
    return first


def _items(source: BinaryIO) -> Iterator[tuple[int, bytes, Any]]:
    """(number, raw line or b"", parsed item) in file order."""
    head = source.read(4)
    source.seek(source.tell() - len(head))
    if not head:
        raise ScanFormatError(f"the file is empty; expected {WHAT}")
    jsonstream.refuse_non_utf8(head, "Nuclei output")
    if head[:1] == b"[":
        yield from _array_items(source)
    elif head[:1] == b"{":
        yield from _line_items(source)
    else:
        raise ScanFormatError(
            f"expected {WHAT} starting with '[' or '{{'; DefectDojo imports nothing from a "
            f"file starting with {head[:1]!r}",
            line=1,
            column=1,
        )


def _array_items(source: BinaryIO) -> Iterator[tuple[int, bytes, Any]]:
    stream = jsonstream.events(source)
    jsonstream.next_event(stream, 1)
    number = 0
    for number, item in jsonstream.array_items(stream):
        yield number, b"", item
    jsonstream.expect_end(stream, number + 1)


def _line_items(source: BinaryIO) -> Iterator[tuple[int, bytes, Any]]:
    number = 0
    while raw := source.readline(MAX_LINE + 1):
        number += 1
        if len(raw) > MAX_LINE:
            raise ScanFormatError(f"line longer than {MAX_LINE} bytes", line=number)
        line = raw.removesuffix(b"\n")
        if not line:
            continue
        try:
            item = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise ScanFormatError(
                "the line is not UTF-8", line=number, column=error.start + 1
            ) from error
        except json.JSONDecodeError as error:
            raise ScanFormatError(
                f"the line is not valid JSON: {error.msg}", line=number, column=error.colno
            ) from error
        except RecursionError as error:
            raise ScanFormatError("the line's JSON nests too deeply", line=number) from error
        yield number, raw, item


def _parse(item: Any, number: int) -> _Result:
    """One result as DefectDojo reads it; raises where DD's parser would crash."""
    info = item.get("info") if isinstance(item, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("severity"), str):
        raise ScanFormatError(
            f"result {number} is not a Nuclei result (no info.severity)", record=number
        )
    template_id = item.get("templateID", item.get("template-id", ""))
    item_type = item.get("type") or ""
    matcher = item.get("matcher-name", item.get("matcher_name")) or ""
    matched = item.get("matched", item.get("matched-at", ""))
    if not all(isinstance(v, str) for v in (template_id, item_type, matcher, matched)):
        raise ScanFormatError(
            f"result {number}: template id, type, matcher and matched-at must be text",
            record=number,
        )
    try:
        endpoint = endpoint_from_text(matched)
    except EndpointError as error:
        raise ScanFormatError(f"result {number}: matched-at {error}", record=number) from error
    severity = info["severity"].title()
    raw_host = endpoint.host.ip or endpoint.host.fqdn or ""
    return _Result(
        finding_key=(template_id, item_type, matcher, raw_host),
        title=f"{info.get('name')}",
        severity=severity if severity in SEVERITIES else "Low",
        template_id=template_id,
        endpoint=endpoint,
        vulnerability_ids=_cves(info.get("classification")),
    )


def _cves(classification: Any) -> tuple[str, ...]:
    cves = classification.get("cve-id") if isinstance(classification, dict) else None
    if not isinstance(cves, list):
        return ()
    return tuple(cve.upper() for cve in cves if isinstance(cve, str))
