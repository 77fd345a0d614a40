"""Generic Findings Import, JSON flavour (DefectDojo scan type ``Generic Findings Import``).

What DefectDojo does (``dojo/tools/generic/json_parser.py``, ``GenericJSONParser``), mirrored:

- The document is an object; each item of its ``findings`` array becomes one finding. There
  is no merging: two items with the same title are two findings.
- ``endpoints``, ``files``, ``tags``, ``vulnerability_ids`` and ``cwes`` are taken out of
  the item; the rest must contain ``title``, ``severity`` and ``description`` and nothing
  outside DD's allowed field list, else the import fails. ``date`` and ``mitigated`` are
  parsed with dateutil, and a bad one fails the import too.
- An endpoint is a string (a URL, or ``host[:port][/path]`` read as ``//`` + string) or an
  object of URL fields (``host``, ``port``, ``protocol``, …). DD stores host and port as
  `app.formats.urls` describes.
- The severity is kept as given and cleaned by the importer (`dd_import.sanitize_severity`).
- The top-level ``name`` is the test's name in DD's ``ParserTest``: it is the scope title.

Records: one per (finding, endpoint host and port). Several URLs of one finding on the same
host and port (different paths) are one record, because routing works on host and port and
DD lists them as one host for that finding; a finding without endpoints is one record with
no host. A subset keeps every top-level member and, of a partly kept finding, only the
endpoints of its kept records.

Files start with ``{``; DD picks this parser for a ``.json`` file name. Deviations on
purpose: a UTF-16 file (which Python's json would decode) and a document without a
``findings`` member (which DD imports as empty) are refused as not being such a report.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from app.formats import jsonstream, shares
from app.formats.base import HostIdentity, Record, ScanFormatError
from app.formats.dd_import import parse_date, sanitize_severity
from app.formats.shares import K
from app.formats.urls import Endpoint, EndpointError, endpoint_from_parts, endpoint_from_text

WHAT = 'a Generic Findings Import JSON report (an object with a "findings" array)'
_TAKEN_OUT = frozenset({"endpoints", "files", "tags", "vulnerability_ids", "cwes"})
_REQUIRED = frozenset({"title", "severity", "description"})
_ALLOWED = _REQUIRED | frozenset(
    {
        "date",
        "cwe",
        "cve",
        "epss_score",
        "epss_percentile",
        "cvssv3",
        "cvssv3_score",
        "cvssv4",
        "cvssv4_score",
        "mitigation",
        "impact",
        "steps_to_reproduce",
        "severity_justification",
        "references",
        "active",
        "verified",
        "false_p",
        "out_of_scope",
        "risk_accepted",
        "under_review",
        "is_mitigated",
        "thread_id",
        "mitigated",
        "numerical_severity",
        "param",
        "payload",
        "line",
        "file_path",
        "component_name",
        "component_version",
        "static_finding",
        "dynamic_finding",
        "scanner_confidence",
        "unique_id_from_tool",
        "vuln_id_from_tool",
        "sast_source_object",
        "sast_sink_object",
        "sast_source_line",
        "sast_source_file_path",
        "nb_occurences",
        "publish_date",
        "service",
        "planned_remediation_date",
        "planned_remediation_version",
        "effort_for_fixing",
        "tags",
        "kev_date",
        "known_exploited",
        "ransomware_used",
        "fix_available",
        "fix_version",
    }
)
_ENDPOINT_FIELDS = frozenset(
    {"url", "host", "port", "protocol", "path", "query", "fragment", "user_info", "userinfo"}
)
_FINDINGS_KEY = re.compile(rb'^\s*\{.*?"findings"\s*:', re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Finding:
    """What the records of one item need, after DefectDojo's checks."""

    title: str
    severity: str
    date: dt.date | None
    scanner_id: str | None
    vulnerability_ids: tuple[str, ...]
    endpoints: tuple[Endpoint, ...]

    def groups(self) -> list[tuple[str | None, int | None]]:
        """The distinct (host, port) keys of the endpoints, in order; one empty key if none."""
        keys = list(dict.fromkeys(endpoint.key for endpoint in self.endpoints))
        return keys or [(None, None)]

    def first_endpoints(self) -> list[Endpoint | None]:
        """The first endpoint of each distinct (host, port), in order; [None] if none."""
        first: dict[tuple[str | None, int | None], Endpoint] = {}
        for endpoint in self.endpoints:
            first.setdefault(endpoint.key, endpoint)
        return list(first.values()) or [None]


