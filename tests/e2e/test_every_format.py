"""Every scan format, end to end: the service splits a scan over the products that own its
hosts, and DefectDojo (the double) ends up with exactly the routed (finding, host) pairs.

For every sample in shared/scans and a generated 12-host file of every format, two products
own half of the file's hosts (as DefectDojo endpoints); the scan is planned (dry run),
uploaded, then uploaded again. The checks are design sections 2a and 5:
- the (title, host) pairs DefectDojo stores in each product are the routed records of the
  plan for that product (titles as DefectDojo stores them, hosts as its URL cleaning keeps
  them), and the plan's records are the pairs DefectDojo's parser makes of the whole file;
- parsed = dropped + routed + unassigned, and the upload's counts are the plan's;
- the second upload reimports each product's whole share again into the same test, and
  DefectDojo's state after it is what its reimport rule gives (`after_reimport`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from titlecase import titlecase

from app.formats.base import ScanFormat
from app.formats.registry import FORMATS, resolve
from bench.generate import GENERATORS, generate
from tests.conftest import SCANS
from tests.e2e.conftest import World
from tests.fakedojo.importer import Importer, clean_endpoint
from tests.fakedojo.parsed import ParsedEndpoint, ParsedFinding
from tests.fakedojo.parsers import dedupe_config, hash_code, parse_scan
from tests.fakedojo.state import Finding

SCAN_TYPES = {
    "tenable": "Tenable Scan",
    "nmap": "Nmap Scan",
    "openvas": "OpenVAS Parser",
    "qualys": "Qualys Scan",
    "nexpose": "Nexpose Scan",
    "generic": "Generic Findings Import",
}
SUFFIXES = {"xml": ".xml", "csv": ".csv", "json": ".json"}
Pair = tuple[str, str | None]


@dataclass(frozen=True)
class Case:
    file_name: str
    content: bytes
    fmt: ScanFormat


def shared_case(path: Path) -> Case:
    content = path.read_bytes()
    return Case(path.name, content, resolve(SCAN_TYPES[path.parent.name], content[:65536]))


def generated_case(name: str) -> Case:
    out = io.BytesIO()
    generate(name, out, hosts=12, findings=3, seed=7)
    return Case(
        f"generated-{name}{SUFFIXES[name.rsplit('-', 1)[1]]}", out.getvalue(), FORMATS[name]
    )


CASES: dict[str, Callable[[], Case]] = {
    **{
        f"{path.parent.name}/{path.name}": partial(shared_case, path)
        for path in sorted(SCANS.glob("*/*"))
        if path.parent.name in SCAN_TYPES
    },
    **{f"generated/{name}": partial(generated_case, name) for name in GENERATORS},
}


def stored_host(host: str | None) -> str | None:
    """The host as DefectDojo 3.2's URL cleaning stores it (lower case, IDNA, short IPv6)."""
    return None if not host else clean_endpoint(ParsedEndpoint(host=host), "3.2").host


def plan_pairs(items: list[dict[str, Any]]) -> set[Pair]:
    return {(item["title"], stored_host(item["host"])) for item in items}


def parser_pairs(findings: list[ParsedFinding]) -> set[Pair]:
    """DefectDojo's (stored title, host) pairs of parsed findings; None for no endpoint."""
    pairs: set[Pair] = set()
    for finding in findings:
        title = titlecase(finding.title[:511])
        pairs |= {(title, stored_host(e.host)) for e in finding.endpoints} or {(title, None)}
    return pairs


def after_reimport(
    scan_type: str, stored: list[Finding], active: dict[int, set[str]], share: list[ParsedFinding]
) -> tuple[set[Pair], int]:
    """DefectDojo's pairs and created count after reimporting `share` into its own test.

    `default_reimporter` matches each parsed finding to the test's first finding (by id)
    with the same hash code, or for `legacy` the same raw title and severity. Stored titles
    are title-cased, so "Open port: 22/tcp" never matches "Open Port: 22/TCP": every Nmap
    finding, and each OpenVAS one whose title title-casing changes, is created again on each
    re-upload (the earlier ones keep their endpoints), as with DD's own reimport. A match ends
    with exactly the parsed finding's endpoints active, so when several parsed findings share
    a key (ZAP or Nuclei findings of one alert on two hosts), the first stored one ends with
    the last one's hosts and the others keep their own: a host can drop out of DefectDojo.
    """
    legacy = dedupe_config(scan_type).algorithm == "legacy"
    hosts = {f.id: set(active[f.id]) for f in stored}
    titles = {f.id: f.title for f in stored}
    index: dict[object, int] = {}
    for finding in sorted(stored, key=lambda f: f.id):
        index.setdefault(
            (finding.title, finding.severity) if legacy else finding.hash_code, finding.id
        )
    created = 0
    for parsed in share:
        key = (parsed.title, parsed.severity) if legacy else hash_code(scan_type, parsed)
        endpoints = {clean_endpoint(e, "3.2").host for e in parsed.endpoints}
        match = index.get(key)
        if match is None:
            created += 1
            match = -created
            titles[match] = titlecase(parsed.title[:511])
            stored_key = (titles[match], parsed.severity) if legacy else key
            index.setdefault(stored_key, match)
        hosts[match] = endpoints
    return {(titles[i], host) for i, found in hosts.items() for host in found}, created


def active_hosts(world: World, findings: list[Finding]) -> dict[int, set[str]]:
    return {
        f.id: {
            world.dojo.endpoints[s.endpoint_id].host
            for s in world.dojo.statuses_of(f.id)
            if not s.mitigated
        }
        for f in findings
    }


