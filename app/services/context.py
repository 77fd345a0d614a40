"""What every use case needs, built once at start by the app's lifespan."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from app.dojo.client import DojoClient
from app.dojo.retry import RetryPolicy
from app.services.auth import TokenValidator
from app.services.index import IndexService
from app.settings import Settings
from app.store import pushes
from app.store.db import SessionMaker


@dataclass(frozen=True, slots=True)
class Context:
    settings: Settings
    sessions: SessionMaker
    dojo: DojoClient
    """A client without a caller's token; use `dojo.with_token(...)` for every call."""
    retry: RetryPolicy
    index: IndexService
    tokens: TokenValidator
    worker_id: str
    locks: AsyncEngine
    """Connections for the push locks, outside the pool the transactions use: a push holds
    its lock for as long as DefectDojo imports, and if those held pooled connections, the
    pushes waiting for a connection of their own would starve the pool."""
    push_slots: asyncio.Semaphore
    """Bounds the pushes in flight in this process (each holds one lock connection)."""

    @contextlib.asynccontextmanager
    async def push_lock(self, *, product_id: int, engagement_name: str) -> AsyncIterator[None]:
        """A push slot of this process and the push lock of the product's engagement."""
        async with (
            self.push_slots,
            pushes.target_lock(self.locks, product_id=product_id, engagement_name=engagement_name),
        ):
            yield

    def seal(self, token: SecretStr) -> bytes:
        """Encrypt a caller's token for an upload that runs after the request has ended."""
        return _fernet(self.settings.secret_key).encrypt(token.get_secret_value().encode())

    def unseal(self, sealed: bytes) -> str:
        return _fernet(self.settings.secret_key).decrypt(sealed).decode()


def _fernet(secret: SecretStr) -> Fernet:
    key = hashlib.sha256(b"smart-upload token sealing:" + secret.get_secret_value().encode())
    return Fernet(base64.urlsafe_b64encode(key.digest()))