class GenericJsonFormat(shares.OnePass):
    """Generic Findings Import JSON; see the module docstring for DefectDojo's rules."""

    scan_type = "Generic Findings Import"
    name = "generic-json"
    description = "Generic Findings Import JSON report"

    def sniff(self, head: bytes) -> bool:
        """An object whose head shows a "findings" member."""
        return bool(_FINDINGS_KEY.match(head.removeprefix(b"\xef\xbb\xbf")))

    def records(self, source: BinaryIO) -> Iterator[Record]:
        index = 0
        for part in _document(source):
            if part[0] != "finding":
                continue
            _, number, item = part
            finding = _parse_finding(item, number)
            for endpoint in finding.first_endpoints():
                yield _record(index, finding, endpoint)
                index += 1

    def scope_title(self, source: BinaryIO) -> str | None:
        _prepare(source)
        stream = jsonstream.events(source)
        if jsonstream.next_event(stream, 1)[0] != "start_map":
            return None
        while True:
            kind, key = jsonstream.next_event(stream, 1)
            if kind == "end_map":
                return None
            first = jsonstream.next_event(stream, 1)
            if key == "name" and first[0] == "string":
                return str(first[1]) or None
            jsonstream.skip(stream, first, 1)

    def write_subsets(
        self, source: BinaryIO, keeps: Mapping[K, Set[int]], outs: Mapping[K, BinaryIO]
    ) -> dict[K, int]:
        """Each share's subset, in one pass: every top-level member, and each finding
        holding records of the share with only the endpoints of those records."""
        keys, owner = shares.ordered(keeps)
        targets = [outs[key] for key in keys]
        written = [0] * len(keys)
        separators = [b""] * len(keys)
        index = 0
        member_separator = b""
        for out in targets:
            out.write(b"{")
        for part in _document(source):
            if part[0] == "finding":
                _, number, item = part
                finding = _parse_finding(item, number)
                groups = finding.groups()
                slots = {key: shares.slot_of(owner, index + n) for n, key in enumerate(groups)}
                for slot, (own, kept) in _split(item, finding, slots).items():
                    targets[slot].write(separators[slot] + _dump(own))
                    separators[slot] = b","
                    written[slot] += kept
                index += len(groups)
                continue
            if part[0] == "member":
                chunk = member_separator + _dump(part[1]) + b":" + _dump(part[2])
            elif part[0] == "start":
                chunk = member_separator + _dump("findings") + b":["
            else:
                chunk = b"]"
            member_separator = b","
            for out in targets:
                out.write(chunk)
        for out in targets:
            out.write(b"}")
        return shares.keyed(keys, written)


FORMAT = GenericJsonFormat()


def _prepare(source: BinaryIO) -> None:
    head = source.read(4)
    source.seek(source.tell() - len(head))
    if not head:
        raise ScanFormatError(f"the file is empty; expected {WHAT}")
    jsonstream.refuse_non_utf8(head, "a Generic Findings Import report")
    jsonstream.skip_utf8_bom(source)


def _document(source: BinaryIO) -> Iterator[tuple[Any, ...]]:
    """The top level in file order: ("member", key, value), ("start",), ("finding", n, item),
    ("end",)."""
    _prepare(source)
    stream = jsonstream.events(source)
    first = jsonstream.next_event(stream, 1)
    if first[0] != "start_map":
        raise ScanFormatError(f"expected {WHAT}, found a JSON {_kind(first)}", record=1)
    number = 1
    seen = False
    keys: list[str] = []
    while True:
        kind, key = jsonstream.next_event(stream, number)
        if kind == "end_map":
            break
        start = jsonstream.next_event(stream, number)
        if key != "findings":
            keys.append(key)
            yield ("member", key, jsonstream.build(stream, start, number))
            continue
        if seen:
            raise ScanFormatError('the document has two "findings" members', record=number)
        seen = True
        if start[0] != "start_array":
            raise ScanFormatError(
                f'"findings" must be an array, found a JSON {_kind(start)}', record=number
            )
        yield ("start",)
        for item_number, item in jsonstream.array_items(stream, number):
            number = item_number
            yield ("finding", number, item)
        number += 1
        yield ("end",)
    jsonstream.expect_end(stream, number)
    if not seen:
        shown = ", ".join(keys[:10]) or "none"
        raise ScanFormatError(f"expected {WHAT}, found an object with keys: {shown}", record=1)


