"""`smart-upload`: the command line of Smart Upload, for CI pipelines and for running the service.

    smart-upload import FILE [options]   upload a scan, wait for the result, print its summary
    smart-upload serve [--host H] [--port P]   run the API with uvicorn (app.main:app)
    smart-upload worker [--workers N]    run the upload worker alone (app.jobs.worker)

`import` reads its configuration from the environment: ``SMART_UPLOAD_URL``, the base URL of
the service (or of DefectDojo's nginx in front of it, e.g. ``http://localhost:8080``), and
``DD_API_KEY``, the caller's DefectDojo API v2 key. The file is streamed, never read whole,
with a progress bar on a terminal for large files. When the service answers ``202`` (large
files are processed in the background) the command follows ``Location`` until the upload
is done, backing off between polls, for at most ``--timeout`` seconds. It prints the
summary of design section 2b as tables (products, unassigned findings by reason) or, with
``--json``, as the service's JSON.

Exit codes of `import` (docs/cli.md lists them too):

    0  the upload completed (or, with --no-wait, was accepted) and no --fail-on condition holds
    1  a --fail-on condition holds: ``unassigned`` (any finding left unassigned),
       ``forbidden`` (findings the caller may not push), ``push_failed`` (a product push
       failed)
    2  usage error, missing configuration or unreadable file, or the service refused the
       request (4xx: bad file or options, bad key, no permission, file too large)
    3  the service or DefectDojo unavailable (connection error, timeout, 5xx, 429), the
       upload failed, or it was still running after --timeout
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

Flag = argparse.BooleanOptionalAction

EXIT_OK = 0
EXIT_FAIL_ON = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

FAIL_ON = ("unassigned", "forbidden", "push_failed")
SEVERITIES = ("Info", "Low", "Medium", "High", "Critical")
PENDING_STATUSES = frozenset({"queued", "processing"})
IMPORT_PATH = "/api/v2/smart_upload_import/"
PROGRESS_MIN_BYTES = 8 * 1024 * 1024
POLL_FIRST_DELAY = 1.0
POLL_MAX_DELAY = 30.0
POLL_MAX_FAILURES = 5
PRODUCT_COLUMNS = (
    ("Product", "product_name"),
    ("ID", "product_id"),
    ("Engagement", "engagement_id"),
    ("Test", "test_id"),
    ("Push", "push"),
    ("Status", "status"),
    ("Records", "records"),
    ("Hosts", "hosts"),
    ("Error", "error"),
)


class CliError(Exception):
    """A failure the command reports in one line, with the exit code it stands for."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns the exit code (the console script exits with it)."""
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CliError as error:
        print(f"smart-upload: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smart-upload", description="Smart Upload for DefectDojo."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    upload = commands.add_parser(
        "import",
        help="upload a scan and print its summary",
        description="Upload a scan to Smart Upload (SMART_UPLOAD_URL) with the DefectDojo "
        "API key in DD_API_KEY, wait for it to finish, and print its summary.",
        epilog="Exit codes: 0 ok, 1 a --fail-on condition holds, 2 usage or request "
        "refused (4xx), 3 service or DefectDojo unavailable, upload failed or timed out.",
    )
    upload.add_argument("file", type=Path, help="the scan report")
    upload.add_argument("--scan-type", help="DefectDojo scan type (default: detected)")
    upload.add_argument("--wait", action=Flag, default=True, help="wait until done (default)")
    upload.add_argument(
        "--fail-on",
        action="append",
        choices=FAIL_ON,
        default=[],
        help="exit 1 if it holds; repeatable",
    )
    upload.add_argument("--json", action="store_true", help="print the summary as JSON")
    upload.add_argument("--engagement-name", help="(service default: 'Smart Upload')")
    upload.add_argument("--test-title", help="title of the test in each product")
    upload.add_argument("--minimum-severity", choices=SEVERITIES)
    upload.add_argument("--tags", nargs="+", action="extend", default=[], metavar="TAG")
    upload.add_argument("--scan-date", type=dt.date.fromisoformat, metavar="YYYY-MM-DD")
    for flag in ("--close-old-findings", "--active", "--verified"):
        upload.add_argument(flag, action=Flag)
    for name in ("--version", "--branch-tag", "--commit-hash", "--build-id", "--idempotency-key"):
        upload.add_argument(name)
    upload.add_argument("--url", help="service base URL (default: $SMART_UPLOAD_URL)")
    upload.add_argument("--timeout", type=float, default=3600.0, help="longest wait, seconds")
    upload.set_defaults(handler=_import)

    serve = commands.add_parser("serve", help="run the API (uvicorn app.main:app)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--forwarded-allow-ips", help="(default: $FORWARDED_ALLOW_IPS)")
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="run the upload worker alone")
    worker.add_argument("--workers", type=int, default=1, help="uploads run at once")
    worker.set_defaults(handler=_worker)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    from app.jobs.worker import run_worker

    run_worker(args.workers)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    base_url = str(args.url or os.environ.get("SMART_UPLOAD_URL", "")).rstrip("/")
    api_key = os.environ.get("DD_API_KEY", "")
    if not base_url:
        raise CliError("set SMART_UPLOAD_URL (or --url) to the service's URL", EXIT_USAGE)
    if not api_key:
        raise CliError("set DD_API_KEY to your DefectDojo API v2 key", EXIT_USAGE)
    if args.fail_on and not args.wait:
        raise CliError("--fail-on needs the finished upload: drop --no-wait", EXIT_USAGE)
    path: Path = args.file
    if not path.is_file():
        raise CliError(f"{path}: no such file", EXIT_USAGE)

    headers = {"Authorization": f"Token {api_key}", "Accept": "application/json"}
    if args.idempotency_key:
        headers["Idempotency-Key"] = args.idempotency_key
    deadline = time.monotonic() + args.timeout
    timeout = httpx.Timeout(30.0, connect=10.0, read=args.timeout, write=args.timeout)
    try:
        with httpx.Client(headers=headers, timeout=timeout) as client:
            response = _post(client, f"{base_url}{IMPORT_PATH}", path, _form(args))
            summary = _answer(response)
            if response.status_code == 202 and args.wait:
                summary = _poll(client, _status_url(response, summary), deadline, args.timeout)
    except httpx.TransportError as error:
        raise CliError(f"cannot reach {base_url}: {error}", EXIT_UNAVAILABLE) from error

    _show(summary, as_json=args.json, base_url=str(response.url))
    if summary.get("status") in PENDING_STATUSES and not args.json:
        print(f"Follow it at {_status_url(response, summary)}")
    return _exit_code(summary, args.fail_on)


