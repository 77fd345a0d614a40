"""Plumbing shared by the benchmarks: the machine, child processes, servers, a database.

Every benchmark figure is printed with the machine it ran on (`machine()`), measures memory
as the high-water RSS of a process of its own (`peak_rss_mb`, `own_peak_rss_mb`), and runs
its servers as real processes on loopback that are always stopped (`Server`). Nothing here
depends on packages outside the service's own and the standard library: CPU time and RSS
come from /proc, so the smoke runs work on any Linux machine that runs the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ADMIN_DATABASE_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def machine() -> dict[str, object]:
    """What the figures were measured on: cores, memory, CPU model, Python."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "cpu": model,
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }


def machine_line(*, load: bool = True) -> str:
    info = machine()
    line = (
        f"{info['nproc']} cores ({info['cpu']}), {info['memory_gib']} GiB, Python {info['python']}"
    )
    return f"{line}, load average {info['load_average_1m']}" if load else line


def own_peak_rss_mb() -> float:
    """This process's RSS high-water mark since it was exec'd.

    Read from /proc (VmHWM) rather than `ru_maxrss`: Linux carries `ru_maxrss` across
    fork + exec, so a child would report at least its parent's size at the fork.
    """
    try:
        return peak_rss_mb(os.getpid())
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def peak_rss_mb(pid: int) -> float:
    """The RSS high-water mark of a live process (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_case(argv: Sequence[str], *, timeout: float) -> dict[str, object]:
    """Run `python -m ...argv` in a fresh process; its last stdout line is a JSON result.

    The child reports its own peak RSS (`own_peak_rss_mb`), so cases never pollute each
    other's memory figure.
    """
    done = subprocess.run(  # noqa: S603 - this interpreter, our own arguments
        [PYTHON, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"case {' '.join(argv)} failed:\n{done.stderr[-4000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class Profiler:
    """py-spy attached to the server for the timed part; collapsed stacks to a file."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen(  # noqa: S603 - our own py-spy, fixed arguments
            [str(Path(PYTHON).parent / "py-spy"), "record", "--pid", str(pid),
             "--rate", "100", "--format", "raw", "--output", str(out), "--threads"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


IDLE_FRAMES = ("Condition.wait ", "_worker ", "wait (threading")
"""Leaf frames of threads that wait for work (the thread pool): not the service's time."""


def top_frames(collapsed: Path, count: int = 25) -> list[tuple[str, float, float]]:
    """(function, self %, total %) of the costliest frames in a py-spy raw profile, as
    shares of the busy samples (samples of idle pool threads left out).

    Ranked by total (inclusive) share, so the service's own functions show up whatever
    library call they end in.
    """
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    samples = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        weight = int(number)
        frames = [f for f in stack.split(";") if f and not f.startswith("thread")]
        if not frames or frames[-1].startswith(IDLE_FRAMES):
            continue
        samples += weight
        own[frames[-1]] = own.get(frames[-1], 0) + weight
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + weight
    mine = {name: n for name, n in inclusive.items() if "(app/" in name}
    ranked = sorted(mine.items(), key=lambda item: -item[1])[:count]
    total = max(samples, 1)
    return [(name, 100 * own.get(name, 0) / total, 100 * n / total) for name, n in ranked]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process on loopback, started by `start` and always stopped by `stop`."""

    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, ready_path: str, timeout: float = 60.0) -> None:
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(  # noqa: S603 - our own server commands
            self.argv,
            cwd=REPO,
            env={**os.environ, **self.env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.argv[:4]} exited with {self.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + ready_path, timeout=2).status_code < 500:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.argv[:4]} did not answer on {self.url} in {timeout} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def running(server: Server, *, ready_path: str, timeout: float = 60.0) -> Iterator[Server]:
    server.start(ready_path=ready_path, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


def fakedojo(port: int, seed_file: Path, *, latency: bool, log: Path | None = None) -> Server:
    argv = [PYTHON, "-m", "tests.fakedojo", "--port", str(port), "--seed-file", str(seed_file)]
    return Server([*argv, "--latency"] if latency else argv, port, log=log)


def service(port: int, env: dict[str, str], *, log: Path | None = None) -> Server:
    """The service as in production: uvicorn, one process."""
    argv = [PYTHON, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    return Server([*argv, "--log-level", "warning", "--no-access-log"], port, env=env, log=log)


def database_url(name: str) -> str:
    return ADMIN_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"


async def _recreate(name: str, *, drop_only: bool) -> None:
    connection = await asyncpg.connect(ADMIN_DATABASE_URL)
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[str]:
    """A fresh database migrated to head by Alembic; dropped afterwards."""
    asyncio.run(_recreate(name, drop_only=False))
    url = database_url(name)
    try:
        subprocess.run(  # noqa: S603 - the venv's alembic
            [str(Path(PYTHON).parent / "alembic"), "upgrade", "head"],
            cwd=REPO,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
            capture_output=True,
        )
        yield url
    finally:
        asyncio.run(_recreate(name, drop_only=True))


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which `fraction` of `values` fall (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def write_results(path: Path | None, results: object) -> None:
    """Save the results (with the machine) as JSON for the docs and plots."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"machine": machine(), "results": results}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