def _parse_finding(item: Any, number: int) -> _Finding:
    if not isinstance(item, dict):
        raise ScanFormatError(
            f"finding {number} is a JSON {type(item).__name__}, expected an object",
            record=number,
        )
    fields = {key: value for key, value in item.items() if key not in _TAKEN_OUT}
    missing = sorted(_REQUIRED - fields.keys())
    if missing:
        raise ScanFormatError(f"finding {number} lacks required fields {missing}", record=number)
    unknown = sorted(fields.keys() - _ALLOWED)
    if unknown:
        raise ScanFormatError(
            f"finding {number} has fields DefectDojo does not allow: {unknown}", record=number
        )
    title, severity = fields["title"], fields["severity"]
    if not isinstance(title, str) or not isinstance(severity, str):
        raise ScanFormatError(f"finding {number}: title and severity must be text", record=number)
    clean = sanitize_severity(severity)
    if clean is None:
        raise ScanFormatError(
            f"finding {number}: DefectDojo refuses severity {severity!r}", record=number
        )
    date = _date(fields, "date", number)
    _date(fields, "mitigated", number)
    return _Finding(
        title=title,
        severity=clean,
        date=date,
        scanner_id=_text(fields.get("vuln_id_from_tool")),
        vulnerability_ids=_vulnerability_ids(item),
        endpoints=_endpoints(item.get("endpoints"), number),
    )


def _date(fields: dict[str, Any], key: str, number: int) -> dt.date | None:
    if key not in fields:
        return None
    value = fields[key]
    try:
        if not isinstance(value, str):
            raise TypeError(key)
        return parse_date(value)
    except (TypeError, ValueError, OverflowError) as error:
        raise ScanFormatError(
            f"finding {number}: {key} {value!r} is not a date DefectDojo can read", record=number
        ) from error


def _endpoints(value: Any, number: int) -> tuple[Endpoint, ...]:
    if not value:
        return ()
    if not isinstance(value, list):
        raise ScanFormatError(f"finding {number}: endpoints must be a list", record=number)
    try:
        return tuple(_endpoint(entry) for entry in value)
    except EndpointError as error:
        raise ScanFormatError(f"finding {number}: {error}", record=number) from error


def _endpoint(entry: Any) -> Endpoint:
    if isinstance(entry, str):
        return endpoint_from_text(entry)
    if not isinstance(entry, dict) or not entry.keys() <= _ENDPOINT_FIELDS:
        raise EndpointError(f"endpoint {entry!r} is neither a URL nor an object of URL fields")
    if entry.get("url"):
        return _url_field(str(entry["url"]))
    host = entry.get("host")
    if not isinstance(host, str):
        raise EndpointError(f"endpoint {entry!r} names no host")
    return endpoint_from_parts(
        host=host, port=entry.get("port"), protocol=_text(entry.get("protocol"))
    )


def _url_field(url: str) -> Endpoint:
    """An endpoint object's `url`, read as DefectDojo's `URL.from_value` reads it: text
    starting like a scheme ("host:8080/x") is a URL of that scheme with no host, which
    DefectDojo refuses (500 on import), so it is refused here with a way out."""
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError as error:
        raise EndpointError(f"endpoint url {url!r} is not a valid URL: {error}") from error
    if parts.scheme and not hostname:
        raise EndpointError(
            f"endpoint url {url!r} has no host as DefectDojo reads it ({parts.scheme!r} is "
            f"taken for a scheme); give it one, e.g. https://{url.strip()}"
        )
    return endpoint_from_text(url)


def _vulnerability_ids(item: dict[str, Any]) -> tuple[str, ...]:
    ids = [item["cve"]] if isinstance(item.get("cve"), str) and item["cve"] else []
    extra = item.get("vulnerability_ids")
    if isinstance(extra, list):
        ids.extend(value for value in extra if isinstance(value, str))
    return tuple(dict.fromkeys(ids))


def _split(
    item: dict[str, Any], finding: _Finding, slots: dict[tuple[str | None, int | None], int]
) -> dict[int, tuple[dict[str, Any], int]]:
    """Each share holding records of the finding (`slots`: record key → share, -1 none):
    the item with only the endpoints of that share's records, in their original form, and
    how many records that is."""
    counts: dict[int, int] = {}
    for slot in slots.values():
        if slot >= 0:
            counts[slot] = counts.get(slot, 0) + 1
    if not finding.endpoints or list(counts.values()) == [len(slots)]:
        return {slot: (item, count) for slot, count in counts.items()}
    chosen: dict[int, list[Any]] = {slot: [] for slot in counts}
    for raw, parsed in zip(item["endpoints"], finding.endpoints, strict=True):
        slot = slots[parsed.key]
        if slot >= 0:
            chosen[slot].append(raw)
    return {slot: ({**item, "endpoints": chosen[slot]}, count) for slot, count in counts.items()}


def _record(index: int, finding: _Finding, endpoint: Endpoint | None) -> Record:
    return Record(
        index=index,
        title=finding.title,
        severity=finding.severity,
        host=endpoint.host if endpoint else HostIdentity(),
        port=endpoint.port if endpoint else None,
        protocol=endpoint.protocol if endpoint else None,
        date=finding.date,
        scanner_id=finding.scanner_id,
        vulnerability_ids=finding.vulnerability_ids,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind(event: jsonstream.Event) -> str:
    return {"start_map": "object", "start_array": "array"}.get(event[0], event[0])


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
