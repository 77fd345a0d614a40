"""Errors raised by the DefectDojo client.

    DojoError                   any failed call; `status_code` (None without an answer) and
     |                          `message`, DefectDojo's own words taken from its JSON body
     +-- DojoUnavailable        no usable answer: transport error, timeout, 429 or 5xx.
     |                          Retryable; `retry_after` holds DD's Retry-After in seconds.
     +-- DojoAuthenticationFailed   the token is missing, invalid or inactive. DD answers
     |                          these with 403 (not 401), recognised by DRF's messages.
     +-- DojoPermissionDenied   any other 403: the token is fine but may not do this.
     +-- DojoNotFound           404.
     +-- DojoRejected           any other non-success answer, mostly 400 validation errors;
                                `field_errors` keeps DD's per-field messages.

Only `DojoUnavailable` is worth retrying: every other answer would be given again. Messages
never contain the caller's token: they are built from DD's body, and a body that echoes the
token has it masked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# DRF's messages for a request that is not authenticated. DefectDojo lists
# SessionAuthentication first, whose missing `WWW-Authenticate` makes DRF answer 403 instead
# of 401, so the message is the only way to tell "who are you?" from "you may not".
_AUTHENTICATION_MESSAGES = frozenset(
    {
        "Authentication credentials were not provided.",
        "Invalid token.",
        "Invalid token header. No credentials provided.",
        "Invalid token header. Token string should not contain spaces.",
        "Invalid token header. Token string should not contain invalid characters.",
        "User inactive or deleted.",
        "Incorrect authentication credentials.",
    }
)
# Keys of DD's error bodies that are not about the request: `message` repeats the field
# errors as a Python repr, `pro` is an advert.
_NOT_FIELD_KEYS = frozenset({"detail", "message", "non_field_errors", "pro"})
_MAX_MESSAGE_CHARS = 1000


class DojoError(Exception):
    """A DefectDojo call that did not succeed; the client sets `method` and `path` of the
    call so that logs of retries and failures can name it."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        field_errors: Mapping[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.field_errors: dict[str, list[str]] = dict(field_errors or {})
        self.method: str | None = None
        self.path: str | None = None

    def __str__(self) -> str:
        if self.status_code is None:
            return self.message
        return f"DefectDojo answered {self.status_code}: {self.message}"


class DojoUnavailable(DojoError):
    """DefectDojo could not be reached or is overloaded; the same call may succeed later."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class DojoAuthenticationFailed(DojoError):
    """The token (or, for the token endpoint, the username and password) was not accepted."""


class DojoPermissionDenied(DojoError):
    """The token is valid, but DefectDojo does not let its user do this."""


class DojoNotFound(DojoError):
    """The object does not exist, or is not visible to the token's user."""


class DojoRejected(DojoError):
    """DefectDojo refused the request as given (validation error, unexpected status)."""


def error_from_response(response: httpx.Response, *, token: str | None) -> DojoError:
    """The error for a non-success answer, with DD's message (never the token)."""
    status = response.status_code
    body = _json_body(response)
    field_errors = _field_errors(body)
    message = _message(body, field_errors) or f"HTTP {status} {response.reason_phrase}".strip()
    if token:
        message = message.replace(token, "<token>")
    message = message[:_MAX_MESSAGE_CHARS]
    if status == 429 or status >= 500:
        return DojoUnavailable(
            message, status_code=status, retry_after=parse_retry_after(response.headers)
        )
    if status == 401 or (status == 403 and message in _AUTHENTICATION_MESSAGES):
        return DojoAuthenticationFailed(message, status_code=status)
    if status == 403:
        return DojoPermissionDenied(message, status_code=status)
    if status == 404:
        return DojoNotFound(message, status_code=status)
    return DojoRejected(message, status_code=status, field_errors=field_errors)


def error_from_transport(error: httpx.TransportError) -> DojoUnavailable:
    """The error for a call that got no answer (connection refused, timeout, broken stream).

    The message names the kind of failure only: httpx's own text may carry the request URL.
    """
    kind = "timed out" if isinstance(error, httpx.TimeoutException) else "could not be reached"
    return DojoUnavailable(f"DefectDojo {kind} ({type(error).__name__})")


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), else None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _json_body(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _field_errors(body: object) -> dict[str, list[str]]:
    if not isinstance(body, dict):
        return {}
    return {str(key): _texts(value) for key, value in body.items() if key not in _NOT_FIELD_KEYS}


def _message(body: object, field_errors: dict[str, list[str]]) -> str:
    """DD's message, most specific first: `detail`, `non_field_errors`, the field errors as
    "field: msg", and only then `message`, which is a Python repr of the same errors."""
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(_texts(body))
    if not isinstance(body, dict):
        return ""
    if "detail" in body:
        return "; ".join(_texts(body["detail"]))
    if "non_field_errors" in body:
        return "; ".join(_texts(body["non_field_errors"]))
    if field_errors:
        return "; ".join(f"{field}: {' '.join(texts)}" for field, texts in field_errors.items())
    if "message" in body:
        return "; ".join(_texts(body["message"]))
    return ""


def _texts(value: object) -> list[str]:
    """Flatten DRF's error values (a string, a list of them, or nested serializer errors)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        return [f"{key}: {text}" for key, item in value.items() for text in _texts(item)]
    if value is None:
        return []
    return [str(value)]
