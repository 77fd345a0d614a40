"""Unassigned list at scale (issue 8, item 2; design section 8).

    python -m bench.unassigned_load                       # 10k, 100k and 1M rows, 30 s each
    python -m bench.unassigned_load --sizes 1000000 --duration 30
    python -m bench.unassigned_load --smoke               # a few seconds

The service runs as a real server (uvicorn, one process) over a fresh database, with the
DefectDojo test double beside it (`--latency`, for the assignment's push). The store is
filled *through the store's table*, not the API: rows are copied into
`unassigned_findings` with asyncpg's COPY, as many uploads' worth of synthetic findings
(5 reporters, 20,000 hosts, 2,000 titles, three reasons, 60 days), then ANALYZEd.

At each store size, 16 clients (one asyncio task each, a keep-alive connection each)
request `GET /api/v2/smart_upload/unassigned_findings/` for --duration seconds, cycling
through one scenario per filter and per ordering (first pages, plus one deeper page and
one as a non-superuser, whose list is filtered to their own uploads); p50/p95/p99 per
scenario are measured at the client. Target: p95 < 50 ms for a filtered page.

Then, at the largest size, one assignment of 10,000 selected findings (all from one real
upload of a generated .nessus file, so a push to DefectDojo really happens) and one
disregard of 10,000 selected findings, each timed (wall and the service's CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import harness
from bench.e2e import service_env
from bench.generate import generate
from bench.unassigned_data import fill

ADMIN_TOKEN = "adminadminadminadminadminadminadminadmin"
ALICE_TOKEN = "alicealicealicealicealicealicealicealice"
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


async def load(
    base: str,
    plan: list[tuple[str, dict[str, Any], str]],
    *,
    clients: int,
    duration: float,
    pid: int,
    profile: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """`clients` concurrent clients for `duration` seconds, round-robin over `plan`."""
    tokens = {"admin": ADMIN_TOKEN, "alice": ALICE_TOKEN}
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
                    "/api/v2/smart_upload/unassigned_findings/",
                    params=params,
                    headers={"Authorization": f"Token {tokens[who]}"},
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
            await client.get(
                "/api/v2/smart_upload/unassigned_findings/",
                params=params,
                headers={"Authorization": f"Token {tokens[who]}"},
            )
        deadline = time.perf_counter() + duration
        cpu = harness.cpu_seconds(pid)
        profiler = harness.Profiler(pid, profile) if profile else None
        try:
            await asyncio.gather(*(one_client(n) for n in range(clients)))
        finally:
            if profiler:
                profiler.stop()
        cpu = harness.cpu_seconds(pid) - cpu
    requests = sum(len(values) for values in latencies.values())
    print(
        f"{requests} requests in {duration:g} s ({requests / duration:.0f}/s); service CPU "
        f"{1000 * cpu / max(requests, 1):.1f} ms per request",
        flush=True,
    )
    return {
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
    }


async def action(
    base: str, pid: int, path: str, body: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """One assign/disregard call, timed (wall and the service's CPU)."""
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        cpu = harness.cpu_seconds(pid)
        started = time.perf_counter()
        answer = await client.post(path, json=body, headers=ADMIN)
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
            service = harness.service(harness.free_port(), env, log=work / "service.log")
            with harness.running(service, ready_path="/health"):
                reporters = asyncio.run(_user_ids(dojo.url))
                real = asyncio.run(real_upload(service.url, scan))
                loaded = 0
                for size in args.sizes:
                    started = time.perf_counter()
                    asyncio.run(fill(database_url, loaded, size - loaded, reporters))
                    fill_seconds = time.perf_counter() - started
                    loaded = size
                    plan = scenarios(upload_id=real + 1)
                    alone = asyncio.run(
                        load(
                            service.url,
                            plan,
                            clients=1,
                            duration=max(args.duration / 3, 1.0),
                            pid=service.pid,
                        )
                    )
                    stats = asyncio.run(
                        load(
                            service.url,
                            plan,
                            clients=args.clients,
                            duration=args.duration,
                            pid=service.pid,
                            profile=args.profile if size == args.sizes[-1] else None,
                        )
                    )
                    results["sizes"].append(
                        {
                            "rows": size,
                            "fill_seconds": fill_seconds,
                            "scenarios": stats,
                            "one_client": alone,
                            "load_average_1m": round(os.getloadavg()[0], 1),
                        }
                    )
                    print(report_size(size, fill_seconds, stats, alone), flush=True)
                assign_ids = asyncio.run(
                    _ids(
                        database_url,
                        "SELECT id FROM unassigned_findings WHERE upload_id = $1 ORDER BY id "
                        "LIMIT $2",
                        real,
                        args.action_size,
                    )
                )
                payments = 1
                results["actions"]["assign"] = asyncio.run(
                    action(
                        service.url,
                        service.pid,
                        "/api/v2/smart_upload/unassigned_findings/assign/",
                        {"ids": assign_ids, "product": payments},
                        timeout=900,
                    )
                )
                disregard_ids = asyncio.run(
                    _ids(
                        database_url,
                        "SELECT id FROM unassigned_findings WHERE upload_id <> $1 ORDER BY "
                        "random() LIMIT $2",
                        real,
                        args.action_size,
                    )
                )
                results["actions"]["disregard"] = asyncio.run(
                    action(
                        service.url,
                        service.pid,
                        "/api/v2/smart_upload/unassigned_findings/disregard/",
                        {"ids": disregard_ids},
                        timeout=900,
                    )
                )
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


def report_size(
    rows: int,
    fill_seconds: float,
    stats: dict[str, dict[str, Any]],
    alone: dict[str, dict[str, Any]],
) -> str:
    lines = [
        f"store {rows} rows (filled in {fill_seconds:.1f} s)",
        "| scenario | 1 client p50 / p95 ms | 16 clients: requests | p50 ms | p95 ms | p99 ms "
        "| count | estimate |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, s in stats.items():
        one = alone[name]
        lines.append(
            f"| {name} | {one['p50_ms']:.1f} / {one['p95_ms']:.1f} | {s['requests']} | "
            f"{s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['count']} | "
            f"{'yes' if s['count_is_estimate'] else 'no'} |"
            + (f" {s['errors']} errors" if s["errors"] or one["errors"] else "")
        )
    return "\n".join(lines)


def plot(results: dict[str, Any], out: Path) -> None:
    """List latency against store size, one line per scenario: one client's p50 (the cost
    of a request) and the p95 under 16 concurrent clients (the target's condition)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (alone, loaded) = pyplot.subplots(1, 2, figsize=(13, 6), sharey=True)
    sizes = [entry["rows"] for entry in results["sizes"]]
    for name in results["sizes"][0]["scenarios"]:
        alone.plot(
            sizes, [e["one_client"][name]["p50_ms"] for e in results["sizes"]], "-o",
            markersize=3, label=name,
        )  # fmt: skip
        loaded.plot(
            sizes, [e["scenarios"][name]["p95_ms"] for e in results["sizes"]], "-o",
            markersize=3, label=name,
        )  # fmt: skip
    for axis, title in ((alone, "p50, one client"), (loaded, "p95, 16 concurrent clients")):
        axis.axhline(50, color="grey", linestyle="--", linewidth=0.8)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("unassigned findings in the store")
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
    alone.set_ylabel("latency (ms)")
    loaded.legend(fontsize=6, ncol=2)
    figure.suptitle(f"GET unassigned_findings — {harness.machine_line(load=False)}", fontsize=9)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="store sizes, rows")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load per size")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--action-size", type=int, default=10_000)
    parser.add_argument("--real-hosts", type=int, default=2_000, help="hosts of the real upload")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/smart-upload-bench/list"))
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write the plot (PNG) here")
    parser.add_argument("--profile", type=Path, help="py-spy profile of the largest size here")
    parser.add_argument("--database", default="smart_upload_bench_list", help="made and dropped")
    parser.add_argument("--smoke", action="store_true", help="tiny store, seconds")
    args = parser.parse_args(argv)
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    if args.smoke:
        args.sizes, args.duration, args.clients = [500], 1.0, 4
        args.action_size, args.real_hosts = 20, 10
        args.database = f"{args.database}_smoke_{os.getpid()}"
    args.work_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {harness.machine_line()}", flush=True)
    results = run(args)
    if args.profile and args.profile.exists():
        results["profile_top"] = harness.top_frames(args.profile)
        for name, own, total in results["profile_top"][:20]:
            print(f"    {own:5.1f} % self {total:5.1f} % total  {name}")
    harness.write_results(args.json, results)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