def _form(args: argparse.Namespace) -> dict[str, str | list[str]]:
    """The import options as multipart fields; options not given are left to the service."""
    fields: dict[str, str | list[str]] = {}
    texts = {
        "scan_type": args.scan_type,
        "engagement_name": args.engagement_name,
        "test_title": args.test_title,
        "minimum_severity": args.minimum_severity,
        "scan_date": args.scan_date.isoformat() if args.scan_date else None,
        "version": args.version,
        "branch_tag": args.branch_tag,
        "commit_hash": args.commit_hash,
        "build_id": args.build_id,
    }
    fields.update({name: value for name, value in texts.items() if value})
    for flag in ("close_old_findings", "active", "verified"):
        if getattr(args, flag) is not None:
            fields[flag] = str(getattr(args, flag)).lower()
    if args.tags:
        fields["tags"] = list(args.tags)
    if not args.wait:
        fields["wait"] = "false"
    return fields


def _post(
    client: httpx.Client, url: str, path: Path, fields: dict[str, str | list[str]]
) -> httpx.Response:
    """POST the file as multipart, streamed from disk in chunks by httpx."""
    size = path.stat().st_size
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        with path.open("rb") as stream:
            return client.post(url, data=fields, files=_file_field(path, stream))
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"Uploading {path.name}", total=size)
        with _ProgressFile(path, lambda done: progress.update(task, completed=done)) as stream:
            return client.post(url, data=fields, files=_file_field(path, stream))


def _file_field(path: Path, stream: BinaryIO) -> dict[str, tuple[str, BinaryIO, str]]:
    return {"file": (path.name, stream, "application/octet-stream")}


class _ProgressFile(io.FileIO):
    """A file that reports how far it has been read, for the progress bar of an upload.

    httpx reads the multipart file in chunks, after a seek to its start; each read or seek
    reports the position, so a re-sent body restarts the bar instead of overrunning it.
    """

    def __init__(self, path: Path, on_position: Callable[[int], None]) -> None:
        super().__init__(path, "r")
        self._on_position = on_position

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size) or b""
        self._on_position(self.tell())
        return data

    def seek(self, pos: int, whence: int = io.SEEK_SET, /) -> int:
        position = super().seek(pos, whence)
        self._on_position(position)
        return position


def _answer(response: httpx.Response) -> dict[str, Any]:
    """The JSON summary of a successful answer, or the CliError an unsuccessful one means."""
    status = response.status_code
    if status in (200, 201, 202):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        raise CliError(f"unexpected answer ({status}) from {response.url}", EXIT_UNAVAILABLE)
    detail = _detail(response)
    if status == 429 or status >= 500:
        raise CliError(f"service unavailable ({status}): {detail}", EXIT_UNAVAILABLE)
    if 400 <= status < 500:
        raise CliError(f"request refused ({status}): {detail}", EXIT_USAGE)
    raise CliError(f"unexpected answer ({status}) from {response.url}", EXIT_UNAVAILABLE)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return json.dumps(body)[:500]


