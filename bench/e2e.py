"""End-to-end benchmark (issue 8, items 1 and 3; design section 8).

    python -m bench.e2e                        # 10 MB / 1,000 hosts and 100 MB / 10,000 hosts
    python -m bench.e2e --cases 10             # one case (MB; hosts = 100 per MB)
    python -m bench.e2e --concurrent 8         # 8 uploads of the 10 MB file at once
    python -m bench.e2e --profile DIR          # py-spy profile of the service per case
    python -m bench.e2e --smoke                # tiny, a few seconds

Everything runs as it would in production, as separate processes on loopback: the
DefectDojo test double (`python -m tests.fakedojo --latency`: a fixed cost per import plus
a cost per finding and per endpoint status, fitted to DefectDojo 3.2's recorded timings),
the service (`uvicorn app.main:app`, one process) over a fresh database, and this client.

Per case: a generated .nessus file; 100,000 endpoints over 500 products seeded into the
double, 70 % of the scan's hosts among them (the other 30 % unknown); the index refreshed
(`POST /api/v2/smart_upload/index/`); then the upload, timed until the upload is finished.
Reported: wall time; the service's own CPU time (/proc of the server process, so it
excludes DefectDojo's); DefectDojo's import time (the double's modelled cost, summed over
the pushes: `GET /__fakedojo/latency/`); the service's peak RSS (VmHWM); records/s. Then
DefectDojo's own import of the whole file into one product, on the same double, for the
comparison of design section 8 (service time < 10 % of DefectDojo's import time; never
slower end to end than DefectDojo's own import).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

import httpx

from bench import harness
from bench.generate import generate

TOKEN = "benchbenchbenchbenchbenchbenchbenchbench"
PRODUCTS = 500
ENDPOINTS = 100_000
KNOWN_SHARE = 0.7
HOSTS_PER_MB = 100
RECORD_BYTES = 1_600
WHOLE_FILE_PRODUCT = "Whole file (DefectDojo's own import)"
DONE = {"completed", "completed_with_errors", "failed"}
POLL_SECONDS = 1.0
"""How often a client polls an upload that answered 202, as a pipeline would."""


def scan_file(work: Path, size_mb: float, *, seed: int = 1) -> Path:
    """A .nessus file of about `size_mb` MB with 100 hosts per MB (made once, then reused)."""
    path = work / f"scan-{size_mb:g}mb-{seed}.nessus"
    if not path.exists():
        hosts = max(2, round(HOSTS_PER_MB * size_mb))
        findings = max(1, round(size_mb * 1_000_000 / hosts / RECORD_BYTES))
        with path.open("wb") as out:
            generate("tenable-xml", out, hosts=hosts, findings=findings, seed=seed)
    return path


def scan_hosts(path: Path) -> list[str]:
    """The host names DefectDojo gives the file's endpoints (from the service's parser)."""
    from app.formats.registry import FORMATS

    hosts: set[str] = set()
    with path.open("rb") as source:
        for record in FORMATS["tenable-xml"].records(source):
            if record.host.dd_host:
                hosts.add(record.host.dd_host)
    return sorted(hosts)


def seed_document(hosts: list[str], *, endpoints: int) -> dict[str, Any]:
    """500 products, `endpoints` endpoints: 70 % of `hosts` (by hash) plus filler hosts."""
    products = [f"Product {n:03d}" for n in range(1, PRODUCTS + 1)]
    rows = []
    for host in hosts:
        bucket = zlib.crc32(host.encode())
        if bucket % 100 < KNOWN_SHARE * 100:
            rows.append({"product": products[bucket // 100 % PRODUCTS], "host": host})
    filler = 0
    while len(rows) < endpoints:
        octets = filler.to_bytes(3, "big")
        rows.append(
            {
                "product": products[filler % PRODUCTS],
                "host": f"172.{16 + octets[0] % 16}.{octets[1]}.{octets[2]}"
                if filler % 2
                else f"filler{filler}.inventory.example.net",
            }
        )
        filler += 1
    for row in rows:
        row.update(port=443, protocol="https")
    return {
        "users": [
            {"username": "admin", "password": "admin", "token": TOKEN, "is_superuser": True,
             "is_staff": True}
        ],
        "product_types": [{"name": "Infrastructure"}],
        "products": [
            {"name": name, "prod_type": "Infrastructure"}
            for name in [*products, WHOLE_FILE_PRODUCT]
        ],
        "engagements": [{"product": WHOLE_FILE_PRODUCT, "name": "DefectDojo import"}],
        "endpoints": rows,
    }  # fmt: skip


AUTH = {"Authorization": f"Token {TOKEN}"}


async def _latency(client: httpx.AsyncClient, dojo: str) -> dict[str, Any]:
    answer = await client.get(f"{dojo}/__fakedojo/latency/")
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


async def upload(
    client: httpx.AsyncClient, base: str, path: Path, *, test_title: str | None, timeout: float
) -> dict[str, Any]:
    """Upload and wait until the upload is finished; the summary and the seconds it took."""
    started = time.perf_counter()
    data = {"scan_type": "Tenable Scan"}
    if test_title:
        data["test_title"] = test_title
    with path.open("rb") as handle:
        answer = await client.post(
            f"{base}/api/v2/smart_upload_import/",
            headers=AUTH,
            data=data,
            files={"file": (path.name, handle, "application/xml")},
        )
    if answer.status_code not in (200, 201, 202):
        raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:500]}")
    summary: dict[str, Any] = answer.json()
    deadline = started + timeout
    while summary["status"] not in DONE:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"upload {summary['id']} not finished after {timeout} s")
        await asyncio.sleep(POLL_SECONDS)
        polled = await client.get(
            f"{base}/api/v2/smart_upload/uploads/{summary['id']}", headers=AUTH
        )
        polled.raise_for_status()
        summary = polled.json()
    return {"summary": summary, "seconds": time.perf_counter() - started}


async def dojo_import(client: httpx.AsyncClient, dojo: str, path: Path) -> dict[str, Any]:
    """DefectDojo's own import of the whole file into one product (on the double)."""
    found = await client.get(
        f"{dojo}/api/v2/engagements/", headers=AUTH, params={"name": "DefectDojo import"}
    )
    engagement = found.json()["results"][0]["id"]
    before = await _latency(client, dojo)
    started = time.perf_counter()
    with path.open("rb") as handle:
        answer = await client.post(
            f"{dojo}/api/v2/import-scan/",
            headers=AUTH,
            data={"scan_type": "Tenable Scan", "engagement": str(engagement),
                  "close_old_findings": "false"},
            files={"file": (path.name, handle, "application/xml")},
        )  # fmt: skip
    answer.raise_for_status()
    wall = time.perf_counter() - started
    after = await _latency(client, dojo)
    return {"wall_seconds": wall, "dd_seconds": after["seconds"] - before["seconds"]}


