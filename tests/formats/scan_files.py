"""Where the shared sample scans are: $SMART_UPLOAD_SHARED/scans, by default ../shared/scans
next to the repository (the layout of the workspace this project is developed in)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SMART_UPLOAD_SHARED", REPO / ".." / "shared"))
SCANS = SHARED / "scans"


def samples(family: str, pattern: str = "*") -> list[Path]:
    """The sample files of a family (e.g. "tenable"), sorted by name."""
    return sorted((SCANS / family).glob(pattern))
