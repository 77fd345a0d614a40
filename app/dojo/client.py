"""The DefectDojo API v2 client: one typed method per operation the service needs.

`DojoClient` wraps an `httpx.AsyncClient` that the application owns (its `base_url` is DD's
URL, without `/api/v2`) and one token. Every call carries explicit timeouts, the caller's
request id as `X-Request-ID`, and is logged as `dojo.request` (method, path, status,
duration; never the token). Failures raise the classes of `app.dojo.errors`.

Reads and token login retry `DojoUnavailable` by themselves under the client's
`RetryPolicy`; writes make one attempt, and the caller retries the unit around them (see
`app.dojo.retry` for why).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from app.dojo.errors import (
    DojoAuthenticationFailed,
    DojoError,
    DojoRejected,
    DojoUnavailable,
    error_from_response,
    error_from_transport,
)
from app.dojo.models import (
    DojoUser,
    EndpointRow,
    Engagement,
    ImportOptions,
    ImportResult,
    Page,
    Product,
    ProductType,
    Test,
)
from app.dojo.retry import RetryPolicy
from app.metrics import observe_dojo_request

logger = logging.getLogger("app.dojo")

request_id_var: ContextVar[str | None] = ContextVar("dojo_request_id", default=None)
"""The id of the request being served; the API's middleware sets it, the client sends it."""

M = TypeVar("M", bound=BaseModel)
Params = Mapping[str, str | int]


