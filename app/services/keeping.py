"""Turning records into unassigned-finding rows."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from titlecase import titlecase

from app.formats.base import SEVERITY_RANK, Record
from app.matching.identity import record_identifiers
from app.store.models import Upload

DESCRIPTION_LIMIT = 2000
TITLE_LIMIT = 511


@functools.lru_cache(maxsize=4096)
def stored_title(title: str) -> str:
    """The title as DefectDojo stores it: Finding.save() title-cases the first 511
    characters, so "Open port: 21/tcp" is kept as "Open Port: 21/TCP". Showing it that way
    lets a person match the list with what DefectDojo shows. Cached: a scan repeats a
    handful of titles over many hosts, and title-casing is slow."""
    cased: str = titlecase(title[:TITLE_LIMIT])
    return cased


def unassigned_row(
    upload: Upload,
    record: Record,
    *,
    reason: str,
    candidates: Iterable[int],
    explanation: str,
    product_name: Callable[[int], str],
    error: str | None = None,
) -> dict[str, Any]:
    host = record.host
    return {
        "upload_id": upload.id,
        "record_index": record.index,
        "title": stored_title(record.title),
        "severity": record.severity,
        "severity_rank": SEVERITY_RANK.get(record.severity, 0),
        "scan_type": upload.scan_type,
        "date": record.date,
        "reporter_id": upload.uploaded_by_id,
        "reporter": upload.uploaded_by_username,
        "host_ip": host.ip,
        "host_fqdn": host.fqdn,
        "host_netbios": host.netbios,
        "host_mac": host.mac,
        "host_display": host.display(),
        "identifiers": list(record_identifiers(host)),
        "port": record.port,
        "protocol": record.protocol,
        "reason": reason,
        "candidates": [
            {"product_id": pid, "product_name": product_name(pid)} for pid in candidates
        ],
        "explanation": explanation,
        "vulnerability_ids": list(record.vulnerability_ids),
        "scanner_id": record.scanner_id,
        "description": record.description[:DESCRIPTION_LIMIT],
        "error": error,
    }
