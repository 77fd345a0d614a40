"""Fault injection, the call log, the latency model and the in-process transport.

Reliability tests script DefectDojo misbehaving through `state.faults`:

    state.faults.fail("POST", "/api/v2/reimport-scan/", status=500, times=2)
    state.faults.throttle("GET", "/api/v2/endpoints/", retry_after=3)
    state.faults.delay(None, "/api/v2/import-scan/", seconds=0.2)
    state.faults.drop_connection("POST", "/api/v2/import-scan/")   # processed, then dropped

A rule matches on method (None = any) and path (exact, or a prefix ending in `*`); `skip`
lets that many matching calls through first, so `skip=2` fails the third; `times=None`
keeps the rule forever. The first rule that fires decides a call's fault.

A dropped connection happens *after* DefectDojo applied the request, the case that makes
retries dangerous. The app sends the response head, then raises `ConnectionDropped`:
uvicorn then closes the socket mid-response (the client sees a protocol/read error), and
`FakeDojoTransport` turns it into `httpx.ReadError` for in-process clients.

Every call lands in `faults.calls` as `CallRecord(method, path, status)`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INTERNAL_ERROR_BODY = {
    "message": "Internal server error, check logs for details",
    "pro": ["Pro comes with support. Try today for free or email us at hello@defectdojo.com"],
}


class ConnectionDropped(Exception):
    """Raised by the app after processing a call whose connection must be dropped."""


class CallRecord(NamedTuple):
    method: str
    path: str
    status: int


@dataclass
class FaultRule:
    """One scripted misbehaviour; see the module docstring."""

    method: str | None
    path: str | None
    status: int | None = None
    body: Any = None
    retry_after: float | None = None
    delay_seconds: float = 0.0
    drop: bool = False
    times: int | None = 1
    skip: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.path is None or self.path == path:
            return True
        return self.path.endswith("*") and path.startswith(self.path[:-1])

    def take(self) -> bool:
        """Count one matching call; True when the fault applies to it."""
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        self.fired += 1
        return True


@dataclass
class Faults:
    rules: list[FaultRule] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def fail(
        self,
        method: str | None,
        path: str | None,
        *,
        status: int = 500,
        times: int | None = 1,
        skip: int = 0,
        body: Any = None,
    ) -> FaultRule:
        """Answer `status` instead of processing (default body: DefectDojo's 500 body)."""
        return self.add(FaultRule(method, path, status=status, body=body, times=times, skip=skip))

    def throttle(
        self,
        method: str | None,
        path: str | None,
        *,
        retry_after: float = 1,
        times: int | None = 1,
        skip: int = 0,
    ) -> FaultRule:
        """Answer 429 with `Retry-After` instead of processing."""
        return self.add(
            FaultRule(
                method,
                path,
                status=429,
                retry_after=retry_after,
                body={"detail": "Request was throttled."},
                times=times,
                skip=skip,
            )
        )

    def delay(
        self,
        method: str | None,
        path: str | None,
        *,
        seconds: float,
        times: int | None = None,
        skip: int = 0,
    ) -> FaultRule:
        """Wait before processing (the call then succeeds)."""
        return self.add(FaultRule(method, path, delay_seconds=seconds, times=times, skip=skip))

    def drop_connection(
        self, method: str | None, path: str | None, *, times: int | None = 1, skip: int = 0
    ) -> FaultRule:
        """Process the call, then drop the connection instead of answering."""
        return self.add(FaultRule(method, path, drop=True, times=times, skip=skip))

    def clear(self) -> None:
        self.rules.clear()
        self.calls.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        for rule in self.rules:
            if rule.matches(method, path) and rule.take():
                return rule
        return None


@dataclass(frozen=True)
class LatencyModel:
    """DefectDojo's own time, for benchmarks (off unless passed to `create_fakedojo`).

    Defaults fitted to the timings recorded on a 2-core DefectDojo 3.2 (shared/defectdojo):
    a 7-host, 32-finding, ~290-status .nessus import ≈ 0.5 s
    (0.15 + 32 x 0.004 + 290 x 0.0008), a 13-finding Nmap import ≈ 0.2-0.4 s, and DD's
    parser at ~165 s for a 2,000-host file is dominated by its (finding, host) statuses.
    """

    request_seconds: float = 0.0
    import_seconds: float = 0.15
    per_finding_seconds: float = 0.004
    per_endpoint_status_seconds: float = 0.0008
    spent: list[float] = field(default_factory=list, compare=False, repr=False)
    """The cost of every import served so far, so a benchmark can tell DefectDojo's share of
    its time (`GET /__fakedojo/latency/`, not a DefectDojo API)."""

    def import_cost(self, findings: int, endpoint_statuses: int) -> float:
        return (
            self.import_seconds
            + findings * self.per_finding_seconds
            + endpoint_statuses * self.per_endpoint_status_seconds
        )

    def spend(self, findings: int, endpoint_statuses: int) -> float:
        """The cost of one import, recorded in `spent`."""
        cost = self.import_cost(findings, endpoint_statuses)
        self.spent.append(cost)
        return cost


class FaultMiddleware:
    """Pure ASGI middleware: applies `Faults` and records every call."""

    def __init__(self, app: ASGIApp, faults: Faults, latency: LatencyModel | None) -> None:
        self.app = app
        self.faults = faults
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = str(scope["method"]), str(scope["path"])
        if self.latency is not None and self.latency.request_seconds:
            await asyncio.sleep(self.latency.request_seconds)
        rule = self.faults.take(method, path)
        if rule is not None and rule.delay_seconds:
            await asyncio.sleep(rule.delay_seconds)
        if rule is not None and rule.status is not None:
            await self._answer_fault(rule, send)
            self.faults.calls.append(CallRecord(method, path, rule.status))
            return
        status = 500
        held: list[Message] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            if rule is not None and rule.drop:
                held.append(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.faults.calls.append(CallRecord(method, path, status))
        if rule is not None and rule.drop:
            start = next((m for m in held if m["type"] == "http.response.start"), None)
            if start is not None:
                await send(start)
            raise ConnectionDropped(f"{method} {path} processed ({status}), connection dropped")

    @staticmethod
    async def _answer_fault(rule: FaultRule, send: Send) -> None:
        body = (
            rule.body
            if rule.body is not None
            else (INTERNAL_ERROR_BODY if rule.status == 500 else {"detail": "Injected fault"})
        )
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        content_type = b"text/html" if isinstance(body, str) else b"application/json"
        headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())]
        if rule.retry_after is not None:
            headers.append((b"retry-after", f"{rule.retry_after:g}".encode()))
        await send({"type": "http.response.start", "status": rule.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


class FakeDojoTransport(httpx.AsyncBaseTransport):
    """`httpx.ASGITransport` over the double, where a dropped connection is `httpx.ReadError`."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.ReadError(str(exc), request=request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()
