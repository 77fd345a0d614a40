"""Domain errors that carry their HTTP status, and the one handler that renders them.

Services raise these; routers never build error responses themselves. The body is always
`{"detail": "<what went wrong and what to do>"}` so pipelines and people read one shape.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse


class AppError(Exception):
    status_code = 400

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class BadRequest(AppError):
    status_code = 400


class NotAuthenticated(AppError):
    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Token"})


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class PayloadTooLarge(AppError):
    status_code = 413


class TooManyRequests(AppError):
    status_code = 429


class DojoUnreachable(AppError):
    status_code = 502


async def handle_app_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AppError)
    return JSONResponse(
        {"detail": error.detail}, status_code=error.status_code, headers=error.headers
    )
