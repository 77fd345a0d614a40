"""The two load clients of the unassigned list benchmark (`bench/unassigned_load.py`):
Python clients (asyncio tasks with a keep-alive httpx connection each, round-robin over
all scenarios) and wrk (`bench/wrk.py`, one run per scenario). Both give p50/p95/p99 per
scenario, measured at the client, and the service's CPU per request (all its processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench import harness, wrk

ADMIN_TOKEN = "adminadminadminadminadminadminadminadmin"
ALICE_TOKEN = "alicealicealicealicealicealicealicealice"
TOKENS = {"admin": ADMIN_TOKEN, "alice": ALICE_TOKEN}
LIST = "/api/v2/smart_upload/unassigned_findings/"
Plan = list[tuple[str, dict[str, Any], str]]
"""(scenario name, query parameters, who asks: a key of TOKENS)"""


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and all its descendants (uvicorn --workers runs one process
    per worker under a supervisor), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            total += harness.cpu_seconds(current)
        todo.extend(children.get(current, []))
    return total


async def load(
    base: str,
    plan: Plan,
    *,
    clients: int,
    duration: float,
    pid: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    """`clients` concurrent Python clients for `duration` seconds, round-robin over `plan`."""
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in plan}
    errors: dict[str, int] = dict.fromkeys(latencies, 0)
    estimated: dict[str, bool] = dict.fromkeys(latencies, False)
    counts: dict[str, int] = dict.fromkeys(latencies, 0)
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def one_client(number: int) -> None:
            turn = number
            while time.perf_counter() < deadline:
                name, params, who = plan[turn % len(plan)]
                turn += 1
                started = time.perf_counter()
                answer = await client.get(
                    LIST, params=params, headers={"Authorization": f"Token {TOKENS[who]}"}
                )
                latencies[name].append(time.perf_counter() - started)
                if answer.status_code != 200:
                    errors[name] += 1
                else:
                    page = answer.json()
                    estimated[name] = bool(page.get("count_is_estimate"))
                    counts[name] = int(page["count"])

        # one warm-up pass so token validation and plans are cached, then the timed load
        for _, params, who in plan:
            await client.get(LIST, params=params, headers={"Authorization": f"Token {TOKENS[who]}"})
        deadline = time.perf_counter() + duration
        cpu = tree_cpu_seconds(pid)
        profiler = harness.Profiler(pid, profile) if profile else None
        try:
            await asyncio.gather(*(one_client(n) for n in range(clients)))
        finally:
            if profiler:
                profiler.stop()
        cpu = tree_cpu_seconds(pid) - cpu
    requests = sum(len(values) for values in latencies.values())
    return {
        "requests": requests,
        "requests_per_second": requests / duration,
        "cpu_ms_per_request": 1000 * cpu / max(requests, 1),
        "scenarios": {
            name: {
                "requests": len(values),
                "errors": errors[name],
                "p50_ms": 1000 * harness.percentile(values, 0.50),
                "p95_ms": 1000 * harness.percentile(values, 0.95),
                "p99_ms": 1000 * harness.percentile(values, 0.99),
                "count": counts[name],
                "count_is_estimate": estimated[name],
            }
            for name, values in latencies.items()
        },
    }


def wrk_load(
    base: str,
    plan: Plan,
    *,
    clients: int,
    duration: float,
    pid: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    """wrk with `clients` connections (2 threads, 1 for one client) for `duration` seconds
    per scenario, one scenario after the other."""
    scenarios: dict[str, dict[str, Any]] = {}
    requests = [
        (f"{LIST}?{urlencode(params)}" if params else LIST, f"Token {TOKENS[who]}")
        for _, params, who in plan
    ]
    total_requests, total_seconds, total_cpu = 0, 0.0, 0.0
    profiler = harness.Profiler(pid, profile) if profile else None
    try:
        for (name, _, _), (path, auth) in zip(plan, requests, strict=True):
            # the page's count, and a warm-up: token validation and plans cached
            page = httpx.get(base + path, headers={"Authorization": auth}, timeout=30).json()
            cpu = tree_cpu_seconds(pid)
            stats = wrk.run(
                base,
                [(path, auth)],
                connections=clients,
                threads=min(2, clients),
                duration=duration,
            )
            cpu = tree_cpu_seconds(pid) - cpu
            stats.update(
                count=int(page["count"]),
                count_is_estimate=bool(page["count_is_estimate"]),
                cpu_ms_per_request=1000 * cpu / max(stats["requests"], 1),
            )
            scenarios[name] = stats
            total_requests += stats["requests"]
            total_seconds += stats["seconds"]
            total_cpu += cpu
        # and all of them together, round-robin, as a list's traffic would mix them
        cpu = tree_cpu_seconds(pid)
        mixed = wrk.run(
            base, requests, connections=clients, threads=min(2, clients), duration=duration
        )
        mixed["cpu_ms_per_request"] = 1000 * (tree_cpu_seconds(pid) - cpu) / mixed["requests"]
    finally:
        if profiler:
            profiler.stop()
    return {
        "requests": total_requests,
        "requests_per_second": total_requests / max(total_seconds, 1e-9),
        "cpu_ms_per_request": 1000 * total_cpu / max(total_requests, 1),
        "scenarios": scenarios,
        "mixed": mixed,
    }
