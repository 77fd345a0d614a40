"""Parse benchmark (issue 3, design section 8): parse + route + subset writing, per format.

    python -m bench.parse                                  # every format at 10 and 100 MB,
                                                           # .nessus at 1 GB too
    python -m bench.parse --formats tenable-xml --sizes 10,100,1000
    python -m bench.parse --smoke                          # tiny files, seconds

For each format and size a synthetic file is generated (bench.generate; 20 hosts per MB, so
1 GB holds 20,000 hosts, with as many findings per host as it takes to reach the size) and
cached in --work-dir. Then, each in a fresh process so that its peak RSS (`ru_maxrss`) is
its own:

- `service`: the service's path — `plan_records` (stream the records, drop those below the
  minimum severity, route each against an index where 70 % of the file's hosts are
  endpoints of one of 500 products) and then `write_subsets` (one subset document per
  product share, written to /dev/null);
- `naive`: the baseline a user would write — the whole document loaded at once
  (`xml.etree.ElementTree.parse`, `csv.DictReader` or `json.load` into lists).

MB/s is the file size over the wall time of that work on one core; peak is the process's
RSS high-water mark, including the interpreter and the loaded index ("base").
Target (design section 8): .nessus ≥ 50 MB/s, < 150 MB peak at 1 GB / 20,000 hosts.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from bench import harness
from bench.generate import GENERATORS, generate

HOSTS_PER_MB = 20
PRODUCTS = 500
KNOWN_SHARE = 0.7
DEFAULT_SIZES = (10, 100)
DEFAULT_LARGE = ("tenable-xml", 1000)
SMOKE_FORMATS = ("tenable-xml", "generic-csv", "nuclei-json")


def _kind(name: str) -> str:
    return name.rsplit("-", 1)[-1]


def target_file(work: Path, name: str, size_mb: float) -> Path:
    """The generated file of about `size_mb` MB for format `name` (made once, then reused)."""
    path = work / f"{name}-{size_mb:g}mb.{_kind(name)}"
    if path.exists():
        return path
    hosts = max(2, round(HOSTS_PER_MB * size_mb))
    target = size_mb * 1_000_000
    sample_hosts = min(hosts, 100)
    sample = io.BytesIO()
    generate(name, sample, hosts=sample_hosts, findings=10, seed=1)
    per_record = len(sample.getvalue()) / (sample_hosts * 10)
    findings = max(1, round(target / (hosts * per_record)))
    for _ in range(3):
        with path.open("wb") as out:
            generate(name, out, hosts=hosts, findings=findings, seed=1)
        ratio = path.stat().st_size / target
        if 0.85 <= ratio <= 1.15 or findings == 1:
            break
        findings = max(1, round(findings / ratio))
    return path


def index_rows(path: Path, name: str) -> Path:
    """Endpoint rows for 70 % of the file's hosts over 500 products (cached beside the file).

    Hosts are chosen by a hash of their name, so the choice is the same on every run.
    """
    rows_path = path.with_suffix(path.suffix + ".index.json")
    if rows_path.exists():
        return rows_path
    from app.formats.registry import FORMATS

    hosts: set[str] = set()
    with path.open("rb") as source:
        for record in FORMATS[name].records(source):
            shown = record.host.dd_host or record.host.display()
            if shown:
                hosts.add(shown)
    rows = []
    for host in sorted(hosts):
        bucket = zlib.crc32(host.encode())
        if bucket % 100 < KNOWN_SHARE * 100:
            rows.append((bucket // 100 % PRODUCTS + 1, host, None))
    rows_path.write_text(json.dumps(rows), encoding="utf-8")
    return rows_path


def run_service(name: str, path: Path, rows_path: Path) -> dict[str, Any]:
    """The service's work on one file, timed after the index is loaded."""
    from app.formats.registry import FORMATS
    from app.matching.index import MatchIndex
    from app.matching.router import Router
    from app.matching.rules import RuleSet
    from app.services.planning import Plan, plan_records, write_subsets

    fmt = FORMATS[name]
    rows = [(int(p), str(h), port) for p, h, port in json.loads(rows_path.read_text())]
    router = Router(MatchIndex.build(rows), {}, RuleSet.build([]))
    del rows
    base = harness.own_peak_rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    plan = Plan()
    kept = 0
    with path.open("rb") as source:
        for batch in plan_records(fmt, source, router=router, minimum_severity="Info", plan=plan):
            kept += len(batch)
        parsed_at = time.perf_counter()
        with open(os.devnull, "wb") as sink:
            keeps = {pid: set(share.indexes) for pid, share in plan.shares.items()}
            written = write_subsets(fmt, source, keeps, dict.fromkeys(keeps, sink))
    elapsed = time.perf_counter() - started
    assert sum(written.values()) == plan.routed
    return {
        "seconds": elapsed,
        "parse_route_seconds": parsed_at - started,
        "subset_seconds": elapsed - (parsed_at - started),
        "cpu_seconds": time.process_time() - cpu_started,
        "records": plan.parsed,
        "routed": plan.routed,
        "unassigned": kept,
        "products": len(plan.shares),
        "base_mb": base,
    }


