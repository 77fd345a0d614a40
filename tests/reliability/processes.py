"""The service and the DefectDojo double as real processes on loopback ports.

Used by the kill tests (a SIGKILLed service must be a real process) and the two-process
worker test. Every wait is a bounded poll on something observable (a port answering, a
process ending, an upload's status); nothing waits for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from tests.conftest import REPO, TABLES
from tests.reliability.seeds import ADMIN_TOKEN, auth

T = TypeVar("T")
POLL_SECONDS = 0.05
END_STATES = frozenset({"completed", "completed_with_errors", "failed"})
SECRET_KEY = "reliability-tests-shared-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def poll(check: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """`check()` until it returns something other than None, for at most `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_SECONDS)


@dataclass
class Process:
    """A child process, its log file, and the base URL it serves."""

    popen: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def wait_killed(self, timeout: float = 60) -> int:
        """Wait for the process to die by itself (a crash point); its return code."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the process did not stop; log: {self.tail()}") from None

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self) -> str:
        return self.text()[-3000:]


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _wait_answering(process: Process, path: str) -> Process:
    def answering() -> bool | None:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.url} exited at start: {process.tail()}")
        with contextlib.suppress(httpx.TransportError):
            httpx.get(process.url + path, timeout=1)
            return True
        return None

    poll(answering, timeout=30, what=f"{process.url} to answer")
    return process


def start_dojo(seed: dict[str, Any], directory: Path) -> Process:
    """`python -m tests.fakedojo` seeded with `seed`, on a free port."""
    seed_file = directory / "seed.json"
    seed_file.write_text(json.dumps(seed), encoding="utf-8")
    port = free_port()
    args = [sys.executable, "-m", "tests.fakedojo", "--port", str(port), "--seed-file"]
    popen = _spawn([*args, str(seed_file)], dict(os.environ), directory / "dojo.log")
    return _wait_answering(
        Process(popen, f"http://127.0.0.1:{port}", directory / "dojo.log"), "/api/v2/"
    )


@dataclass
class ServiceConfig:
    database_url: str
    dd_url: str
    service_token: str
    directory: Path
    extra: dict[str, str] = field(default_factory=dict)

    def environment(self, **more: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("SMART_UPLOAD_") and key not in {"DD_URL", "DD_API_TOKEN"}
        }
        env.update(
            DATABASE_URL=self.database_url,
            DD_URL=self.dd_url,
            DD_API_TOKEN=self.service_token,
            SMART_UPLOAD_SECRET_KEY=SECRET_KEY,
            SMART_UPLOAD_LEASE_SECONDS="1",
            SMART_UPLOAD_WORKER_POLL_SECONDS="0.05",
            SMART_UPLOAD_INDEX_REFRESH_SECONDS="0",
            SMART_UPLOAD_DD_RETRY_INITIAL_WAIT_SECONDS="0.05",
            SMART_UPLOAD_DD_RETRY_MAX_WAIT_SECONDS="0.2",
            SMART_UPLOAD_LOG_LEVEL="WARNING",
        )
        env.update(self.extra)
        env.update(more)
        return env


def start_service(config: ServiceConfig, **env: str) -> Process:
    """`uvicorn app.main:app` on a free port, worker included unless env turns it off."""
    port = free_port()
    log = config.directory / "service.log"
    args = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    popen = _spawn([*args, "--port", str(port)], config.environment(**env), log)
    return _wait_answering(Process(popen, f"http://127.0.0.1:{port}", log), "/health")


def start_worker(config: ServiceConfig, workers: int = 1, **env: str) -> Process:
    """`run_worker(workers)` alone, as `smart-upload worker` runs it."""
    log = config.directory / "worker.log"
    code = f"from app.jobs.worker import run_worker; run_worker({workers})"
    popen = _spawn([sys.executable, "-c", code], config.environment(**env), log)
    return Process(popen, "", log)


def truncate(database_url: str) -> None:
    """Empty the service's tables (the subprocess tests share the session's database)."""

    async def run() -> None:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
        finally:
            await connection.close()

    asyncio.run(run())


def dojo_rows(dojo: Process, path: str) -> list[dict[str, Any]]:
    """Every row of one of the double's lists, read as its admin."""
    response = httpx.get(f"{dojo.url}{path}?limit=10000", headers=auth(ADMIN_TOKEN), timeout=10)
    rows: list[dict[str, Any]] = response.json()["results"]
    return rows
