"""Shared helpers: DefectDojo's recorded answers and clients over `httpx.MockTransport`."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Coroutine
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.dojo.client import DojoClient, DojoTimeouts
from app.dojo.retry import RetryPolicy

REPO = Path(__file__).resolve().parents[2]
DEFECTDOJO = Path(os.environ.get("SMART_UPLOAD_SHARED", REPO.parent / "shared")) / "defectdojo"
VERSIONS = {"3.2.0": DEFECTDOJO / "responses", "2.58.4": DEFECTDOJO / "2.58.4" / "responses"}

TEST_TOKEN = "test-token-0123"

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


def recording(name: str, version: str = "3.2.0") -> dict[str, Any]:
    """A recorded exchange: {"request": {"method", "path"}, "status", "body"}."""
    data: dict[str, Any] = json.loads((VERSIONS[version] / f"{name}.json").read_text())
    return data


def replay(name: str, version: str = "3.2.0") -> httpx.Response:
    recorded = recording(name, version)
    return httpx.Response(recorded["status"], json=recorded["body"])


class FakeSleep:
    """Stands in for asyncio.sleep in a RetryPolicy: records the waits, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def policy(fake_sleep: FakeSleep) -> RetryPolicy:
    return RetryPolicy(
        attempts=4, initial_wait=0.01, max_wait=20.0, deadline=60.0, sleep=fake_sleep
    )


ClientFactory = Callable[..., DojoClient]


@pytest.fixture
async def make_client(policy: RetryPolicy) -> AsyncIterator[ClientFactory]:
    """Builds DojoClients whose HTTP goes to a handler; closes their httpx clients after."""
    opened: list[httpx.AsyncClient] = []

    def build(
        handler: Handler,
        *,
        token: str | None = TEST_TOKEN,
        policy: RetryPolicy = policy,
        timeouts: DojoTimeouts | None = None,
    ) -> DojoClient:
        http = httpx.AsyncClient(
            base_url="http://dojo.test", transport=httpx.MockTransport(handler)
        )
        opened.append(http)
        return DojoClient(http, token=token, policy=policy, timeouts=timeouts)

    yield build
    for http in opened:
        await http.aclose()


def form_parts(request: httpx.Request) -> list[Message]:
    """The parts of a multipart request, parsed by the standard library's MIME parser."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    return list(message.iter_parts())


def form_fields(request: httpx.Request) -> dict[str, list[str]]:
    """The non-file fields of a multipart request, each with all its values in order."""
    fields: dict[str, list[str]] = {}
    for part in form_parts(request):
        if part.get_filename() is None:
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            assert isinstance(name, str) and isinstance(payload, bytes)
            fields.setdefault(name, []).append(payload.decode())
    return fields


class Server:
    """A scripted DefectDojo: answers each request with the next outcome queued for its
    method and path (a response, or an httpx error to raise; the last one repeats), and
    keeps every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._queues: dict[tuple[str, str], list[httpx.Response | Exception]] = {}

    def on(self, method: str, path: str, *outcomes: httpx.Response | Exception) -> Server:
        self._queues.setdefault((method, path), []).extend(outcomes)
        return self

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self._queues.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(418, json={"detail": f"unscripted {request.url.path}"})
        outcome = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome.status_code, headers=outcome.headers, content=outcome.content)
