"""Bounded retries of DefectDojo calls that failed with `DojoUnavailable`.

The client retries its reads (and token login) with `RetryPolicy.run` by itself. Its writes
that are not idempotent - creating a product type, product or engagement, import-scan,
reimport-scan - make one attempt only: when an import times out, DD may still have applied
it, and sending the same file again would create a second test (or, for a product, a 400
"already exists"). So the caller retries the whole *unit* instead, with the same policy:

    async def push() -> ImportResult:
        test = await dojo.find_test(engagement.id, title, scan_type)   # re-checked each time
        if test is None:
            return await dojo.import_scan(subset, name, options, engagement.id)
        return await dojo.reimport_scan(subset, name, options, test.id)

    result = await policy.run(push)

Because each attempt first looks for the test again, a retry after an import that did land
becomes a reimport of the same file into that test, which changes nothing; no retry ever
creates a second test. The client rewinds the file before every import attempt. The deadline
counts from the first attempt, so the unit's policy needs one longer than an import's read
timeout if a timed-out import is to be retried at all.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
)

from app.dojo.errors import DojoUnavailable

logger = logging.getLogger("app.dojo")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a call that raised `DojoUnavailable`.

    `attempts` counts the first call. Waits grow exponentially from `initial_wait` with up
    to `initial_wait` of random jitter (so parallel pushes do not retry in step), but are
    never shorter than DD's Retry-After; every wait is capped at `max_wait`. No attempt
    starts once `deadline` seconds have passed since the first, nor one whose wait would
    cross it. `sleep` is injectable so tests need not wait.
    """

    attempts: int = 5
    initial_wait: float = 0.5
    max_wait: float = 30.0
    deadline: float = 120.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.initial_wait < 0 or self.max_wait < 0 or self.deadline < 0:
            raise ValueError("waits and deadline must not be negative")

    def retrying(self) -> AsyncRetrying:
        """A fresh tenacity controller for one operation (`async for attempt in ...`)."""
        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts) | stop_before_delay(self.deadline),
            wait=self._wait,
            retry=retry_if_exception_type(DojoUnavailable),
            sleep=self.sleep,
            before_sleep=_log_retry,
            reraise=True,
        )

    async def run(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Await `operation()` until it succeeds, raises anything but `DojoUnavailable`, or
        the policy gives up (then its last `DojoUnavailable` is raised)."""
        async for attempt in self.retrying():
            with attempt:
                return await operation()
        raise AssertionError("tenacity stops by raising, never by ending the loop")

    def _wait(self, state: RetryCallState) -> float:
        exponent = min(state.attempt_number - 1, 62)  # 2**62 seconds is long enough
        backoff = self.initial_wait * 2.0**exponent + random.uniform(0, self.initial_wait)
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = error.retry_after if isinstance(error, DojoUnavailable) else None
        return min(self.max_wait, max(backoff, retry_after or 0.0))


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    logger.warning(
        "dojo.retry",
        extra={
            "method": getattr(error, "method", None),
            "path": getattr(error, "path", None),
            "attempt": state.attempt_number,
            "wait_seconds": round(state.upcoming_sleep, 3),
            "status": getattr(error, "status_code", None),
            "error": str(error),
        },
    )
