"""Who is calling: a DefectDojo token checked against DefectDojo itself, cached briefly.

The service has no users of its own. A caller is whoever DefectDojo says the token belongs
to; the token is then used for the caller's writes, so DefectDojo's permissions apply.
The cache is keyed by a hash of the token so tokens never sit in memory as dictionary keys
longer than needed and never reach logs.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from pydantic import SecretStr

from app.dojo.client import DojoClient
from app.dojo.errors import DojoAuthenticationFailed, DojoUnavailable
from app.errors import DojoUnreachable, NotAuthenticated

MAX_CACHED_TOKENS = 10_000


@dataclass(frozen=True, slots=True)
class Caller:
    id: int
    username: str
    is_superuser: bool
    is_staff: bool
    token: SecretStr = field(repr=False)

    @property
    def owner_filter(self) -> int | None:
        """The owner id that limits what this caller sees; None for a superuser (sees all)."""
        return None if self.is_superuser else self.id


class TokenValidator:
    def __init__(self, dojo: DojoClient, *, ttl_seconds: float) -> None:
        self._dojo = dojo
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Caller]] = {}

    async def caller(self, token: str) -> Caller:
        """The caller a token belongs to; NotAuthenticated when DefectDojo refuses it."""
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            user = await self._dojo.with_token(token).user_profile()
        except DojoAuthenticationFailed as error:
            raise NotAuthenticated(
                f"DefectDojo did not accept this API token ({error.message}); "
                "send a valid one as 'Authorization: Token <key>'"
            ) from error
        except DojoUnavailable as error:
            raise DojoUnreachable(
                f"could not check the token with DefectDojo: {error.message}"
            ) from error
        caller = Caller(
            id=user.id,
            username=user.username,
            is_superuser=user.is_superuser,
            is_staff=user.is_staff,
            token=SecretStr(token),
        )
        if len(self._cache) >= MAX_CACHED_TOKENS:
            self._cache.clear()
        self._cache[key] = (now + self._ttl, caller)
        return caller
