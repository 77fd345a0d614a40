"""DefectDojo's (DRF's) answer shapes: error bodies, pagination, authentication.

- 400 validation errors: `{field: [messages], "message": str(exc.detail), "pro": [...]}` —
  `message` is the Python repr of DRF's ErrorDetail dict, as DefectDojo's exception handler
  renders it; a ValidationError raised with a plain string is a bare JSON list.
- 401-class failures are 403 (DRF answers 403 when its first authenticator, the session
  one, has no `WWW-Authenticate`), with `{"detail": ...}` only.
- Lists: DRF's LimitOffsetPagination with PAGE_SIZE 25 and no maximum; `next`/`previous`
  are absolute and their query keys sorted, as DRF's `replace_query_param` writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse

from tests.fakedojo.state import FakeDojoState, User

PRO_SUPPORT = "Pro comes with support. Try today for free or email us at hello@defectdojo.com"
DEFAULT_LIMIT = 25
NOT_PERMITTED = "You do not have permission to perform this action."
T = TypeVar("T")


class ApiError(Exception):
    """An answer other than success, raised from a route and rendered by the app."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def detail(status: int, text: str) -> ApiError:
    return ApiError(status, {"detail": text})


def not_found(model: str) -> ApiError:
    return detail(404, f"No {model} matches the given query.")


def validation_error(errors: dict[str, list[tuple[str, str]]]) -> ApiError:
    """400 with field errors given as (message, DRF code) pairs."""
    body: dict[str, Any] = {name: [msg for msg, _ in errs] for name, errs in errors.items()}
    body["message"] = (
        "{"
        + ", ".join(
            f"{name!r}: ["
            + ", ".join(f"ErrorDetail(string={msg!r}, code={code!r})" for msg, code in errs)
            + "]"
            for name, errs in errors.items()
        )
        + "}"
    )
    body["pro"] = [PRO_SUPPORT]
    return ApiError(400, body)


def required(*names: str) -> dict[str, list[tuple[str, str]]]:
    return {name: [("This field is required.", "required")] for name in names}


def authenticate(request: Request, state: FakeDojoState) -> User:
    """DRF TokenAuthentication (the only scheme the double implements)."""
    header = request.headers.get("authorization", "")
    parts = header.split()
    if not parts or parts[0].lower() != "token":
        raise detail(403, "Authentication credentials were not provided.")
    if len(parts) == 1:
        raise detail(403, "Invalid token header. No credentials provided.")
    if len(parts) > 2:
        raise detail(403, "Invalid token header. Token string should not contain spaces.")
    user = state.user_by_token(parts[1])
    if user is None:
        raise detail(403, "Invalid token.")
    if not user.is_active:
        raise detail(403, "User inactive or deleted.")
    return user


def _positive_int(raw: str | None, *, strict: bool) -> int | None:
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    if value < 0 or (strict and value == 0):
        return None
    return value


def _with_query(url: str, key: str, value: int | None) -> str:
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    if value is None:
        params.pop(key, None)
    else:
        params[key] = [str(value)]
    return urlunsplit(
        (scheme, netloc, path, urlencode(sorted(params.items()), doseq=True), fragment)
    )


def paginate(
    request: Request,
    items: Sequence[T],
    render: Callable[[T], dict[str, Any]],
    *,
    prefetch: bool = True,
) -> JSONResponse:
    """One page of `items` in DRF's LimitOffsetPagination envelope."""
    limit = _positive_int(request.query_params.get("limit"), strict=True) or DEFAULT_LIMIT
    offset = _positive_int(request.query_params.get("offset"), strict=False) or 0
    count = len(items)
    url = str(request.url)
    next_url = None
    if offset + limit < count:
        next_url = _with_query(_with_query(url, "limit", limit), "offset", offset + limit)
    previous_url = None
    if offset > 0:
        previous_url = _with_query(url, "limit", limit)
        previous_url = _with_query(
            previous_url, "offset", offset - limit if offset - limit > 0 else None
        )
    page = [] if count == 0 or offset > count else items[offset : offset + limit]
    body: dict[str, Any] = {
        "count": count,
        "next": next_url,
        "previous": previous_url,
        "results": [render(item) for item in page],
    }
    if prefetch:
        body["prefetch"] = {}
    return JSONResponse(body)


def query_int(request: Request, name: str) -> int | None:
    """A numeric filter; django-filter answers 400 for a value that is not a number."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise validation_error({name: [("Enter a number.", "invalid")]}) from None


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    return None
