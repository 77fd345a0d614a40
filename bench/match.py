"""Matching benchmark (design section 8): route 1,000,000 records against an index of
1,000,000 DefectDojo endpoints and 10,000 routing rules, on one core.

    python -m bench.match                  # full size; target: routing under 10 s
    python -m bench.match --scale 0.001    # smoke run, a few seconds
    python -m bench.match --distinct       # stress: every record a different host
    python -m bench.match --profile        # cProfile of the routing loop

Reports the time to build the index and the rules, the memory the loaded index holds
(tracemalloc, over a second build so the timed one is not slowed by tracing), and the time
of routing. Records reach the router in batches of 10,000 made just before they are routed,
as a parser streams them; only routing is timed. Times are wall clock, as the target says,
and CPU time beside them, which other work on a shared machine disturbs less.

The synthetic data is deterministic for a given --seed:

- endpoints over 500 products: 45 % IPv4, 45 % FQDNs (`hostN.teamT.corp.example.com`, team
  T belonging to one product), 10 % IPv6; 1 to 4 ports per host; 3 % of hosts also in a
  second product; raw spellings as DefectDojo may hold them (upper case, trailing dots,
  `https://` URLs, `host:port`);
- rules, half CIDR (IPv4 /8 to /30, IPv6 /48 to /64), half globs (`*.teamT.corp...`,
  `web-??.teamT...`, `db*.siteS.example.net`, `app[0-9]-*.siteS...`, exact names, a few
  unanchored `kiosk-N*`), priorities 10 to 200;
- records from 20,000 scan hosts (a 1 GB Nessus file's worth) unless --distinct: 60 % hosts
  DefectDojo knows, 30 % unknown to it (half named in rule-covered teams, half bare 10.x
  addresses), 10 % unknown to all; FQDN, IP and NetBIOS name as scanners report them; each
  record a new HostIdentity with new strings, as a parser makes them.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import TypeVar

from app.formats.base import HostIdentity, Record
from app.matching.index import MatchIndex, Row
from app.matching.router import Router
from app.matching.rules import Rule, RuleKind, RuleSet
from bench.harness import machine_line

PRODUCTS = 500
TEAMS = 2_000
PORTS = (22, 25, 53, 80, 161, 443, 445, 1433, 3306, 3389, 5432, 6379, 8080, 8443, 9200)
SCAN_HOSTS = 20_000
BATCH = 10_000
_T = TypeVar("_T")


def endpoint_rows(count: int, rng: random.Random) -> tuple[list[Row], list[str]]:
    """DefectDojo endpoint rows, and the canonical host names they were made from."""
    rows: list[Row] = []
    hosts: list[str] = []
    serial = 0
    while len(rows) < count:
        serial += 1
        kind = rng.random()
        team = rng.randrange(TEAMS)
        if kind < 0.45:
            host = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            product = rng.randrange(1, PRODUCTS + 1)
        elif kind < 0.90:
            host = f"host{serial}.team{team}.corp.example.com"
            product = team % PRODUCTS + 1
        else:
            host = f"2001:db8:{team:x}:{serial >> 16:x}::{serial & 0xFFFF:x}"
            product = team % PRODUCTS + 1
        hosts.append(host)
        ports = rng.sample(PORTS, rng.randint(1, 4))
        owners = [product]
        if rng.random() < 0.03:
            owners.append(rng.randrange(1, PRODUCTS + 1))
        for port in ports:
            for owner in owners if rng.random() < 0.5 else owners[:1]:
                rows.append((owner, _spelling(host, port, rng), port))
    return rows[:count], hosts


def _spelling(host: str, port: int, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.10:
        return host.upper()
    if roll < 0.15 and ":" not in host:
        return host + "."
    if roll < 0.18:
        return f"https://[{host}]/" if ":" in host else f"https://{host}/"
    if roll < 0.20 and ":" not in host:
        return f"{host}:{port}"
    return host


def rules(count: int, rng: random.Random) -> list[Rule]:
    made: list[Rule] = []
    for rule_id in range(1, count + 1):
        product = rng.randrange(1, PRODUCTS + 1)
        priority = rng.choice((10, 50, 100, 100, 100, 200))
        kind: RuleKind
        if rule_id % 2:
            kind = "cidr"
            if rng.random() < 0.9:
                length = rng.choice((8, 12, 16, 16, 20, 22, 24, 24, 24, 26, 28, 30))
                address = rng.getrandbits(24) | (10 << 24)
                mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF
                net = address & mask
                pattern = f"{net >> 24}.{(net >> 16) & 255}.{(net >> 8) & 255}.{net & 255}/{length}"
            else:
                pattern = f"2001:db8:{rng.randrange(TEAMS * 2):x}::/{rng.choice((48, 56, 64))}"
        else:
            kind = "hostname_glob"
            team, site = rng.randrange(TEAMS * 2), rng.randrange(500)
            pattern = rng.choice(
                (
                    f"*.team{team}.corp.example.com",
                    f"web-??.team{team}.corp.example.com",
                    f"db*.site{site}.example.net",
                    f"app[0-9]-*.site{site}.example.net",
                    f"new{rng.randrange(50_000)}.team{team}.corp.example.com",
                )
            )
            if rng.random() < 0.01:
                pattern = f"kiosk-{rng.randrange(1000)}*"
        made.append(Rule(rule_id, kind, pattern, product, priority))
    return made


def scan_host(serial: int, known: list[str], rng: random.Random) -> HostIdentity:
    roll = rng.random()
    netbios = f"HOST{serial}" if rng.random() < 0.3 else None
    if roll < 0.6:
        host = rng.choice(known)
        if "corp.example.com" in host:
            return HostIdentity(ip=_ip(rng), fqdn=host.upper(), netbios=netbios)
        return HostIdentity(ip=host, netbios=netbios)
    if roll < 0.75:
        name = f"new{serial}.team{rng.randrange(TEAMS * 2)}.corp.example.com"
        ip = f"172.16.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        return HostIdentity(ip=ip, fqdn=name, netbios=netbios)
    if roll < 0.9:
        return HostIdentity(ip=_ip(rng), netbios=netbios)
    ip = f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return HostIdentity(ip=ip, fqdn=f"h{serial}.elsewhere.org", netbios=netbios)


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def record_batches(
    count: int, hosts: int, known: list[str], rng: random.Random
) -> Iterator[list[Record]]:
    """Records in batches of BATCH, as a parser streams them; host of record i is scan host
    i % hosts, made afresh for each record (equal values, new objects, as a parser does)."""
    seen: list[HostIdentity] = []
    batch: list[Record] = []
    for index in range(count):
        serial = index % hosts
        if serial < len(seen):
            host = seen[serial]
        else:
            host = scan_host(serial, known, rng)
            if hosts < count:
                seen.append(host)
        identity = HostIdentity(
            _copy(host.ip), _copy(host.fqdn), _copy(host.netbios), host.mac, host.dd_host
        )
        batch.append(Record(index, "finding", "Medium", identity, port=rng.choice(PORTS)))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _copy(text: str | None) -> str | None:
    return None if text is None else "".join(list(text))


def timed(label: str, action: Callable[[], _T]) -> tuple[_T, float]:
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    elapsed = time.perf_counter() - started
    _report(label, elapsed, time.process_time() - cpu)
    return result, elapsed


def _report(label: str, wall: float, cpu: float) -> None:
    """Wall time as asked, and CPU time, which a busy machine disturbs less."""
    print(f"{label:<34} {wall:8.2f} s wall {cpu:8.2f} s cpu", flush=True)


def index_memory(rows: list[Row]) -> tuple[int, int, int]:
    """(bytes the built index holds, peak bytes while building, endpoints), by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = MatchIndex.build(rows)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return held - before, peak - before, len(index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of full size")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--distinct", action="store_true", help="every record its own host")
    parser.add_argument("--profile", action="store_true", help="cProfile the routing loop")
    parser.add_argument("--no-memory", action="store_true", help="skip the traced rebuild")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    n_endpoints = max(10, int(1_000_000 * args.scale))
    n_rules = max(10, int(10_000 * args.scale))
    n_records = max(10, int(1_000_000 * args.scale))
    n_hosts = n_records if args.distinct else max(1, int(SCAN_HOSTS * args.scale))
    print(
        f"endpoints {n_endpoints:,}  rules {n_rules:,}  records {n_records:,}  "
        f"scan hosts {n_hosts:,}\non {machine_line()}",
        flush=True,
    )
    (rows, known), _ = timed("generate endpoints", lambda: endpoint_rows(n_endpoints, rng))
    rule_list, _ = timed("generate rules", lambda: rules(n_rules, rng))

    index, _ = timed("build index", partial(MatchIndex.build, rows))
    rule_set, _ = timed("build rules", lambda: RuleSet.build(rule_list))
    print(
        f"  index: {len(index):,} endpoints on {index.host_count:,} hosts; rules: {len(rule_set):,}"
    )
    if not args.no_memory:
        held, peak, _ = index_memory(rows)
        print(
            f"index memory (tracemalloc)         {held / 2**20:8.1f} MiB held "
            f"({held / len(index):.0f} B per endpoint), {peak / 2**20:.1f} MiB peak while building"
        )
    del rows  # the service keeps the index, not DefectDojo's rows
    router = Router(index, {}, rule_set, {pid: f"Product {pid}" for pid in range(1, PRODUCTS + 1)})

    profiler = cProfile.Profile() if args.profile else None
    outcome: Counter[str] = Counter()
    elapsed = cpu = 0.0
    gc.collect()
    for batch in record_batches(n_records, n_hosts, known, rng):
        if profiler is not None:
            profiler.enable()
        started, cpu_started = time.perf_counter(), time.process_time()
        decisions = [router.route_record(record) for record in batch]
        elapsed += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        if profiler is not None:
            profiler.disable()
        outcome.update(f"{d.decision}/{d.level}" for d in decisions)
    _report("route records", elapsed, cpu)
    print(f"  {n_records / elapsed:,.0f} records/s")
    for name, count in sorted(outcome.items(), key=lambda item: -item[1]):
        print(f"  {name:<26} {count:>10,}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
