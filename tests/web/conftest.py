"""The pages as a person meets them: the real app, a real PostgreSQL, and the DefectDojo
test double behind the app — over httpx in process (`site`), or served by uvicorn on a
loopback port for the browser (`live_site`)."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from app.main import create_app
from app.settings import Settings
from tests.conftest import SCANS
from tests.fakedojo.app import create_fakedojo
from tests.fakedojo.models import Product, User
from tests.fakedojo.state import FakeDojoState

NESSUS_SEVEN_HOSTS = SCANS / "tenable" / "nessus_v_unknown.xml"
DD_URL = "http://dojo.test"
PASSWORD = "correct horse battery staple"
IMPORT_PATHS = frozenset({"/api/v2/import-scan/", "/api/v2/reimport-scan/"})
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


class ImportGate:
    """Holds DefectDojo's import calls while closed, so a test can watch an upload in
    progress; `waiting` is set once an import is held."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.opened = threading.Event()
        self.opened.set()
        self.waiting = threading.Event()

    def close(self) -> None:
        self.opened.clear()

    def open(self) -> None:
        self.opened.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in IMPORT_PATHS and not self.opened.is_set():
            self.waiting.set()
            await asyncio.to_thread(self.opened.wait, 30)
        await self.app(scope, receive, send)


@dataclass
class Site:
    dojo: FakeDojoState
    app: FastAPI
    client: httpx.AsyncClient
    admin: User
    alice: User
    bob: User
    gate: ImportGate
    root: str = ""

    def path(self, page: str) -> str:
        return f"{self.root}/smart-upload{page}"

    def product(self, name: str, *members: User) -> Product:
        return self.dojo.add_product(name, members=members)

    async def refresh_index(self) -> None:
        response = await self.client.post(
            f"{self.root}/api/v2/smart_upload/index/", headers=_auth(self.admin)
        )
        assert response.status_code == 200, response.text

    async def api_upload(self, path: Path, *, user: User | None = None, **fields: Any) -> Any:
        """An upload through the API (for tests whose subject is another page)."""
        response = await self.client.post(
            f"{self.root}/api/v2/smart_upload_import/",
            headers=_auth(user or self.alice),
            data={"scan_type": "Tenable Scan", **{k: str(v) for k, v in fields.items()}},
            files={"file": (path.name, path.read_bytes())},
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def login(self, user: User | None = None) -> None:
        page = await self.client.get(self.path("/login"))
        response = await self.client.post(
            self.path("/login"),
            data={
                "csrf_token": csrf_of(page.text),
                "username": (user or self.alice).username,
                "password": PASSWORD,
            },
        )
        assert response.status_code == 303, response.text

    async def csrf(self, page: str = "/add") -> str:
        response = await self.client.get(self.path(page))
        assert response.status_code == 200, response.text
        return csrf_of(response.text)


def _auth(user: User) -> dict[str, str]:
    return {"Authorization": f"Token {user.token}"}


def _world(
    database_url: str, *, root_path: str = "", overrides: dict[str, Any] | None = None
) -> tuple[FakeDojoState, FastAPI, ImportGate]:
    state = FakeDojoState()
    state.add_user("admin", password=PASSWORD, is_superuser=True, is_staff=True)
    service = state.add_user("smart-upload-index", is_staff=True, is_superuser=True)
    state.add_user("alice", password=PASSWORD)
    state.add_user("bob", password=PASSWORD)
    settings = Settings(
        database_url=database_url,
        dd_url=DD_URL,
        dd_api_token=SecretStr(service.token),
        secret_key=SecretStr("pages-test-secret-key"),
        run_worker=False,
        index_refresh_seconds=0,
        dd_retry_initial_wait_seconds=0,
        dd_retry_max_wait_seconds=0,
        root_path=root_path,
        **(overrides or {}),
    )
    gate = ImportGate(create_fakedojo(state))
    return state, create_app(settings, dojo_transport=httpx.ASGITransport(app=gate)), gate


def _users(state: FakeDojoState) -> dict[str, User]:
    return {user.username: user for user in state.users.values()}


@pytest.fixture
def root_path() -> str:
    return ""


@pytest.fixture
def base_url() -> str:
    return "http://su.test"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test module changes for its site (override this fixture there)."""
    return {}


@pytest.fixture
async def site(
    clean_database: str, root_path: str, base_url: str, settings_overrides: dict[str, Any]
) -> AsyncIterator[Site]:
    """The app in process; `client` keeps the session cookie like a browser."""
    state, app, gate = _world(clean_database, root_path=root_path, overrides=settings_overrides)
    users = _users(state)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield Site(
                dojo=state,
                app=app,
                client=client,
                admin=users["admin"],
                alice=users["alice"],
                bob=users["bob"],
                gate=gate,
                root=root_path,
            )


class _Server(uvicorn.Server):
    """uvicorn that says when it is listening, so the test waits on an event, not a clock."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass
class LiveSite(Site):
    base_url: str = ""


@pytest.fixture
async def live_site(
    clean_database: str, settings_overrides: dict[str, Any]
) -> AsyncIterator[LiveSite]:
    """The app served by uvicorn on a free loopback port, in a thread of its own."""
    state, app, gate = _world(clean_database, overrides=settings_overrides)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = _Server(uvicorn.Config(app, loop="asyncio", log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    users = _users(state)
    try:
        assert await asyncio.to_thread(server.ready.wait, 30), "the server did not start"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield LiveSite(
                dojo=state,
                app=app,
                client=client,
                admin=users["admin"],
                alice=users["alice"],
                bob=users["bob"],
                gate=gate,
                base_url=base,
            )
    finally:
        gate.open()
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)
        listener.close()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium driven by Playwright, one per run (each test gets its own context)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's Chromium at /usr/bin/chromium "
            "(apt-get install -y chromium); Playwright's own browser download is not used"
        )
    async_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")
    for stale in SCREENSHOTS.glob("failed-*.png"):
        stale.unlink()
    async with async_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
async def page(
    browser: Any, live_site: LiveSite, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """A fresh browser tab (own cookies) on the live site; fails the test on a page error,
    and keeps a screenshot of the page a failed test ended on."""
    context = await browser.new_context(
        base_url=live_site.base_url, viewport={"width": 1360, "height": 900}
    )
    context.set_default_timeout(15_000)
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
        if request.node.stash.get(_FAILED, False):
            await screenshot(tab, f"failed-{request.node.name}")
    finally:
        await context.close()
    assert not errors, f"script errors on the page: {errors}"


async def screenshot(tab: Any, name: str, *, full_page: bool = True) -> None:
    """Save the page as tests/web/screenshots/<name>.png (ignored by git); an open dialog
    is best seen in the window only (`full_page=False`)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    await tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
