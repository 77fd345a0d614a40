"""wrk as a load tool: `wrk` from Debian (`apt-get install wrk`), driven by a generated
Lua script that cycles through a list of (path, Authorization header) requests and prints
its latency percentiles (p50, p95, p99: wrk's `--latency` table has no p95) and error
counts as one line the caller parses.

wrk is a closed loop of keep-alive connections written in C: on a small machine that
runs the service and PostgreSQL too, its own CPU per request is a small fraction of a
Python client's, so the latency it measures is the service's rather than the load
generator's.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MARK = "WRK-RESULT"
FIELDS = (
    "requests", "duration_us", "p50_us", "p95_us", "p99_us", "max_us",
    "errors_status", "errors_connect", "errors_read", "errors_write", "errors_timeout",
)  # fmt: skip

SCRIPT = """
local requests = {%(requests)s}
local counter = 0

function request()
  counter = counter + 1
  local r = requests[(counter %% #requests) + 1]
  return wrk.format("GET", r[1], {["Authorization"] = r[2]})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("%(mark)s" .. string.rep(" %%d", 11) .. "\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def available() -> str:
    """The path of wrk, or a SystemExit that says how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu)")
    return found


def lua(requests: Sequence[tuple[str, str]]) -> str:
    """The Lua script for `requests` (path with query, Authorization header value)."""
    if any("]]" in part for request in requests for part in request):
        raise ValueError("a request contains ']]', which a Lua long string cannot hold")
    entries = ", ".join(f"{{[[{path}]], [[{auth}]]}}" for path, auth in requests)
    return SCRIPT % {"requests": entries, "mark": MARK}


def run(
    base_url: str,
    requests: Sequence[tuple[str, str]],
    *,
    connections: int,
    threads: int,
    duration: float,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """One wrk run against `base_url`, round-robin over `requests`; latencies in ms."""
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "requests.lua"
        script.write_text(lua(requests), encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - wrk with our own arguments
            [available(), f"-t{threads}", f"-c{connections}", f"-d{duration:g}s",
             f"--timeout={timeout:g}s", "-s", str(script), base_url],
            capture_output=True,
            text=True,
            timeout=duration + timeout + 60,
            check=False,
        )  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARK)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    values = dict(zip(FIELDS, (int(v) for v in line.split()[1:]), strict=True))
    errors = sum(v for k, v in values.items() if k.startswith("errors_"))
    return {
        "requests": values["requests"],
        "seconds": values["duration_us"] / 1e6,
        "errors": errors,
        "p50_ms": values["p50_us"] / 1000,
        "p95_ms": values["p95_us"] / 1000,
        "p99_ms": values["p99_us"] / 1000,
        "max_ms": values["max_us"] / 1000,
    }
