"""Each benchmark script's smoke mode runs to the end (benchmarks are not tests: this only
keeps them from rotting). No timing is asserted; the scripts check their own results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _run(module: str, work: Path, *extra: str) -> dict[str, object]:
    results = work / "results.json"
    done = subprocess.run(  # noqa: S603 - this interpreter, a module of ours
        [sys.executable, "-m", module, "--smoke", "--work-dir", str(work), "--json",
         str(results), *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    document: dict[str, object] = json.loads(results.read_text())
    assert document["machine"]
    return document


def test_parse_smoke(tmp_path: Path) -> None:
    results = _run("bench.parse", tmp_path)["results"]
    assert isinstance(results, list)
    assert {(r["format"], r["mode"]) for r in results} >= {
        ("tenable-xml", "service"),
        ("tenable-xml", "naive"),
    }
    service = next(r for r in results if r["mode"] == "service")
    assert service["records"] == service["routed"] + service["unassigned"]


def test_e2e_smoke(tmp_path: Path) -> None:
    results = _run("bench.e2e", tmp_path)["results"]
    assert isinstance(results, list)
    (case,) = results
    assert case["statuses"] == ["completed"]
    assert case["routed"] + case["unassigned"] == case["records"] > 0
    assert case["dd_imports"] == case["products"] > 0
    assert case["whole_file"]["dd_seconds"] > 0


def test_unassigned_load_smoke(tmp_path: Path) -> None:
    results = _run("bench.unassigned_load", tmp_path)["results"]
    assert isinstance(results, dict)
    (size,) = results["sizes"]
    assert all(s["errors"] == 0 for s in size["scenarios"].values())
    assert results["actions"]["assign"]["answer"]["assigned"] == 20
    assert results["actions"]["disregard"]["answer"]["disregarded"] == 20
