"""Logging in with DefectDojo credentials, and out.

The service keeps no passwords: DefectDojo's token endpoint exchanges the credentials for
the user's API token, which the session keeps (sealed) and every page checks again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.dojo.errors import DojoAuthenticationFailed, DojoError
from app.errors import NotAuthenticated
from app.web.rendering import PageRoute, path_for, render, safe_next
from app.web.sessions import context_of, log_in, log_out, require_csrf

router = APIRouter(prefix="/smart-upload", route_class=PageRoute, include_in_schema=False)


@router.get("/", name="web_home")
async def home(request: Request) -> RedirectResponse:
    return RedirectResponse(path_for(request, "web_add_findings"), status_code=303)


@router.get("/login", name="web_login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(
        request, "login.html", caller=None, error=None, username="", next=safe_next(next) or ""
    )


@router.post("/login", dependencies=[Depends(require_csrf)])
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=150)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """Exchange the credentials for the user's DefectDojo token; the form again on refusal."""
    ctx = context_of(request)
    error = None
    if not username or not password:
        error = "Enter your DefectDojo username and password."
    else:
        try:
            token = await ctx.dojo.api_token_auth(username, password)
            await ctx.tokens.caller(token)
        except (DojoAuthenticationFailed, NotAuthenticated) as refused:
            error = f"DefectDojo refused the login: {_message(refused)}"
        except DojoError as failure:
            error = f"DefectDojo could not be reached: {failure}"
    if error is not None:
        return render(
            request,
            "login.html",
            caller=None,
            status_code=401 if username and password else 400,
            error=error,
            username=username,
            next=safe_next(next) or "",
        )
    log_in(request, token)
    root: str = request.scope.get("root_path", "")
    target = safe_next(next)
    return RedirectResponse(
        root + target if target else path_for(request, "web_add_findings"), status_code=303
    )


@router.post("/logout", name="web_logout", dependencies=[Depends(require_csrf)])
async def logout(request: Request) -> RedirectResponse:
    log_out(request)
    return RedirectResponse(path_for(request, "web_login"), status_code=303)


def _message(error: Exception) -> str:
    if isinstance(error, DojoAuthenticationFailed):
        return error.message
    if isinstance(error, NotAuthenticated):
        return error.detail
    return str(error)
