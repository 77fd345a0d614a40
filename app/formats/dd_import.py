"""What DefectDojo does to every parsed finding, whatever the parser, and how it reads dates.

After a parser returns its findings, DefectDojo's importer cleans the severity
(``BaseImporter.sanitize_severity``): a severity starting with "info" (any case) or equal to
"none" becomes ``Info``; anything else must already be one of its five severities, or the
whole import fails. Format modules whose parser passes the scanner's severity through
(Generic JSON, Burp) apply this so a record carries the severity DD will store, and refuse
the file up front where DD would fail. DD's parsers read dates with dateutil
(`parse_date`).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from dateutil import parser as date_parser

from app.formats.base import SEVERITIES


def sanitize_severity(raw: str) -> str | None:
    """DefectDojo's stored severity for `raw`, or None when DD would refuse the import."""
    lowered = raw.lower()
    if raw != "Info" and (lowered.startswith("info") or lowered == "none"):
        return "Info"
    return raw if raw in SEVERITIES else None


@lru_cache(maxsize=4096)
def parse_date(text: str) -> dt.date:
    """The date dateutil reads from `text`, as DD's parsers read dates; cached because
    scans repeat a handful of dates over many rows. Raises ValueError or OverflowError."""
    return date_parser.parse(text).date()
