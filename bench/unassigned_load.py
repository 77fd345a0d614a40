"""Unassigned list at scale (issue 8, item 2; design section 8).

    python -m bench.unassigned_load                       # 10k, 100k and 1M rows, 30 s each
    python -m bench.unassigned_load --sizes 1000000 --duration 30 --tool wrk --workers 1,2
    python -m bench.unassigned_load --smoke               # a few seconds

The service runs as a real server (uvicorn, `--workers N` processes; each given count in
turn) over a fresh database, with the DefectDojo test double beside it (`--latency`, for
the assignment's push). The store is filled *through the store's table*, not the API:
rows are copied into `unassigned_findings` with asyncpg's COPY, as many uploads' worth of
synthetic findings (5 reporters, 20,000 hosts, 2,000 titles, three reasons, 60 days), then
vacuumed and analysed (`bench/unassigned_data.py`).

At each store size, `GET /api/v2/smart_upload/unassigned_findings/` is requested in one
scenario per filter and per ordering (first pages, plus one deeper page and one as a
non-superuser, whose list is filtered to their own uploads), by one client and then by
16 concurrent clients, and p50/p95/p99 per scenario are measured at the client. Target:
p95 < 50 ms for a filtered page. Two load tools:

- `--tool python` (the default): asyncio tasks with a keep-alive httpx connection each, in
  this process, cycling through all the scenarios for --duration seconds (one client for
  a third of it). Needs nothing else, but on a small machine the client's own CPU (a few
  ms per request) competes with the service's.
- `--tool wrk`: Debian's wrk (`apt-get install wrk`, see `bench/wrk.py`), run once per
  scenario: 16 connections on 2 threads for --duration seconds, and one connection for a
  third of it. Its CPU per request is a small fraction of the Python client's.

The service's CPU per request (all its processes, from /proc) is measured over each load
(`bench/unassigned_clients.py`).

Then, at the largest size, one assignment of 10,000 selected findings (all from one real
upload of a generated .nessus file, so a push to DefectDojo really happens) and one
disregard of 10,000 selected findings, each timed (wall and the service's CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import harness, wrk
from bench.e2e import service_env
from bench.generate import generate
from bench.unassigned_clients import ADMIN_TOKEN, ALICE_TOKEN, LIST, Plan, load, wrk_load
from bench.unassigned_data import fill

ADMIN = {"Authorization": f"Token {ADMIN_TOKEN}"}


def seed_document() -> dict[str, Any]:
    return {
        "users": [
            {"username": "admin", "token": ADMIN_TOKEN, "is_superuser": True, "is_staff": True},
            {"username": "alice", "token": ALICE_TOKEN},
        ],
        "products": [{"name": "Payments"}],
    }


def scenarios(upload_id: int) -> list[tuple[str, dict[str, Any], str]]:
    """(name, query parameters, who) for every filter and ordering."""
    filters: list[tuple[str, dict[str, Any], str]] = [
        ("no filter (-severity)", {}, "admin"),
        ("upload", {"upload": upload_id}, "admin"),
        ("scan_type", {"scan_type": "Qualys Scan"}, "admin"),
        ("severity", {"severity": "High"}, "admin"),
        ("host (substring)", {"host": "host01234"}, "admin"),
        ("reason", {"reason": "ambiguous"}, "admin"),
        ("date range", {"date_from": "2026-10-10", "date_to": "2026-10-16"}, "admin"),
        ("q (keyword)", {"q": "Check 1234:"}, "admin"),
        ("severity + reason + date", {"severity": "Critical", "reason": "no_match",
                                      "date_from": "2026-11-01"}, "admin"),
        ("own uploads (non-superuser)", {}, "alice"),
        ("deep page (offset 5000)", {"offset": 5000}, "admin"),
    ]  # fmt: skip
    orderings = ["severity", "title", "-date", "host", "port", "reason", "reporter", "scan_type"]
    return filters + [(f"ordering={o}", {"ordering": o}, "admin") for o in orderings]


def measure(
    args: argparse.Namespace, service: harness.Server, plan: Plan, workers: int, last: bool
) -> dict[str, Any]:
    """One client, then `args.clients`, with the chosen tool; the service's CPU per request."""
    one_duration = args.one_client_duration or max(args.duration / 3, 1.0)
    profile = args.profile if last and workers == 1 else None
    if args.tool == "wrk":
        alone = wrk_load(service.url, plan, clients=1, duration=one_duration, pid=service.pid)
        loaded = wrk_load(
            service.url,
            plan,
            clients=args.clients,
            duration=args.duration,
            pid=service.pid,
            profile=profile,
        )
    else:
        alone = asyncio.run(
            load(service.url, plan, clients=1, duration=one_duration, pid=service.pid)
        )
        loaded = asyncio.run(
            load(
                service.url,
                plan,
                clients=args.clients,
                duration=args.duration,
                pid=service.pid,
                profile=profile,
            )
        )
    return {
        "tool": args.tool,
        "workers": workers,
        "clients": args.clients,
        "one_client": alone["scenarios"],
        "scenarios": loaded["scenarios"],
        "one_client_cpu_ms_per_request": alone["cpu_ms_per_request"],
        "cpu_ms_per_request": loaded["cpu_ms_per_request"],
        "requests_per_second": loaded["requests_per_second"],
        # wrk only: all scenarios in one run, round-robin (latency over all of them)
        "one_client_mixed": alone.get("mixed"),
        "mixed": loaded.get("mixed"),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


@contextlib.contextmanager
def serving(env: dict[str, str], work: Path, *, workers: int) -> Iterator[harness.Server]:
    """The service under uvicorn with `workers` processes (one: no supervisor)."""
    service = harness.service(harness.free_port(), env, log=work / "service.log")
    if workers > 1:
        service.argv += ["--workers", str(workers)]
    with harness.running(service, ready_path="/health", timeout=120):
        yield service


async def action(
    base: str, pid: int, path: str, body: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """One assign/disregard call, timed (wall and the service's CPU); within the request
    (`wait=true`), not as an action job, whatever its size."""
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        cpu = harness.cpu_seconds(pid)
        started = time.perf_counter()
        answer = await client.post(path, json=body, headers=ADMIN, params={"wait": "true"})
        wall = time.perf_counter() - started
        cpu = harness.cpu_seconds(pid) - cpu
    answer.raise_for_status()
    return {"wall_seconds": wall, "service_cpu_seconds": cpu, "answer": answer.json()}


async def real_upload(base: str, path: Path) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        await client.post("/api/v2/smart_upload/index/", headers=ADMIN)
        with path.open("rb") as handle:
            answer = await client.post(
                "/api/v2/smart_upload_import/",
                headers=ADMIN,
                data={"scan_type": "Tenable Scan", "wait": "true"},
                files={"file": (path.name, handle, "application/xml")},
            )
        answer.raise_for_status()
        upload_id: int = answer.json()["id"]
        return upload_id


async def _ids(database_url: str, query: str, *args: Any) -> list[int]:
    connection = await asyncpg.connect(database_url)
    try:
        return [row[0] for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()


async def _user_ids(dojo: str) -> list[tuple[int, str]]:
    async with httpx.AsyncClient(base_url=dojo) as client:
        found = []
        for token in (ADMIN_TOKEN, ALICE_TOKEN):
            answer = await client.get(
                "/api/v2/user_profile/", headers={"Authorization": f"Token {token}"}
            )
            user = answer.json()["user"]
            found.append((int(user["id"]), str(user["username"])))
    admin, alice = found
    return [admin, alice, (901, "bob"), (902, "carol"), (903, "dave")]


def run(args: argparse.Namespace) -> dict[str, Any]:
    work: Path = args.work_dir
    database: str = args.database
    seed = work / "seed.json"
    seed.write_text(json.dumps(seed_document()))
    scan = work / f"unassigned-{args.real_hosts}.nessus"
    if not scan.exists():
        with scan.open("wb") as out:
            generate("tenable-xml", out, hosts=args.real_hosts, findings=6, seed=7)
    results: dict[str, Any] = {"sizes": [], "actions": {}}
    with harness.bench_database(database) as database_url:
        dojo = harness.fakedojo(harness.free_port(), seed, latency=True, log=work / "dojo.log")
        with harness.running(dojo, ready_path="/api/v2/user_profile/"):
            env = service_env(database_url, dojo.url)
            env["DD_API_TOKEN"] = ADMIN_TOKEN
            with serving(env, work, workers=1) as service:
                reporters = asyncio.run(_user_ids(dojo.url))
                real = asyncio.run(real_upload(service.url, scan))
            loaded = 0
            for size in args.sizes:
                started = time.perf_counter()
                asyncio.run(fill(database_url, loaded, size - loaded, reporters))
                fill_seconds = time.perf_counter() - started
                loaded = size
                plan = scenarios(upload_id=real + 1)
                runs = []
                for workers in args.workers:
                    with serving(env, work, workers=workers) as service:
                        measured = measure(args, service, plan, workers, size == args.sizes[-1])
                    runs.append(measured)
                    print(report_run(size, fill_seconds, measured), flush=True)
                results["sizes"].append(
                    {
                        "rows": size,
                        "fill_seconds": fill_seconds,
                        # the first run's figures at the top, as before --workers existed
                        "scenarios": runs[0]["scenarios"],
                        "one_client": runs[0]["one_client"],
                        "load_average_1m": runs[0]["load_average_1m"],
                        "runs": runs,
                    }
                )
            with serving(env, work, workers=1) as service:
                results["actions"] = run_actions(args, service, database_url, real)
                results["service_peak_rss_mb"] = harness.peak_rss_mb(service.pid)
    for name, outcome in results["actions"].items():
        answer = outcome["answer"]
        shown = answer.get("assigned", answer.get("disregarded"))
        print(
            f"{name} {args.action_size} selected: {shown} done in {outcome['wall_seconds']:.2f} s"
            f" (service CPU {outcome['service_cpu_seconds']:.2f} s)",
            flush=True,
        )
    return results


def run_actions(
    args: argparse.Namespace, service: harness.Server, database_url: str, real: int
) -> dict[str, Any]:
    """Assign `args.action_size` findings of the real upload, disregard as many others."""
    assign_ids = asyncio.run(
        _ids(
            database_url,
            "SELECT id FROM unassigned_findings WHERE upload_id = $1 ORDER BY id LIMIT $2",
            real,
            args.action_size,
        )
    )
    payments = 1
    actions = {
        "assign": asyncio.run(
            action(
                service.url,
                service.pid,
                f"{LIST}assign/",
                {"ids": assign_ids, "product": payments},
                timeout=900,
            )
        )
    }
    disregard_ids = asyncio.run(
        _ids(
            database_url,
            "SELECT id FROM unassigned_findings WHERE upload_id <> $1 ORDER BY random() LIMIT $2",
            real,
            args.action_size,
        )
    )
    actions["disregard"] = asyncio.run(
        action(service.url, service.pid, f"{LIST}disregard/", {"ids": disregard_ids}, timeout=900)
    )
    return actions


def report_run(rows: int, fill_seconds: float, run: dict[str, Any]) -> str:
    lines = [
        f"store {rows} rows (filled in {fill_seconds:.1f} s); {run['tool']}, "
        f"{run['workers']} worker(s), load average {run['load_average_1m']}: "
        f"{run['clients']} clients {run['requests_per_second']:.0f} requests/s, service CPU "
        f"{run['cpu_ms_per_request']:.2f} ms per request "
        f"(one client {run['one_client_cpu_ms_per_request']:.2f} ms)",
        f"| scenario | 1 client p50 / p95 ms | {run['clients']} clients: requests | p50 ms "
        "| p95 ms | p99 ms | count | estimate |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, s in run["scenarios"].items():
        one = run["one_client"][name]
        lines.append(
            f"| {name} | {one['p50_ms']:.1f} / {one['p95_ms']:.1f} | {s['requests']} | "
            f"{s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['count']} | "
            f"{'yes' if s['count_is_estimate'] else 'no'} |"
            + (f" {s['errors']} errors" if s["errors"] or one["errors"] else "")
        )
    if run.get("mixed"):
        one, s = run["one_client_mixed"], run["mixed"]
        lines.append(
            f"| all, round-robin | {one['p50_ms']:.1f} / {one['p95_ms']:.1f} | {s['requests']} | "
            f"{s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['p99_ms']:.1f} | | |"
        )
    return "\n".join(lines)


MIXED = "all, round-robin"


def plot(results: dict[str, Any], out: Path, compare: dict[str, Any] | None = None) -> None:
    """Per scenario at the largest store size: p95 with one client and under the concurrent
    clients for each worker count (and for an earlier run's `compare` results, if given),
    against the 50 ms target."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    largest = results["sizes"][-1]
    runs = largest["runs"]
    series: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    if compare is not None:
        old = compare["sizes"][-1]["runs"][0]
        series.append((f"{old['clients']} clients, {old['workers']} worker, before",
                       old["scenarios"], old.get("mixed")))  # fmt: skip
    series.append(("one client", runs[0]["one_client"], runs[0].get("one_client_mixed")))
    series += [
        (f"{r['clients']} clients, {r['workers']} worker{'s' if r['workers'] > 1 else ''}",
         r["scenarios"], r.get("mixed"))
        for r in runs
    ]  # fmt: skip
    names = list(runs[0]["scenarios"]) + ([MIXED] if runs[0].get("mixed") else [])
    figure, axis = pyplot.subplots(figsize=(11, 8))
    height = 0.8 / len(series)
    for number, (label, stats, mixed) in enumerate(series):
        values = [
            (mixed or {}).get("p95_ms", math.nan)
            if name == MIXED
            else stats.get(name, {}).get("p95_ms", math.nan)
            for name in names
        ]
        axis.barh(
            [i + number * height for i in range(len(names))], values, height=height, label=label
        )
    axis.axvline(50, color="grey", linestyle="--", linewidth=0.8, label="target: p95 50 ms")
    axis.set_yticks([i + height * (len(series) - 1) / 2 for i in range(len(names))], names)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlim(left=1)
    axis.set_xlabel("p95 latency (ms, log scale)")
    axis.grid(True, axis="x", alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")
    axis.set_title(
        f"GET unassigned_findings, {largest['rows']:,} rows, {runs[0]['tool']} — "
        f"{harness.machine_line(load=False)}",
        fontsize=9,
    )
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="store sizes, rows")
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds of concurrent load per size "
        "(python: all scenarios together; wrk: each scenario)"
    )  # fmt: skip
    parser.add_argument(
        "--one-client-duration", type=float, help="seconds of one client (default: a third)"
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--tool", choices=("python", "wrk"), default="python")
    parser.add_argument("--workers", default="1", help="uvicorn processes, e.g. 1,2 (each)")
    parser.add_argument("--action-size", type=int, default=10_000)
    parser.add_argument("--real-hosts", type=int, default=2_000, help="hosts of the real upload")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/smart-upload-bench/list"))
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write the plot (PNG) here")
    parser.add_argument(
        "--compare", type=Path, help="--json file of an earlier run, drawn in the plot as before"
    )
    parser.add_argument("--profile", type=Path, help="py-spy profile of the largest size here")
    parser.add_argument("--database", default="smart_upload_bench_list", help="made and dropped")
    parser.add_argument("--smoke", action="store_true", help="tiny store, seconds")
    args = parser.parse_args(argv)
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    args.workers = [int(w) for w in args.workers.split(",")]
    if args.smoke:
        args.sizes, args.duration, args.clients = [500], 1.0, 4
        args.action_size, args.real_hosts = 20, 10
        args.database = f"{args.database}_smoke_{os.getpid()}"
    if args.tool == "wrk":
        wrk.available()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {harness.machine_line()}", flush=True)
    results = run(args)
    if args.profile and args.profile.exists():
        results["profile_top"] = harness.top_frames(args.profile)
        for name, own, total in results["profile_top"][:20]:
            print(f"    {own:5.1f} % self {total:5.1f} % total  {name}")
    harness.write_results(args.json, results)
    if args.plot:
        compare = json.loads(args.compare.read_text())["results"] if args.compare else None
        plot(results, args.plot, compare)


if __name__ == "__main__":
    main()
