"""Synthetic Generic Findings Import files (JSON and CSV), written as a stream.

JSON: one item per finding, each with an endpoint on every host, so every finding is shared
by all hosts; records = hosts * findings. CSV: one row per (host, finding); rows of one
finding share title, severity and description, so DefectDojo merges them into one finding
per title while the records stay hosts * findings.
"""

from __future__ import annotations

import csv
import io
import json
import random
from typing import BinaryIO

from bench.web_targets import finding_names, targets

_SEVERITIES = ("Info", "Low", "Medium", "High", "Critical")


def write_json(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """A Generic JSON report of `findings` items, each on all `hosts` targets."""
    rng = random.Random(seed)
    sites = targets(hosts, seed)
    out.write(b'{"name": "Synthetic generic scan", "type": "Synthetic", "findings": [')
    for number, title in enumerate(finding_names(findings, seed)):
        item = {
            "title": title,
            "description": f"Synthetic finding {number}.",
            "severity": rng.choice(_SEVERITIES),
            "date": "2026-01-15",
            "vuln_id_from_tool": f"SYN-{number}",
            "endpoints": [f"{site.base_url}/path/{number}" for site in sites],
        }
        out.write((b"," if number else b"") + json.dumps(item).encode("utf-8"))
    out.write(b"]}")


def write_csv(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """A Generic CSV of one row per (host, finding)."""
    rng = random.Random(seed)
    sites = targets(hosts, seed)
    severities = {title: rng.choice(_SEVERITIES) for title in finding_names(findings, seed)}
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(["Date", "Title", "CweId", "Url", "Severity", "Description"])
    for site in sites:
        for number, (title, severity) in enumerate(severities.items()):
            url = f"{site.base_url}/path/{number}"
            writer.writerow(["2026-01-15", title, 79, url, severity, f"Synthetic {number}."])
    text.flush()
    text.detach()
