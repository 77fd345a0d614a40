"""The endpoint index: built from DefectDojo with the service token, cached in Postgres, held
in memory, refreshed in the background, and grown at once by the service's own pushes.

An upload routes against whatever index is in memory; it never waits for a refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from app.dojo.client import DojoClient
from app.dojo.errors import DojoError
from app.matching.index import MatchIndex
from app.matching.router import Router
from app.matching.rules import Rule, RuleSet
from app.store import assignments as assignment_store
from app.store import index_cache
from app.store import rules as rule_store
from app.store.db import SessionMaker

log = logging.getLogger(__name__)


class IndexService:
    def __init__(self, sessions: SessionMaker, dojo: DojoClient | None, *, page_size: int) -> None:
        self._sessions = sessions
        self._dojo = dojo
        self._page_size = page_size
        self._index = MatchIndex.build(())
        self._learned: list[tuple[int, str, int | None]] = []
        self._products: dict[int, str] = {}
        self._rules = RuleSet.build(())
        self._rules_version = 0
        self._refresh_lock = asyncio.Lock()
        self.built_at = 0.0
        """When the index in memory was built from DefectDojo (epoch seconds; 0 = never)."""

    @property
    def index(self) -> MatchIndex:
        """The index, with what pushes taught it since it was last read folded in (once per
        read rather than once per push: growing it copies it, and an upload pushes to
        hundreds of products)."""
        if self._learned:
            self._index = self._index.with_rows(self._learned)
            self._learned = []
        return self._index

    def product_name(self, product_id: int) -> str:
        return self._products.get(product_id, f"product {product_id}")

    async def load(self) -> None:
        """Load the cached index from Postgres into memory."""
        async with self._sessions() as session:
            rows = [row async for row in index_cache.iter_endpoints(session)]
            self._products = await index_cache.product_names(session)
            state = await index_cache.get_state(session)
        self._index = MatchIndex.build(rows)
        self.built_at = state.refreshed_at.timestamp() if state.refreshed_at else 0.0

    async def refresh(self) -> int:
        """Rebuild the index from DefectDojo now; returns the number of endpoints.

        On failure the previous index stays in use and the error is recorded for
        GET /index/ and /ready.
        """
        if self._dojo is None:
            raise DojoError("no service token is configured (DD_API_TOKEN)")
        async with self._refresh_lock:
            started = time.monotonic()
            try:
                rows = [
                    (row.product, row.host, row.port)
                    async for row in self._dojo.iter_endpoints(page_size=self._page_size)
                    if row.host and row.product is not None
                ]
                products = {p.id: p.name for p in await self._dojo.list_products()}
            except DojoError as error:
                async with self._sessions.begin() as session:
                    await index_cache.record_error(session, error=str(error))
                log.warning("index.refresh.failed", extra={"error": str(error)})
                raise
            async with self._sessions.begin() as session:
                count = await index_cache.replace(
                    session,
                    endpoints=rows,
                    products=products,
                    duration_seconds=time.monotonic() - started,
                )
            self._index = MatchIndex.build(rows)
            self._products = products
            self.built_at = time.time()
            log.info("index.refresh.done", extra={"endpoints": count})
            return count

    async def learn(
        self,
        *,
        product_id: int,
        product_name: str,
        hosts: Iterable[tuple[str, int | None]],
        session: AsyncSession | None = None,
    ) -> None:
        """Add what a push of ours just put into a product, without waiting for a refresh:
        the hosts the index does not have for that product yet, kept in `session`'s
        transaction when given (else in a transaction of its own)."""
        known = self._index
        rows = [
            (product_id, host, port)
            for host, port in hosts
            if product_id not in known.products_for_host(host)
        ]
        if not rows and product_id in self._products:
            return
        if session is None:
            async with self._sessions.begin() as own:
                await self._keep(own, rows, product_id, product_name)
        else:
            await self._keep(session, rows, product_id, product_name)
        self._learned.extend(rows)
        self._products = {**self._products, product_id: product_name}

    @staticmethod
    async def _keep(
        session: AsyncSession, rows: list[tuple[int, str, int | None]], product_id: int, name: str
    ) -> None:
        await index_cache.add(session, endpoints=rows)
        await index_cache.remember_product(session, product_id=product_id, name=name)

    async def router(self) -> Router:
        """A router over the current index, remembered assignments and rules (rebuilt when
        any process changed a rule since this one last looked)."""
        async with self._sessions() as session:
            assignments = await assignment_store.load_all(session)
            version = await rule_store.version(session)
            if version != self._rules_version:
                stored = await rule_store.all_rules(session)
                self._rules = RuleSet.build(
                    Rule(
                        id=rule.id,
                        kind=rule.kind,  # type: ignore[arg-type]
                        pattern=rule.pattern,
                        product_id=rule.product_id,
                        priority=rule.priority,
                    )
                    for rule in stored
                )
                self._rules_version = version
                self._products = {
                    **{rule.product_id: rule.product_name for rule in stored},
                    **self._products,
                }
        return Router(self.index, assignments, self._rules, self._products)

    async def run_refresh_loop(self, interval_seconds: float) -> None:
        """Refresh on an interval for as long as the service runs."""
        while True:
            # a failure is recorded by refresh(); the previous index stays in use
            with contextlib.suppress(DojoError):
                await self.refresh()
            await asyncio.sleep(interval_seconds)