def service_env(database_url: str, dojo_url: str, push_concurrency: int = 4) -> dict[str, str]:
    return {
        "SMART_UPLOAD_PUSH_CONCURRENCY": str(push_concurrency),
        "DATABASE_URL": database_url,
        "DD_URL": dojo_url,
        "DD_API_TOKEN": TOKEN,
        "SMART_UPLOAD_SECRET_KEY": "bench-secret-key-bench-secret-key",
        "SMART_UPLOAD_INDEX_REFRESH_SECONDS": "0",
        "SMART_UPLOAD_WORKER_POLL_SECONDS": "0.2",
        "SMART_UPLOAD_LOG_LEVEL": "WARNING",
    }


async def _timed_uploads(
    client: httpx.AsyncClient,
    service: harness.Server,
    dojo: harness.Server,
    paths: list[Path],
    *,
    profile: Path | None,
    timeout: float,
) -> dict[str, Any]:
    """Upload `paths` at once and measure until all are finished."""
    cpu_before = harness.cpu_seconds(service.pid)
    latency_before = await _latency(client, dojo.url)
    profiler = harness.Profiler(service.pid, profile) if profile else None
    started = time.perf_counter()
    try:
        done = await asyncio.gather(
            *(
                upload(client, service.url, path, test_title=(
                    f"Concurrent {n}" if len(paths) > 1 else None), timeout=timeout)
                for n, path in enumerate(paths)
            )
        )  # fmt: skip
    finally:
        if profiler:
            profiler.stop()
    wall = time.perf_counter() - started
    latency_after = await _latency(client, dojo.url)
    summaries = [d["summary"] for d in done]
    records = sum(s["records"]["parsed"] for s in summaries)
    return {
        "records": records,
        "routed": sum(s["records"]["routed"] for s in summaries),
        "unassigned": sum(s["records"]["unassigned"] for s in summaries),
        "products": sum(len(s["products"]) for s in summaries),
        "pushes": sorted({p["push"] or "none" for s in summaries for p in s["products"]}),
        "statuses": sorted({s["status"] for s in summaries}),
        "wall_seconds": wall,
        "service_cpu_seconds": harness.cpu_seconds(service.pid) - cpu_before,
        "dd_import_seconds": latency_after["seconds"] - latency_before["seconds"],
        "dd_imports": latency_after["imports"] - latency_before["imports"],
        "records_per_s": records / wall,
        "per_upload_seconds": [d["seconds"] for d in done],
    }


