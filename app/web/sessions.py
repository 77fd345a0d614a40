"""The browser session: a signed cookie holding the user's sealed DefectDojo token, a CSRF
token, and one flash message.

The cookie is Starlette's `SessionMiddleware` (signed with the service's secret key,
HttpOnly, SameSite=Lax, Secure on HTTPS requests, scoped to the pages' path). The
middleware is built at the first page request because the key comes from the settings the
app's lifespan reads, never at import time. The DefectDojo token inside is additionally
sealed (encrypted) with the same key, so a cookie that leaks into a log or a screenshot
does not show a token that works against DefectDojo's whole API.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from cryptography.fernet import InvalidToken
from fastapi import Request
from pydantic import SecretStr
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import NotAuthenticated
from app.services.auth import Caller
from app.services.context import Context

PREFIX = "/smart-upload"
COOKIE = "smart_upload_session"
SESSION_SECONDS = 12 * 3600
MAX_FLASH_LINES = 8
MAX_FLASH_CHARS = 240


class LoginRequired(Exception):
    """The page needs a logged-in user; the page route turns this into a redirect."""


class CsrfRefused(Exception):
    """A form came without this session's CSRF token; the page route answers 403."""


def route_path(scope: Scope) -> str:
    """The request path without the proxy prefix, as the app's routes see it."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class PageSessions:
    """Session cookies for the pages only; the API authenticates by token and never sees one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._built: dict[tuple[bool, str], SessionMiddleware] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not route_path(scope).startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        root: str = scope.get("root_path", "")
        inner = self._built.get((secure, root))
        if inner is None:
            ctx: Context = scope["app"].state.context
            inner = SessionMiddleware(
                self.app,
                secret_key=ctx.settings.secret_key.get_secret_value(),
                session_cookie=COOKIE,
                max_age=SESSION_SECONDS,
                path=f"{root}{PREFIX}",
                same_site="lax",
                https_only=secure,
            )
            self._built[(secure, root)] = inner
        await inner(scope, receive, send)


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def require_csrf(request: Request) -> None:
    """Refuse a form whose `csrf_token` field is not this session's token."""
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRefused


def log_in(request: Request, token: str) -> None:
    """Start a new session for the token (a fresh CSRF token: no fixation across logins)."""
    request.session.clear()
    request.session["token"] = context_of(request).seal(SecretStr(token)).decode()
    csrf_token(request)


def log_out(request: Request) -> None:
    request.session.clear()


async def page_caller(request: Request) -> Caller:
    """The logged-in user, checked against DefectDojo (cached by the token validator)."""
    sealed = request.session.get("token")
    if not isinstance(sealed, str):
        raise LoginRequired
    ctx = context_of(request)
    try:
        token = ctx.unseal(sealed.encode())
    except InvalidToken:
        request.session.clear()
        raise LoginRequired from None
    try:
        caller = await ctx.tokens.caller(token)
    except NotAuthenticated:
        request.session.clear()
        raise LoginRequired from None
    request.state.caller = caller
    return caller


def flash(
    request: Request, kind: str, title: str, lines: list[dict[str, Any]] | None = None
) -> None:
    """A message for the next page shown; kept small, it travels in the cookie."""
    shown = list(lines or [])
    if len(shown) > MAX_FLASH_LINES:
        more = len(shown) - MAX_FLASH_LINES + 1
        shown = [*shown[: MAX_FLASH_LINES - 1], {"text": f"… and {more} more"}]
    request.session["flash"] = {
        "kind": kind,
        "title": title[:MAX_FLASH_CHARS],
        "lines": [
            {key: str(value)[:MAX_FLASH_CHARS] for key, value in line.items()} for line in shown
        ],
    }


def take_flash(request: Request) -> dict[str, Any] | None:
    message = request.session.pop("flash", None)
    return message if isinstance(message, dict) else None