def _status_url(response: httpx.Response, summary: dict[str, Any]) -> str:
    location: str | None = response.headers.get("Location")
    if location:
        return urljoin(str(response.url), location)
    return urljoin(str(response.url), f"/api/v2/smart_upload/uploads/{summary.get('id')}")


def _poll(client: httpx.Client, url: str, deadline: float, timeout: float) -> dict[str, Any]:
    """Follow an accepted upload until it is done: exponential backoff between polls, or the
    server's Retry-After; transient failures are retried a few times in a row. Gives up
    (exit 3) as soon as the next poll would come after the deadline."""
    delay = POLL_FIRST_DELAY
    failures = 0
    status = "queued"
    while True:
        response: httpx.Response | None
        try:
            response = client.get(url, timeout=30.0)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            summary = _answer(response)
            status = str(summary.get("status"))
            if status not in PENDING_STATUSES:
                return summary
            failures = 0
        elif response is not None and response.status_code != 429 and response.status_code < 500:
            _answer(response)
        else:
            failures += 1
            if failures >= POLL_MAX_FAILURES:
                raise CliError(f"lost the service while waiting for {url}", EXIT_UNAVAILABLE)
        pause = _retry_after(response)
        pause = min(delay if pause is None else pause, POLL_MAX_DELAY)
        if time.monotonic() + pause >= deadline:
            message = f"the upload is still {status} after {timeout:g} s; follow it at {url}"
            raise CliError(message, EXIT_UNAVAILABLE)
        time.sleep(pause)
        delay = min(delay * 2, POLL_MAX_DELAY)


def _retry_after(response: httpx.Response | None) -> float | None:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _exit_code(summary: dict[str, Any], fail_on: Sequence[str]) -> int:
    if summary.get("status") == "failed":
        error = summary.get("error") or "see the service's log"
        print(f"smart-upload: upload {summary.get('id')} failed: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    held = [reason for condition, reason in _conditions(summary) if condition in fail_on]
    for reason in held:
        print(f"smart-upload: {reason}", file=sys.stderr)
    return EXIT_FAIL_ON if held else EXIT_OK


def _conditions(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """The --fail-on conditions that hold for a summary, each with a sentence saying why."""
    unassigned = summary.get("unassigned") or {}
    by_reason: dict[str, int] = unassigned.get("by_reason") or {}
    failed = [p for p in summary.get("products") or [] if p.get("status") == "failed"]
    reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(by_reason.items()))
    held = []
    if unassigned.get("total"):
        held.append(("unassigned", f"{unassigned['total']} findings unassigned ({reasons})"))
    if by_reason.get("forbidden"):
        forbidden = f"{by_reason['forbidden']} findings for products you may not import into"
        held.append(("forbidden", forbidden))
    if failed or summary.get("status") == "completed_with_errors":
        names = ", ".join(str(p.get("product_name")) for p in failed) or "some products"
        held.append(("push_failed", f"the push to {names} failed"))
    return held


def _show(summary: dict[str, Any], *, as_json: bool, base_url: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    counts = summary.get("records") or {}
    lines = [
        f"Upload {summary.get('id')}: {summary.get('status')} — {summary.get('scan_type')}, "
        f"{summary.get('file_name')}",
        f"Records: {counts.get('parsed', 0)} parsed, {counts.get('routed', 0)} routed, "
        f"{counts.get('unassigned', 0)} unassigned, "
        f"{counts.get('dropped_below_minimum_severity', 0)} below the minimum severity",
    ]
    if summary.get("error"):
        lines.append(f"Error: {summary['error']}")
    for line in lines:
        console.print(Text(line))
    products = summary.get("products") or []
    if products:
        table = Table(title="Products")
        for header, _ in PRODUCT_COLUMNS:
            table.add_column(header)
        for product in products:
            table.add_row(*(Text(_cell(product, key)) for _, key in PRODUCT_COLUMNS))
        console.print(table)
    unassigned = summary.get("unassigned") or {}
    if unassigned.get("total"):
        table = Table(title=f"Unassigned: {unassigned['total']}")
        table.add_column("Reason")
        table.add_column("Findings", justify="right")
        for reason, count in sorted((unassigned.get("by_reason") or {}).items()):
            table.add_row(Text(reason), Text(str(count)))
        console.print(table)
        if unassigned.get("url"):
            console.print(Text(f"Review them at {urljoin(base_url, unassigned['url'])}"))


def _cell(product: dict[str, Any], key: str) -> str:
    value = product.get(key)
    if key == "hosts":
        return str(len(value or []))
    return "" if value is None else str(value)