def run_naive(name: str, path: Path) -> dict[str, Any]:
    """Load the whole document the obvious way; returns how many items it held."""
    from xml.etree import ElementTree

    kind = _kind(name)
    base = harness.own_peak_rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    if kind == "xml":
        tree = ElementTree.parse(path)  # noqa: S314 - our own generated file
        items = [(e.tag, dict(e.attrib), e.text) for e in tree.iter()]
    elif kind == "csv":
        with path.open(newline="", encoding="utf-8") as handle:
            items = list(csv.DictReader(handle))
    else:
        with path.open("rb") as handle:
            head = handle.read(1).lstrip()
            handle.seek(0)
            if head == b"{" and name == "nuclei-json":
                items = [json.loads(line) for line in handle if line.strip()]
            else:
                items = [json.load(handle)]
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "records": len(items),
        "base_mb": base,
    }


def _child(argv: list[str]) -> None:
    mode, name, path = argv[0], argv[1], Path(argv[2])
    service = mode == "service"
    result = run_service(name, path, Path(argv[3])) if service else run_naive(name, path)
    result["peak_mb"] = harness.own_peak_rss_mb()
    print(json.dumps(result))


def measure(name: str, size_mb: float, work: Path, *, naive: bool) -> list[dict[str, Any]]:
    path = target_file(work, name, size_mb)
    rows = index_rows(path, name)
    size = path.stat().st_size
    cases = [("service", [str(rows)])] + ([("naive", [])] if naive else [])
    results = []
    for mode, extra in cases:
        result = harness.run_case(
            ["-m", "bench.parse", "--child", mode, name, str(path), *extra], timeout=3600
        )
        result.update(
            format=name,
            mode=mode,
            size_mb=round(size / 1e6, 1),
            mb_per_s=round(size / 1e6 / float(result["seconds"]), 1),
            load_average_1m=round(os.getloadavg()[0], 1),
        )
        results.append(result)
        print(_row(result), flush=True)
    return results


def _row(result: dict[str, Any]) -> str:
    return (
        f"| {result['format']} | {result['mode']} | {result['size_mb']:g} | "
        f"{result['records']} | {result['seconds']:.2f} | {result['mb_per_s']:g} | "
        f"{result['peak_mb']:.0f} | {result['base_mb']:.0f} |"
    )


HEADER = (
    "| format | code | MB | records | seconds | MB/s | peak MB | base MB |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def plot(results: list[dict[str, Any]], out: Path) -> None:
    """MB/s and peak memory against file size, service and naive, one line per format."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (speed, memory) = pyplot.subplots(1, 2, figsize=(12, 5))
    for name in sorted({r["format"] for r in results}):
        for mode, style in (("service", "-o"), ("naive", ":x")):
            points = sorted(
                (r["size_mb"], r["mb_per_s"], r["peak_mb"])
                for r in results
                if r["format"] == name and r["mode"] == mode
            )
            if not points:
                continue
            sizes = [p[0] for p in points]
            label = f"{name} ({mode})"
            speed.plot(sizes, [p[1] for p in points], style, label=label)
            memory.plot(sizes, [p[2] for p in points], style, label=label)
    for axis, title in ((speed, "throughput (MB/s)"), (memory, "peak RSS (MB)")):
        axis.set_xscale("log")
        axis.set_xlabel("file size (MB)")
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
    speed.axhline(50, color="grey", linestyle="--", linewidth=0.8)
    speed.set_ylim(bottom=0)
    memory.set_yscale("log")
    memory.axhline(150, color="grey", linestyle="--", linewidth=0.8)
    speed.legend(fontsize=6, ncol=2)
    machine = harness.machine_line(load=False)
    figure.suptitle(f"parse + route + subsets, one core — {machine}", fontsize=9)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> None:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--child"]:
        _child(args_list[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--formats", help="comma-separated format names (default: all)")
    parser.add_argument("--sizes", help="comma-separated sizes in MB (default: 10,100)")
    parser.add_argument(
        "--large", action=argparse.BooleanOptionalAction, default=True,
        help="also run .nessus at 1 GB (default: on unless --sizes or --smoke is given)",
    )  # fmt: skip
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/smart-upload-bench/parse"))
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--plot", type=Path, help="write the plot (PNG) here")
    parser.add_argument("--smoke", action="store_true", help="tiny files, a few formats")
    args = parser.parse_args(args_list)
    formats = args.formats.split(",") if args.formats else sorted(GENERATORS)
    sizes = [float(s) for s in args.sizes.split(",")] if args.sizes else list(DEFAULT_SIZES)
    if args.smoke:
        formats = [f for f in formats if f in SMOKE_FORMATS] if args.formats else SMOKE_FORMATS
        sizes = [0.2]
    cases = [(name, size) for size in sizes for name in formats]
    large_name, large_size = DEFAULT_LARGE
    if args.large and not args.sizes and not args.smoke and large_name in formats:
        cases.append((large_name, large_size))
    args.work_dir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {harness.machine_line()}\n{HEADER}", flush=True)
    results: list[dict[str, Any]] = []
    for name, size in cases:
        results.extend(measure(name, size, args.work_dir, naive=not args.no_naive))
    harness.write_results(args.json, results)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
