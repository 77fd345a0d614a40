"""The service as a pipeline sees it: the real app over HTTP, a real PostgreSQL, and the
DefectDojo test double behind the app's httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr

from app.main import create_app
from app.settings import Settings
from tests.conftest import SCANS
from tests.fakedojo.app import create_fakedojo
from tests.fakedojo.models import Product, User
from tests.fakedojo.state import FakeDojoState

NESSUS_SEVEN_HOSTS = SCANS / "tenable" / "nessus_v_unknown.xml"


@dataclass
class World:
    dojo: FakeDojoState
    app: FastAPI
    client: httpx.AsyncClient
    admin: User
    alice: User
    bob: User

    def auth(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Token {user.token}"}

    async def upload(
        self,
        path: Path,
        *,
        user: User | None = None,
        scan_type: str | None = "Tenable Scan",
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        data = {key: str(value) for key, value in fields.items()}
        if scan_type is not None:
            data["scan_type"] = scan_type
        body = path.read_bytes() if content is None else content
        return await self.client.post(
            "/api/v2/smart_upload_import/",
            headers={**self.auth(user or self.alice), **(headers or {})},
            data=data,
            files={"file": (path.name, body)},
        )

    async def refresh_index(self) -> None:
        response = await self.client.post(
            "/api/v2/smart_upload/index/", headers=self.auth(self.admin)
        )
        assert response.status_code == 200, response.text

    async def unassigned(self, user: User | None = None, **params: Any) -> dict[str, Any]:
        response = await self.client.get(
            "/api/v2/smart_upload/unassigned_findings/",
            headers=self.auth(user or self.alice),
            params={"limit": 1000, **params},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def unassigned_action(
        self, action: str, body: dict[str, Any], *, user: User | None = None
    ) -> httpx.Response:
        """POST one of the actions on unassigned findings (assign, create_product, disregard)."""
        return await self.client.post(
            f"/api/v2/smart_upload/unassigned_findings/{action}/",
            headers=self.auth(user or self.alice),
            json=body,
        )

    def product(self, name: str, *members: User) -> Product:
        return self.dojo.add_product(name, members=members)

    def tests_of(self, product: Product) -> list[Any]:
        engagements = {e.id for e in self.dojo.engagements.values() if e.product_id == product.id}
        return [t for t in self.dojo.tests.values() if t.engagement_id in engagements]

    def finding_hosts(self, product: Product) -> set[tuple[str, str]]:
        """(finding title, endpoint host) pairs of active endpoint statuses in the product."""
        tests = {t.id for t in self.tests_of(product)}
        pairs = set()
        for finding in self.dojo.findings.values():
            if finding.test_id not in tests:
                continue
            for status in self.dojo.statuses_of(finding.id):
                if not status.mitigated:
                    pairs.add((finding.title, self.dojo.endpoints[status.endpoint_id].host))
        return pairs


@pytest.fixture
def dojo_version() -> str:
    return "3.2"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test module changes for its World (override this fixture there)."""
    return {}


@pytest.fixture
async def world(
    clean_database: str, dojo_version: str, settings_overrides: dict[str, Any]
) -> AsyncIterator[World]:
    state = FakeDojoState()
    admin = state.add_user("admin", is_superuser=True, is_staff=True)
    service = state.add_user("smart-upload-index", is_staff=True, is_superuser=True)
    alice = state.add_user("alice")
    bob = state.add_user("bob")
    settings = Settings(
        database_url=clean_database,
        dd_url="http://dojo.test",
        dd_api_token=SecretStr(service.token),
        run_worker=False,
        index_refresh_seconds=0,
        dd_retry_initial_wait_seconds=0,
        dd_retry_max_wait_seconds=0,
        **settings_overrides,
    )
    dojo_app = create_fakedojo(state, version=dojo_version)
    app = create_app(settings, dojo_transport=httpx.ASGITransport(app=dojo_app))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://su.test") as client:
            yield World(dojo=state, app=app, client=client, admin=admin, alice=alice, bob=bob)
