"""Schemathesis against the service's own OpenAPI schema: every operation, with a valid
token, gets generated requests (valid and invalid); no answer may be a 5xx, and every
answer must be a documented status with the documented content type and body schema.

The service runs under uvicorn in a thread of its own, with the DefectDojo double inside
it, over a database holding an upload and its unassigned findings.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.settings import Settings
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.fakedojo.app import create_fakedojo
from tests.fakedojo.faults import FakeDojoTransport
from tests.fakedojo.state import FakeDojoState
from tests.reliability.processes import free_port, poll, truncate

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
schema = schemathesis.openapi.from_dict(create_app().openapi())


class LiveService:
    """The app served by uvicorn in a background thread with its own event loop."""

    def __init__(self, database_url: str) -> None:
        state = FakeDojoState()
        self.admin = state.add_user("admin", is_superuser=True, is_staff=True)
        service = state.add_user("smart-upload-index", is_staff=True, is_superuser=True)
        product = state.add_product("Payments", members=[self.admin])
        state.add_endpoint(product.id, "qa3app01")
        app = create_app(
            Settings(
                database_url=database_url,
                dd_url="http://dojo.test",
                dd_api_token=SecretStr(service.token),
                run_worker=False,
                index_refresh_seconds=0,
                dd_retry_attempts=1,
            ),
            dojo_transport=FakeDojoTransport(create_fakedojo(state)),
        )
        self.url = f"http://127.0.0.1:{free_port()}"
        port = int(self.url.rsplit(":", 1)[1])
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")
        )
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.admin.token}"}

    def __enter__(self) -> LiveService:
        self.thread.start()
        poll(lambda: self.server.started or None, timeout=30, what="the service to start")
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def live(database_url: str) -> Iterator[LiveService]:
    truncate(database_url)
    with LiveService(database_url) as service:
        refreshed = httpx.post(service.url + "/api/v2/smart_upload/index/", headers=service.headers)
        assert refreshed.status_code == 200, refreshed.text
        uploaded = httpx.post(
            service.url + "/api/v2/smart_upload_import/",
            headers=service.headers,
            data={"scan_type": "Tenable Scan"},
            files={"file": (NESSUS_SEVEN_HOSTS.name, NESSUS_SEVEN_HOSTS.read_bytes())},
            timeout=60,
        )
        assert uploaded.status_code == 201, uploaded.text
        yield service


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,  # the same cases on every run; raise max_examples to explore more
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_as_documented(case: schemathesis.Case, live: LiveService) -> None:
    case.call_and_validate(base_url=live.url, headers=live.headers, checks=CHECKS)
