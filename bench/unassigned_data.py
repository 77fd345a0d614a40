"""Synthetic unassigned findings for the list benchmark, copied into the store's table.

Deterministic from each finding's number: 5 reporters, 20,000 hosts (IP always, FQDN and
NetBIOS name for most), 2,000 titles, severities and reasons spread like a real backlog
(mostly `no_match`), 60 days of dates, 10,000 findings per upload. Loaded with asyncpg's
COPY into `unassigned_findings` (with an `uploads` row per 10,000), then vacuumed and
ANALYZEd — the store as a long-running service would hold it, without going through the
API.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import asyncpg

SEVERITIES = ("Info", "Low", "Medium", "High", "Critical")
REASONS = ("no_match", "no_match", "no_match", "ambiguous", "no_host")
SCAN_TYPES = ("Tenable Scan", "Tenable Scan", "Qualys Scan", "Nmap Scan", "OpenVAS Parser")
WORDS = (
    "remote", "service", "version", "vulnerable", "certificate", "protocol", "cipher",
    "update", "kernel", "package", "configuration", "weak", "default", "password",
    "exposure", "request", "attacker", "execute", "arbitrary", "denial", "disclosure",
)  # fmt: skip
ROWS_PER_UPLOAD = 10_000
FIRST_DAY = dt.date(2026, 10, 1)


def finding_rows(
    start: int, count: int, *, reporters: list[tuple[int, str]]
) -> Iterator[tuple[Any, ...]]:
    """`count` synthetic unassigned findings without their upload id (deterministic)."""
    for number in range(start, start + count):
        rng = random.Random(number)
        host = rng.randrange(20_000)
        ip = f"10.{host >> 16}.{(host >> 8) & 255}.{host & 255}"
        fqdn = f"host{host:05d}.corp.example.com" if host % 7 else None
        netbios = f"HOST{host:05d}" if host % 5 else None
        title_number = rng.randrange(2_000)
        reporter_id, reporter = reporters[number % len(reporters)]
        severity = rng.randrange(5)
        reason = REASONS[rng.randrange(len(REASONS))]
        yield (
            number,
            f"Synthetic Check {title_number}: {WORDS[title_number % len(WORDS)]} exposure",
            SEVERITIES[severity],
            severity,
            SCAN_TYPES[number // ROWS_PER_UPLOAD % len(SCAN_TYPES)],
            FIRST_DAY + dt.timedelta(days=rng.randrange(60)),
            reporter_id,
            reporter,
            ip,
            fqdn,
            netbios,
            fqdn or ip,
            [v for v in (fqdn, ip, netbios and netbios.lower()) if v],
            rng.choice((22, 80, 443, 445, 3389, None)),
            "tcp",
            reason,
            json.dumps([{"product_id": 1, "product_name": "Payments"}] * (reason == "ambiguous")),
            "no product has this host",
            json.dumps([f"CVE-2025-{rng.randrange(1000, 9999)}"] if severity else []),
            str(100_000 + title_number),
            " ".join(rng.choices(WORDS, k=30)),
        )  # fmt: skip


FINDING_COLUMNS = (
    "upload_id", "record_index", "title", "severity", "severity_rank", "scan_type", "date",
    "reporter_id", "reporter", "host_ip", "host_fqdn", "host_netbios", "host_display",
    "identifiers", "port", "protocol", "reason", "candidates", "explanation",
    "vulnerability_ids", "scanner_id", "description",
)  # fmt: skip


async def fill(database_url: str, start: int, count: int, reporters: list[tuple[int, str]]) -> None:
    """Copy `count` findings (and the uploads they belong to) into the store."""
    connection = await asyncpg.connect(database_url)
    try:
        first_upload = start // ROWS_PER_UPLOAD
        last_upload = (start + count - 1) // ROWS_PER_UPLOAD
        upload_ids = []
        for number in range(first_upload, last_upload + 1):
            reporter_id, reporter = reporters[number % len(reporters)]
            upload_ids.append(
                await connection.fetchval(
                    "INSERT INTO uploads (status, scan_type, format_name, file_name, file_sha256,"
                    " file_size, file_retained, options, uploaded_by_id, uploaded_by_username,"
                    " records_parsed, records_dropped, records_routed, records_unassigned,"
                    " records_pushed, unassigned_by_reason, attempts, step) VALUES ('completed',"
                    " 'Tenable Scan', 'tenable-xml', $1, $2, 0, false, '{}', $3, $4, 0, 0, 0, 0,"
                    " 0, '{}', 1, 'finished') RETURNING id",
                    f"bulk-{number}.nessus",
                    f"{number:064x}",
                    reporter_id,
                    reporter,
                )
            )
        by_number = dict(zip(range(first_upload, last_upload + 1), upload_ids, strict=True))
        chunk = 50_000
        for offset in range(start, start + count, chunk):
            size = min(chunk, start + count - offset)
            rows = [
                (by_number[row[0] // ROWS_PER_UPLOAD], *row)
                for row in finding_rows(offset, size, reporters=reporters)
            ]
            await connection.copy_records_to_table(
                "unassigned_findings", records=rows, columns=FINDING_COLUMNS
            )
        # as autovacuum leaves a table it has caught up with (it vacuums an insert-only table
        # after every 20 % of new rows): visibility map set, so that counting matches can be
        # an index-only scan; statistics fresh. Measuring right after a COPY of a million rows
        # would instead measure autovacuum's run over them, which starts within a minute.
        await connection.execute("VACUUM ANALYZE unassigned_findings")
    finally:
        await connection.close()
