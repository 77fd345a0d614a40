"""What every use case needs, built once at start by the app's lifespan."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet
from pydantic import SecretStr

from app.dojo.client import DojoClient
from app.dojo.retry import RetryPolicy
from app.services.auth import TokenValidator
from app.services.index import IndexService
from app.settings import Settings
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

    def seal(self, token: SecretStr) -> bytes:
        """Encrypt a caller's token for an upload that runs after the request has ended."""
        return _fernet(self.settings.secret_key).encrypt(token.get_secret_value().encode())

    def unseal(self, sealed: bytes) -> str:
        return _fernet(self.settings.secret_key).decrypt(sealed).decode()


def _fernet(secret: SecretStr) -> Fernet:
    key = hashlib.sha256(b"smart-upload token sealing:" + secret.get_secret_value().encode())
    return Fernet(base64.urlsafe_b64encode(key.digest()))