async def seed_owners(world: World, case: Case) -> list[int]:
    """Two products own every other host of the file (alternately); the rest is nobody's."""
    records = list(case.fmt.records(io.BytesIO(case.content)))
    hosts = sorted({r.host.dd_host or r.host.display() for r in records} - {""})
    products = [world.product(name, world.alice).id for name in ("Alpha", "Beta")]
    for position, host in enumerate(hosts[::2]):
        world.dojo.add_endpoint(products[position % 2], host)
    await world.refresh_index()
    return products


def capture_imports(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, list[ParsedFinding]]]:
    """Record (kind, product id, parsed findings) of every import and reimport the double runs."""
    calls: list[tuple[str, int, list[ParsedFinding]]] = []
    original_import, original_reimport = Importer.import_scan, Importer.reimport_scan

    def import_scan(self: Importer, engagement: Any, parsed: list[ParsedFinding]) -> Any:
        calls.append(("import", engagement.product_id, parsed))
        return original_import(self, engagement, parsed)

    def reimport_scan(self: Importer, test: Any, parsed: list[ParsedFinding]) -> Any:
        calls.append(("reimport", self.state.product_of_test(test).id, parsed))
        return original_reimport(self, test, parsed)

    monkeypatch.setattr(Importer, "import_scan", import_scan)
    monkeypatch.setattr(Importer, "reimport_scan", reimport_scan)
    return calls


def shape(findings: list[ParsedFinding]) -> list[tuple[str, str, list[str]]]:
    return [(f.title, f.severity, sorted(map(repr, f.endpoints))) for f in findings]


@pytest.mark.parametrize("case_id", sorted(CASES))
async def test_routed_records_are_what_defectdojo_stores(
    world: World, monkeypatch: pytest.MonkeyPatch, case_id: str
) -> None:
    case = CASES[case_id]()
    scan_type = case.fmt.scan_type
    path = Path(case.file_name)
    owners = await seed_owners(world, case)
    calls = capture_imports(monkeypatch)

    dry = await world.upload(path, content=case.content, scan_type=scan_type, dry_run="true")
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    planned = {p["product_id"]: plan_pairs(p["items"]) for p in plan["products"]}
    every_item = [i for p in plan["products"] for i in p["items"]] + plan["unassigned"]["items"]
    assert plan_pairs(every_item) == parser_pairs(parse_scan(scan_type, path.name, case.content))

    first = await world.upload(path, content=case.content, scan_type=scan_type)

    assert first.status_code == 201, first.text
    summary = first.json()
    assert summary["status"] == "completed"
    records = summary["records"]
    counts = ("parsed", "dropped_below_minimum_severity", "routed", "unassigned")
    assert {key: records[key] for key in counts} == {key: plan["records"][key] for key in counts}
    assert records["parsed"] == (
        records["dropped_below_minimum_severity"] + records["routed"] + records["unassigned"]
    )
    pushed = {p["product_id"]: p for p in summary["products"]}
    assert set(pushed) == set(planned)
    for idle in set(owners) - set(planned):
        assert world.tests_of(world.dojo.products[idle]) == []
    assert {p["push"] for p in pushed.values()} <= {"import"}
    shares = {product: parsed for kind, product, parsed in calls if kind == "import"}
    before: dict[int, tuple[list[Finding], dict[int, set[str]]]] = {}
    for product_id, pairs in planned.items():
        assert pushed[product_id]["status"] == "pushed", pushed[product_id]
        assert world.finding_hosts(world.dojo.products[product_id]) == pairs
        [test] = world.tests_of(world.dojo.products[product_id])
        stored = [f for f in world.dojo.findings.values() if f.test_id == test.id]
        before[product_id] = (stored, active_hosts(world, stored))
    calls.clear()

    second = await world.upload(path, content=case.content, scan_type=scan_type)

    assert second.status_code == 201, second.text
    again = {p["product_id"]: p for p in second.json()["products"]}
    assert set(again) == set(planned)
    for product_id, result in again.items():
        assert (result["status"], result["push"]) == ("pushed", "reimport")
        assert result["test_id"] == pushed[product_id]["test_id"]
        [share] = [parsed for kind, product, parsed in calls if product == product_id]
        assert shape(share) == shape(shares[product_id])
        stored, active = before[product_id]
        pairs, created = after_reimport(scan_type, stored, active, share)
        assert result["statistics"]["delta"]["created"]["total"]["total"] == created
        assert world.finding_hosts(world.dojo.products[product_id]) == pairs


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="DefectDojo's Nexpose parser derives a 'Host Up' finding for every node a file "
    "holds, so a share holding only port-level records of a node still brings that node's "
    "Host Up into the product, whichever way its own record was routed (here: ambiguous).",
)
async def test_nexpose_node_split_by_port_keeps_host_up_where_it_was_routed(
    world: World,
) -> None:
    path = SCANS / "nexpose" / "many_vulns.xml"
    host_owner = world.product("Hosts", world.alice)
    port_owner = world.product("SSH", world.alice)
    world.dojo.add_endpoint(host_owner.id, "192.168.1.1")
    world.dojo.add_endpoint(port_owner.id, "192.168.1.1", port=22, protocol="ssh")
    await world.refresh_index()

    plan = (await world.upload(path, scan_type="Nexpose Scan", dry_run="true")).json()
    await world.upload(path, scan_type="Nexpose Scan")

    [share] = [p for p in plan["products"] if p["product_id"] == port_owner.id]
    assert world.finding_hosts(port_owner) == plan_pairs(share["items"])
