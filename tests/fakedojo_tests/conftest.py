"""Fixtures for testing the DefectDojo double against the recordings in shared/defectdojo."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakedojo import FakeDojoState, FakeDojoTransport, create_fakedojo
from tests.fakedojo.models import Engagement, Product, User

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SMART_UPLOAD_SHARED", REPO.parent / "shared"))
RECORDINGS = {
    "3.2": SHARED / "defectdojo" / "responses",
    "2.58": SHARED / "defectdojo" / "2.58.4" / "responses",
}
SCANS = SHARED / "scans"
BASE_URL = "http://127.0.0.1:8080"


def recorded(version: str, name: str) -> dict[str, Any]:
    """One recorded exchange: {"request": {...}, "status": ..., "body": ...}."""
    data: dict[str, Any] = json.loads((RECORDINGS[version] / f"{name}.json").read_text())
    return data


def scan(relative: str) -> bytes:
    return (SCANS / relative).read_bytes()


@dataclass
class World:
    """A seeded double: an admin, a product with an engagement, and a client factory."""

    state: FakeDojoState
    version: str
    admin: User
    product: Product
    engagement: Engagement
    client: Callable[[User | None], httpx.AsyncClient]


@pytest.fixture(params=["3.2", "2.58"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def world(version: str) -> AsyncIterator[World]:
    state = FakeDojoState()
    admin = state.add_user("admin", is_superuser=True, is_staff=True, first_name="Admin")
    product_type = state.add_product_type("Recorded PT")
    product = state.add_product("Recorded Product", prod_type=product_type)
    engagement = state.add_engagement(product.id)
    app = create_fakedojo(state, version=version)
    clients: list[httpx.AsyncClient] = []

    def client(user: User | None = admin) -> httpx.AsyncClient:
        headers = {"Authorization": f"Token {user.token}"} if user is not None else {}
        made = httpx.AsyncClient(
            transport=FakeDojoTransport(app), base_url=BASE_URL, headers=headers
        )
        clients.append(made)
        return made

    yield World(state, version, admin, product, engagement, client)
    for made in clients:
        await made.aclose()


async def import_file(
    http: httpx.AsyncClient,
    engagement_id: int,
    name: str,
    content: bytes,
    scan_type: str = "Tenable Scan",
    **fields: str,
) -> httpx.Response:
    data = {
        "scan_type": scan_type,
        "engagement": str(engagement_id),
        "active": "true",
        "verified": "true",
        **fields,
    }
    return await http.post("/api/v2/import-scan/", data=data, files={"file": (name, content)})


async def reimport_file(
    http: httpx.AsyncClient,
    test_id: int,
    name: str,
    content: bytes,
    scan_type: str = "Tenable Scan",
    **fields: str,
) -> httpx.Response:
    data = {
        "scan_type": scan_type,
        "test": str(test_id),
        "active": "true",
        "verified": "true",
        **fields,
    }
    return await http.post("/api/v2/reimport-scan/", data=data, files={"file": (name, content)})


def same_shape(actual: Any, expected: Any, where: str = "body") -> None:
    """Same keys (recursively, through the first list item) and same JSON types or null."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(expected), f"{where}: {set(actual) ^ set(expected)}"
        for key, value in expected.items():
            same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list) and expected and actual:
        same_shape(actual[0], expected[0], f"{where}[0]")
