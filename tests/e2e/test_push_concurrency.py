"""More pushes in flight than the database pool has connections must not starve the pool:
each push holds its engagement lock on a connection of its own while DefectDojo imports."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from app.formats.registry import FORMATS
from bench.generate import generate
from tests.e2e.conftest import World

PRODUCTS = 24
"""More than the pool's 10 connections plus 10 overflow."""


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"push_concurrency": PRODUCTS, "max_pushes_in_flight": PRODUCTS}


async def test_every_push_completes_when_pushes_outnumber_the_pool(
    world: World, tmp_path: Path
) -> None:
    scan = io.BytesIO()
    generate("tenable-xml", scan, hosts=PRODUCTS, findings=2, seed=7)
    path = tmp_path / "many.nessus"
    path.write_bytes(scan.getvalue())
    with path.open("rb") as source:
        hosts = sorted({r.host.dd_host for r in FORMATS["tenable-xml"].records(source)})
    assert len(hosts) == PRODUCTS
    for number, host in enumerate(hosts):
        product = world.product(f"Team {number}", world.alice)
        world.dojo.add_endpoint(product.id, host or "")
    await world.refresh_index()
    world.dojo.faults.delay("POST", "/api/v2/import-scan/", seconds=0.2)

    summary = (await asyncio.wait_for(world.upload(path), timeout=120)).json()

    assert len(summary["products"]) == PRODUCTS
    assert {p["status"] for p in summary["products"]} == {"pushed"}
