"""An upload split over many products looks its engagements and tests up in one walk of each
of DefectDojo's lists, not once per product, and still creates the missing engagements once
each and pushes into the newest of several, as a lookup per product would."""

from __future__ import annotations

import io
from pathlib import Path

from app.formats.registry import FORMATS
from bench.generate import generate
from tests.e2e.conftest import World

PRODUCTS = 12
ENGAGEMENTS = "/api/v2/engagements/"
TESTS = "/api/v2/tests/"


def _calls(world: World, method: str, path: str = ENGAGEMENTS) -> int:
    return sum(1 for c in world.dojo.calls if c.method == method and c.path == path)


async def test_engagements_are_looked_up_once_for_the_whole_upload(
    world: World, tmp_path: Path
) -> None:
    scan = io.BytesIO()
    generate("tenable-xml", scan, hosts=PRODUCTS, findings=2, seed=11)
    path = tmp_path / "many.nessus"
    path.write_bytes(scan.getvalue())
    with path.open("rb") as source:
        hosts = sorted({r.host.dd_host or "" for r in FORMATS["tenable-xml"].records(source)})
    products = []
    for number, host in enumerate(hosts):
        product = world.product(f"Team {number}", world.alice)
        world.dojo.add_endpoint(product.id, host)
        products.append(product)
    with_engagement = products[: PRODUCTS // 2]
    for product in with_engagement:
        world.dojo.add_engagement(product.id)
    newest = world.dojo.add_engagement(with_engagement[0].id)
    world.dojo.add_engagement(with_engagement[1].id, "Another engagement")
    await world.refresh_index()
    world.dojo.calls.clear()

    first = (await world.upload(path)).json()

    assert {p["status"] for p in first["products"]} == {"pushed"}
    missing = PRODUCTS - len(with_engagement)
    assert _calls(world, "GET") == 1 + missing  # one walk, then a lookup per missing one
    assert _calls(world, "POST") == missing
    # one walk, then a lookup in each engagement that existed (none in the created ones)
    assert _calls(world, "GET", TESTS) == 1 + len(with_engagement)
    [test] = world.tests_of(with_engagement[0])
    assert test.engagement_id == newest.id
    for product in products:
        engagements = {
            e.id
            for e in world.dojo.engagements.values()
            if e.product_id == product.id and e.name == "Smart Upload"
        }
        assert {t.engagement_id for t in world.tests_of(product)} <= engagements
        assert len(world.tests_of(product)) == 1

    world.dojo.calls.clear()
    second = (await world.upload(path)).json()

    assert {p["push"] for p in second["products"]} == {"reimport"}
    assert (_calls(world, "GET"), _calls(world, "POST"), _calls(world, "GET", TESTS)) == (1, 0, 1)
    assert all(len(world.tests_of(product)) == 1 for product in products)


async def test_a_known_test_that_is_gone_is_looked_up_again(world: World, tmp_path: Path) -> None:
    scan = io.BytesIO()
    generate("tenable-xml", scan, hosts=PRODUCTS, findings=2, seed=12)
    path = tmp_path / "many.nessus"
    path.write_bytes(scan.getvalue())
    with path.open("rb") as source:
        hosts = sorted({r.host.dd_host or "" for r in FORMATS["tenable-xml"].records(source)})
    for number, host in enumerate(hosts):
        world.dojo.add_endpoint(world.product(f"Team {number}", world.alice).id, host)
    await world.refresh_index()
    await world.upload(path)
    world.dojo.faults.fail("POST", "/api/v2/reimport-scan/", status=404, times=1)
    world.dojo.calls.clear()

    second = (await world.upload(path)).json()

    assert {(p["status"], p["push"]) for p in second["products"]} == {("pushed", "reimport")}
    assert _calls(world, "GET", TESTS) == 2  # the walk, then one lookup after the 404
    assert len(world.dojo.tests) == PRODUCTS