async def _measure(
    service: harness.Server,
    dojo: harness.Server,
    paths: list[Path],
    *,
    profile: Path | None,
    timeout: float,
) -> dict[str, Any]:
    """The upload(s); for a single file, then the same file again (every share a reimport,
    as a pipeline's next run) and DefectDojo's own import of it."""
    limits = httpx.Timeout(timeout, connect=10)
    async with httpx.AsyncClient(timeout=limits) as client:
        started = time.perf_counter()
        refreshed = await client.post(f"{service.url}/api/v2/smart_upload/index/", headers=AUTH)
        refreshed.raise_for_status()
        index_seconds = time.perf_counter() - started
        first = await _timed_uploads(client, service, dojo, paths, profile=profile, timeout=timeout)
        repeat = None
        if len(paths) == 1:
            again = profile.with_stem(profile.stem + "-repeat") if profile else None
            repeat = await _timed_uploads(
                client, service, dojo, paths, profile=again, timeout=timeout
            )
        peak = harness.peak_rss_mb(service.pid)
        whole = await dojo_import(client, dojo.url, paths[0]) if len(paths) == 1 else None
    return {
        "uploads": len(paths),
        "size_mb": round(sum(p.stat().st_size for p in paths) / 1e6, 1),
        **first,
        "repeat": repeat,
        "index_refresh_seconds": index_seconds,
        "peak_rss_mb": peak,
        "whole_file": whole,
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def run_case(
    paths: list[Path],
    work: Path,
    *,
    endpoints: int,
    profile: Path | None,
    timeout: float,
    database: str,
    push_concurrency: int,
) -> dict[str, Any]:
    seed = work / f"seed-{paths[0].stem}-{endpoints}.json"
    if not seed.exists():
        seed.write_text(json.dumps(seed_document(scan_hosts(paths[0]), endpoints=endpoints)))
    with harness.bench_database(database) as database_url:
        dojo = harness.fakedojo(harness.free_port(), seed, latency=True, log=work / "dojo.log")
        with harness.running(dojo, ready_path="/api/v2/user_profile/", timeout=120):
            service = harness.service(
                harness.free_port(),
                service_env(database_url, dojo.url, push_concurrency),
                log=work / "service.log",
            )
            with harness.running(service, ready_path="/health"):
                return asyncio.run(_measure(service, dojo, paths, profile=profile, timeout=timeout))


def report(result: dict[str, Any]) -> str:
    whole = result["whole_file"]
    lines = [
        f"uploads {result['uploads']}, {result['size_mb']:g} MB, {result['records']} records "
        f"({result['routed']} routed to {result['products']} product shares, "
        f"{result['unassigned']} unassigned), status {', '.join(result['statuses'])}",
        f"  index refresh {result['index_refresh_seconds']:.1f} s; wall "
        f"{result['wall_seconds']:.1f} s; service CPU {result['service_cpu_seconds']:.1f} s; "
        f"DefectDojo import time {result['dd_import_seconds']:.1f} s over "
        f"{result['dd_imports']} imports; peak RSS {result['peak_rss_mb']:.0f} MB; "
        f"{result['records_per_s']:.0f} records/s",
    ]
    if repeat := result.get("repeat"):
        lines.append(
            f"  the same file again ({', '.join(repeat['pushes'])}): wall "
            f"{repeat['wall_seconds']:.1f} s; service CPU {repeat['service_cpu_seconds']:.1f} s; "
            f"DefectDojo import time {repeat['dd_import_seconds']:.1f} s over "
            f"{repeat['dd_imports']} imports"
        )
    if whole:
        lines.append(
            f"  DefectDojo's own import of the whole file: {whole['dd_seconds']:.1f} s modelled "
            f"({whole['wall_seconds']:.1f} s on the double); service CPU / that = "
            f"{100 * result['service_cpu_seconds'] / max(whole['dd_seconds'], 1e-9):.1f} %"
        )
    if result["uploads"] > 1:
        each = sorted(result["per_upload_seconds"])
        lines.append(
            f"  per upload: fastest {each[0]:.1f} s, slowest {each[-1]:.1f} s "
            f"(slowest/fastest {each[-1] / each[0]:.2f}); "
            f"{result['size_mb'] / result['wall_seconds']:.1f} MB/s in total"
        )
    return "\n".join(lines)


def plot(results: list[dict[str, Any]], out: Path) -> None:
    """Service CPU, wall time and DefectDojo's import times against file size."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    single = sorted((r for r in results if r["uploads"] == 1), key=lambda r: r["size_mb"])
    sizes = [r["size_mb"] for r in single]
    figure, axis = pyplot.subplots(figsize=(8, 5))
    series = (
        ("service CPU", [r["service_cpu_seconds"] for r in single], "-o"),
        ("smart upload, wall", [r["wall_seconds"] for r in single], "-s"),
        ("DefectDojo time of the pushes (modelled)",
         [r["dd_import_seconds"] for r in single], ":^"),
        ("DefectDojo's own whole-file import (modelled)",
         [r["whole_file"]["dd_seconds"] for r in single], "--v"),
    )  # fmt: skip
    for label, values, style in series:
        axis.plot(sizes, values, style, label=label)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel(".nessus file size (MB); 100 hosts per MB")
    axis.set_ylabel("seconds")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(f"end to end, 500 products — {harness.machine_line(load=False)}", fontsize=8)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", default="10,100", help="file sizes in MB (comma-separated)")
    parser.add_argument("--concurrent", type=int, default=0, help="N uploads at once instead")
    parser.add_argument("--endpoints", type=int, default=ENDPOINTS)
    parser.add_argument(
        "--push-concurrency", type=int, default=4, help="SMART_UPLOAD_PUSH_CONCURRENCY"
    )
    parser.add_argument("--profile", type=Path, help="directory for py-spy profiles")
    parser.add_argument("--timeout", type=float, default=1800, help="per case, seconds")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/smart-upload-bench/e2e"))
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write the plot (PNG) here")
    parser.add_argument("--database", default="smart_upload_bench", help="created and dropped")
    parser.add_argument("--smoke", action="store_true", help="a tiny file, 2,000 endpoints")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.cases.split(",")]
    if args.smoke:
        sizes, args.endpoints, args.timeout = [0.2], 2_000, 120
        args.concurrent = min(args.concurrent, 2)
        args.database = f"{args.database}_smoke_{os.getpid()}"
    args.work_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {harness.machine_line()}", flush=True)
    results = []
    runs = [[scan_file(args.work_dir, sizes[0])] * args.concurrent] if args.concurrent else [
        [scan_file(args.work_dir, size)] for size in sizes
    ]  # fmt: skip
    for paths in runs:
        profile = None
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            profile = args.profile / f"{paths[0].stem}-x{len(paths)}.txt"
        result = run_case(
            paths,
            args.work_dir,
            endpoints=args.endpoints,
            profile=profile,
            timeout=args.timeout,
            database=args.database,
            push_concurrency=args.push_concurrency,
        )
        if profile and profile.exists():
            result["profile_top"] = harness.top_frames(profile)
        results.append(result)
        print(report(result), flush=True)
        for name, own, total in result.get("profile_top", [])[:15]:
            print(f"    {own:5.1f} % self {total:5.1f} % total  {name}")
    harness.write_results(args.json, results)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