@dataclass(frozen=True)
class DojoTimeouts:
    """Seconds per phase of a call. Imports get their own read timeout: DD parses, dedupes
    and answers within the request, which for a large scan takes minutes."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0
    import_read: float = 900.0

    def default(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)

    def for_import(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect, read=self.import_read, write=self.write, pool=self.pool
        )


class DojoClient:
    """DefectDojo as seen with one token; `with_token` gives the same DD for another caller."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str | None,
        policy: RetryPolicy | None = None,
        timeouts: DojoTimeouts | None = None,
        request_id: Callable[[], str | None] = request_id_var.get,
    ) -> None:
        self._http = http
        self._token = token
        self._policy = policy or RetryPolicy()
        self._timeouts = timeouts or DojoTimeouts()
        self._request_id = request_id

    def with_token(self, token: str | None) -> DojoClient:
        """A client for another token sharing this one's connection pool and settings."""
        return DojoClient(
            self._http,
            token=token,
            policy=self._policy,
            timeouts=self._timeouts,
            request_id=self._request_id,
        )

    # Users and tokens

    async def ping(self, timeout: float) -> None:
        """One quick call (no retries, `timeout` seconds for each phase) that proves DD
        answers: any answer but 429/5xx will do, a refusal of the token included. Raises
        `DojoUnavailable` otherwise. For readiness checks, which must answer fast."""
        try:
            await self._send(
                "GET",
                "/api/v2/user_profile/",
                timeout=httpx.Timeout(timeout),
                authenticated=self._token is not None,
            )
        except DojoUnavailable:
            raise
        except DojoError:
            return

    async def user_profile(self) -> DojoUser:
        """The token's user; `DojoAuthenticationFailed` if DD does not accept the token."""
        body = await self._read("/api/v2/user_profile/")
        user = body.get("user") if isinstance(body, dict) else None
        return _parse(DojoUser, user, "user_profile")

    async def api_token_auth(self, username: str, password: str) -> str:
        """The DD API token of a user, for the browser login. Wrong credentials (DD: 400
        `non_field_errors`) raise `DojoAuthenticationFailed`. Retried like a read: DD hands
        out the user's existing token, so a repeated call changes nothing."""

        async def login() -> httpx.Response:
            return await self._send(
                "POST",
                "/api/v2/api-token-auth/",
                json={"username": username, "password": password},
                authenticated=False,
            )

        try:
            response = await self._policy.run(login)
        except DojoRejected as error:
            if error.status_code != 400:
                raise
            raise DojoAuthenticationFailed(error.message, status_code=400) from error
        body = _json(response)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise DojoError("DefectDojo's token answer holds no token", status_code=200)
        return token

    # Product types and products

    async def list_product_types(self, name: str | None = None) -> list[ProductType]:
        """All product types the token sees, or those named exactly `name`."""
        params: dict[str, str | int] = {} if name is None else {"name": name}
        types = await self._list("/api/v2/product_types/", params, Page[ProductType])
        return [t for t in types if name is None or t.name == name]

    async def create_product_type(self, name: str) -> ProductType:
        """Create a product type (one attempt: the caller re-checks before retrying)."""
        response = await self._send("POST", "/api/v2/product_types/", json={"name": name})
        return _parse(ProductType, _json(response), "product type")

    async def list_products(self, name: str | None = None, *, limit: int = 250) -> list[Product]:
        """All products the token sees (invisible ones are absent, not forbidden), or the one
        named exactly `name`. `limit` is the page size of the walk."""
        params: dict[str, str | int] = {} if name is None else {"name_exact": name}
        products = await self._list("/api/v2/products/", params, Page[Product], limit=limit)
        # `name_exact` is case-insensitive while DD's uniqueness is not.
        return [p for p in products if name is None or p.name == name]

    async def get_product(self, product_id: int) -> Product:
        """One product; `DojoNotFound` if it does not exist or the token cannot see it."""
        body = await self._read(f"/api/v2/products/{product_id}/")
        return _parse(Product, body, "product")

    async def create_product(
        self, name: str, prod_type: int, description: str | None = None
    ) -> Product:
        """Create a product. DD requires a description; like DD's own auto-create, the name
        stands in when none is given. A taken name raises `DojoRejected` (field `name`)."""
        response = await self._send(
            "POST",
            "/api/v2/products/",
            json={"name": name, "prod_type": prod_type, "description": description or name},
        )
        return _parse(Product, _json(response), "product")

    # Engagements and tests

    async def find_engagement(self, product_id: int, name: str) -> Engagement | None:
        """The engagement named exactly `name` in the product; of several, the newest, as
        DD's own importer picks."""
        params: Params = {"product": product_id, "name": name}
        engagements = await self._list("/api/v2/engagements/", params, Page[Engagement])
        matching = [e for e in engagements if e.name == name and e.product == product_id]
        return max(matching, key=lambda e: e.id, default=None)

    async def engagements_named(self, name: str, *, max_pages: int) -> dict[int, int] | None:
        """Product id → id of its engagement named exactly `name` (of several, the newest, as
        `find_engagement` picks), over every product the token can see, in one walk of the
        list; None when that walk would take more than `max_pages` pages."""
        params: Params = {"name": name}
        rows = await self._walk("/api/v2/engagements/", params, Page[Engagement], max_pages)
        if rows is None:
            return None
        newest: dict[int, int] = {}
        for engagement in rows:
            if engagement.name == name:
                newest[engagement.product] = max(engagement.id, newest.get(engagement.product, 0))
        return newest

    async def tests_titled(
        self, title: str, scan_type: str, *, max_pages: int
    ) -> dict[int, int] | None:
        """Engagement id → id of its test that `find_test` would pick for (`title`,
        `scan_type`), over every engagement the token can see, in one walk of the list;
        None when that walk would take more than `max_pages` pages."""
        rows = await self._walk("/api/v2/tests/", {"title": title}, Page[Test], max_pages)
        if rows is None:
            return None
        newest: dict[int, int] = {}
        for test in rows:
            if test.title == title and test.is_of_scan_type(scan_type):
                newest[test.engagement] = max(test.id, newest.get(test.engagement, 0))
        return newest

    async def create_engagement(
        self,
        product_id: int,
        name: str,
        *,
        target_start: date | None = None,
        target_end: date | None = None,
        description: str | None = None,
    ) -> Engagement:
        """Create a CI/CD engagement "In Progress", as DD's import auto-create does: from
        today for a year unless dates are given (DD requires both)."""
        start = target_start or date.today()
        payload: dict[str, Any] = {
            "product": product_id,
            "name": name,
            "target_start": start.isoformat(),
            "target_end": (target_end or start + timedelta(days=365)).isoformat(),
            "engagement_type": "CI/CD",
            "status": "In Progress",
        }
        if description:
            payload["description"] = description
        response = await self._send("POST", "/api/v2/engagements/", json=payload)
        return _parse(Engagement, _json(response), "engagement")

    async def find_test(self, engagement_id: int, title: str, scan_type: str) -> Test | None:
        """The test of `scan_type` titled exactly `title` in the engagement; of several, the
        newest, as DD's reimport lookup picks. A test imported without a title has a null
        title in DD and is never matched."""
        params: Params = {"engagement": engagement_id, "title": title}
        tests = await self._list("/api/v2/tests/", params, Page[Test])
        matching = [
            t
            for t in tests
            if t.engagement == engagement_id and t.title == title and t.is_of_scan_type(scan_type)
        ]
        return max(matching, key=lambda t: t.id, default=None)

    # Endpoints

    async def iter_endpoints(
        self, *, page_size: int = 1000, concurrency: int = 4
    ) -> AsyncGenerator[EndpointRow, None]:
        """Every endpoint row the token sees, in id order, for the index build.

        The first page gives the total; the other offsets are then fetched with up to
        `concurrency` pages in flight and yielded in order. The step is the size of the
        first page, because DD silently caps `limit` (MAX_PAGE_SIZE, 1000 by default).
        Each page's `count` updates the total, so rows added meanwhile are fetched and a
        shrinking list ends early. Offsets over a changing list may still miss a row
        deleted meanwhile; the index is refreshed periodically for that.
        """
        if page_size < 1 or concurrency < 1:
            raise ValueError("page_size and concurrency must be positive")
        path = "/api/v2/endpoints/"
        params: Params = {"o": "id", "limit": page_size}
        first = await self._page(path, {**params, "offset": 0}, Page[EndpointRow])
        for row in first.results:
            yield row
        step, total, next_offset = len(first.results), first.count, len(first.results)
        if step == 0:
            return
        pending: deque[asyncio.Task[Page[EndpointRow]]] = deque()
        try:
            while True:
                while len(pending) < concurrency and next_offset < total:
                    page = self._page(path, {**params, "offset": next_offset}, Page[EndpointRow])
                    pending.append(asyncio.create_task(page))
                    next_offset += step
                if not pending:
                    return
                done = await pending.popleft()
                total = done.count
                for row in done.results:
                    yield row
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # Imports

    async def import_scan(
        self, file: IO[bytes], file_name: str, options: ImportOptions, engagement_id: int
    ) -> ImportResult:
        """Import a scan into a new test of the engagement. One attempt only: a timed-out
        import may have been applied, so the caller re-checks for the test and retries the
        unit (see `app.dojo.retry`). The file is rewound and streamed, never read whole."""
        fields = {**options.form_fields(), "engagement": str(engagement_id)}
        return await self._import("/api/v2/import-scan/", file, file_name, fields)

    async def reimport_scan(
        self, file: IO[bytes], file_name: str, options: ImportOptions, test_id: int
    ) -> ImportResult:
        """Reimport a scan into an existing test; DD takes the file as the whole truth for
        the test (design section 2a). One attempt only, file rewound and streamed."""
        fields = {**options.form_fields(), "test": str(test_id)}
        return await self._import("/api/v2/reimport-scan/", file, file_name, fields)

    async def _import(
        self, path: str, file: IO[bytes], file_name: str, fields: dict[str, str | list[str]]
    ) -> ImportResult:
        # httpx reads the file in 64 KiB chunks as it sends; the subsets are local files,
        # so those reads are cheap enough to run on the event loop.
        file.seek(0)
        response = await self._send(
            "POST",
            path,
            data=fields,
            files={"file": (file_name, file)},
            timeout=self._timeouts.for_import(),
        )
        return _parse(ImportResult, _json(response), "import")

    # Transport

    async def _list(
        self, path: str, params: Params, page_type: type[Page[M]], *, limit: int = 250
    ) -> list[M]:
        """All rows of a (small) list, page after page, by offset rather than DD's `next`."""
        rows: list[M] = []
        while True:
            page = await self._page(
                path, {**params, "limit": limit, "offset": len(rows)}, page_type
            )
            rows.extend(page.results)
            if not page.results or len(rows) >= page.count:
                return rows

    async def _walk(
        self, path: str, params: Params, page_type: type[Page[M]], max_pages: int
    ) -> list[M] | None:
        """Every row of a list in pages of up to 1,000 (DD may cap them lower), or None
        without reading further when the first page shows more than `max_pages` pages."""
        params = {**params, "o": "id", "limit": 1000}
        first = await self._page(path, {**params, "offset": 0}, page_type)
        rows = list(first.results)
        if first.count > max_pages * max(len(rows), 1):
            return None
        while rows and len(rows) < first.count:
            page = await self._page(path, {**params, "offset": len(rows)}, page_type)
            if not page.results:
                break
            rows.extend(page.results)
        return rows

    async def _page(self, path: str, params: Params, page_type: type[Page[M]]) -> Page[M]:
        return _parse(page_type, await self._read(path, params), "list page")

    async def _read(self, path: str, params: Params | None = None) -> object:
        async def get() -> httpx.Response:
            return await self._send("GET", path, params=params)

        return _json(await self._policy.run(get))

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: object = None,
        data: Mapping[str, str | list[str]] | None = None,
        files: Mapping[str, tuple[str, IO[bytes]]] | None = None,
        timeout: httpx.Timeout | None = None,
        authenticated: bool = True,
    ) -> httpx.Response:
        """One HTTP exchange: headers, timeout, log line, and errors mapped to DojoError."""
        headers = {"Accept": "application/json"}
        if authenticated and self._token:
            headers["Authorization"] = f"Token {self._token}"
        if request_id := self._request_id():
            headers["X-Request-ID"] = request_id
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                json=json,
                data=data,
                files=files,
                headers=headers,
                timeout=timeout or self._timeouts.default(),
            )
        except httpx.TransportError as error:
            unavailable = error_from_transport(error)
            unavailable.method, unavailable.path = method, path
            _log_request(method, path, None, started, unavailable.message)
            raise unavailable from error
        if response.is_success:
            _log_request(method, path, response.status_code, started, None)
            return response
        failure = error_from_response(response, token=self._token)
        failure.method, failure.path = method, path
        _log_request(method, path, response.status_code, started, failure.message)
        raise failure


def _log_request(
    method: str, path: str, status: int | None, started: float, error: str | None
) -> None:
    elapsed = time.perf_counter() - started
    observe_dojo_request(method, status, elapsed)
    logger.log(
        logging.INFO if error is None else logging.WARNING,
        "dojo.request",
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 1),
            "error": error,
        },
    )


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError as error:
        raise DojoError(
            "DefectDojo's answer is not JSON (is DD_URL the DefectDojo base URL?)",
            status_code=response.status_code,
        ) from error


def _parse(model: type[M], body: object, what: str) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise DojoError(
            f"unexpected {what} answer from DefectDojo: {error.error_count()} field errors"
        ) from error
