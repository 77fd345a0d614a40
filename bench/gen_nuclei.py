"""Synthetic Nuclei JSONL output, written as a stream: one result per (host, finding).

DefectDojo's Nuclei parser keys findings on template, type, matcher and host, so each line
is its own finding and record; records = hosts * findings.
"""

from __future__ import annotations

import json
import random
from typing import BinaryIO

from bench.web_targets import finding_names, targets

_SEVERITIES = ("info", "low", "medium", "high", "critical")


def write(out: BinaryIO, *, hosts: int, findings: int, seed: int = 0) -> None:
    """Nuclei JSONL for `hosts` targets with `findings` templates matched on each."""
    rng = random.Random(seed)
    names = finding_names(findings, seed)
    severities = [rng.choice(_SEVERITIES) for _ in names]
    for site in targets(hosts, seed):
        for number, name in enumerate(names):
            result = {
                "template-id": f"synthetic-{number}",
                "info": {"name": name, "severity": severities[number], "tags": ["synthetic"]},
                "type": "http",
                "host": site.base_url,
                "matched-at": f"{site.base_url}/probe/{number}",
                "ip": site.host if site.is_ip else "192.0.2.1",
                "timestamp": "2026-01-15T10:00:00Z",
            }
            out.write(json.dumps(result).encode("utf-8") + b"\n")
