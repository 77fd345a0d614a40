"""`smart-upload import` against the real service: the app served by uvicorn on loopback,
a real PostgreSQL, and DefectDojo's test double behind the app. Both ways an upload is
answered: done within the request (201), and accepted then run by the worker (202)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app import cli
from app.main import create_app
from app.settings import Settings
from tests.cli.standin import serve_asgi
from tests.e2e.conftest import NESSUS_SEVEN_HOSTS
from tests.fakedojo.app import create_fakedojo
from tests.fakedojo.state import FakeDojoState


@dataclass
class Running:
    base_url: str
    dojo: FakeDojoState
    payments_id: int


def start(database_url: str, *, wait_max_bytes: int) -> Iterator[Running]:
    dojo = FakeDojoState()
    service_user = dojo.add_user("smart-upload", is_superuser=True, is_staff=True)
    alice = dojo.add_user("alice", token="a" * 40)
    payments = dojo.add_product("Payments", members=[alice])
    dojo.add_endpoint(payments.id, "qa3app01")
    settings = Settings(
        database_url=database_url,
        dd_url="http://dojo.test",
        dd_api_token=SecretStr(service_user.token),
        wait_max_bytes=wait_max_bytes,
        worker_poll_seconds=0.05,
        index_refresh_seconds=0,
        dd_retry_initial_wait_seconds=0,
        dd_retry_max_wait_seconds=0,
    )
    transport = httpx.ASGITransport(app=create_fakedojo(dojo, version="3.2"))
    with serve_asgi(create_app(settings, dojo_transport=transport), lifespan="on") as base_url:
        index = httpx.post(
            f"{base_url}/api/v2/smart_upload/index/",
            headers={"Authorization": f"Token {service_user.token}"},
            timeout=30,
        )
        assert index.status_code == 200, index.text
        yield Running(base_url, dojo, payments.id)


@pytest.fixture
def at_once(clean_database: str) -> Iterator[Running]:
    yield from start(clean_database, wait_max_bytes=1024**3)


@pytest.fixture
def in_background(clean_database: str) -> Iterator[Running]:
    yield from start(clean_database, wait_max_bytes=0)


def run(
    service: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    *options: str,
) -> tuple[int, dict[str, Any]]:  # fmt: skip
    monkeypatch.setenv("SMART_UPLOAD_URL", service.base_url)
    monkeypatch.setenv("DD_API_KEY", "a" * 40)
    code = cli.main(["import", str(NESSUS_SEVEN_HOSTS), "--scan-type", "Tenable Scan",
                     "--json", *options])  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert isinstance(summary, dict)
    return code, summary


def test_an_upload_done_within_the_request(
    at_once: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, summary = run(at_once, capsys, monkeypatch, "--fail-on", "unassigned")

    assert code == 1  # hosts other than qa3app01 belong to no product
    assert summary["status"] == "completed"
    [product] = summary["products"]
    assert (product["product_id"], product["status"]) == (at_once.payments_id, "pushed")
    assert product["hosts"] == ["qa3app01"]
    assert set(summary["unassigned"]["by_reason"]) == {"no_match"}


def test_an_upload_run_in_the_background_is_followed_to_its_end(
    in_background: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    accepted_code, accepted = run(in_background, capsys, monkeypatch, "--no-wait")
    code, summary = run(in_background, capsys, monkeypatch, "--fail-on", "push_failed")

    assert (accepted_code, accepted["status"]) == (0, "queued")
    assert code == 0
    assert summary["status"] == "completed"
    assert summary["id"] != accepted["id"]
    assert [p["product_id"] for p in summary["products"]] == [in_background.payments_id]
