"""Rendering pages: the Jinja2 environment (everything autoescaped: scan text is hostile),
links that work behind a path prefix, and the route class that turns errors into pages.

Links are built from the request's `root_path` and the app's route names, never from the
Host header, so the pages work unchanged behind DefectDojo's nginx or any other prefix.
Page routes are named `web_*`: the API's routes are named after their functions (`assign`,
`disregard`), and a shared name would send a page's form to the API.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.templating import Jinja2Templates

from app.errors import AppError
from app.services.auth import Caller
from app.web.sessions import (
    PREFIX,
    CsrfRefused,
    LoginRequired,
    context_of,
    csrf_token,
    route_path,
    take_flash,
)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
STATIC_VERSION = "3"
"""Bumped when the static files change, so browsers do not keep an old copy."""

SECURITY_HEADERS = {
    # Scan text is escaped; this is the second wall should a template ever forget it.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible now",
    413: "File too large",
    429: "Too many uploads in progress",
    502: "DefectDojo could not be reached",
}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def path_for(request: Request, name: str, /, **params: Any) -> str:
    """The path of a named route under the proxy prefix."""
    root: str = request.scope.get("root_path", "")
    return root + str(request.app.url_path_for(name, **params))


def with_query(path: str, params: dict[str, Any]) -> str:
    """`path` with the non-empty `params` as its query string."""
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(kept, doseq=True)}" if kept else path


def _page_globals(request: Request) -> dict[str, Any]:
    def link(name: str, /, **params: Any) -> str:
        return path_for(request, name, **params)

    return {
        "path_for": link,
        "route_of": lambda name: str(request.app.url_path_for(name)),
        "static": lambda file: f"{link('web-static', path=file)}?v={STATIC_VERSION}",
        "with_query": with_query,
        "csrf_token": csrf_token(request),
        "dd_url": context_of(request).settings.dd_url,
        "current": route_path(request.scope),
    }


templates = Jinja2Templates(env=_environment(), context_processors=[_page_globals])


def render(
    request: Request,
    template: str,
    *,
    caller: Caller | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page; `caller` is the logged-in user shown in the navigation (None on login)."""
    # a fragment is part of a page already shown: the flash message is the next page's
    message = None if template.startswith("_") else take_flash(request)
    return templates.TemplateResponse(
        request,
        template,
        {"caller": caller, "flash": message, **context},
        status_code=status_code,
    )


def login_redirect(request: Request) -> RedirectResponse:
    """To the login page, coming back here afterwards when this was a page view."""
    target = path_for(request, "web_login")
    if request.method == "GET":
        here = route_path(request.scope)
        if request.url.query:
            here = f"{here}?{request.url.query}"
        target = with_query(target, {"next": here})
    return RedirectResponse(target, status_code=303)


def safe_next(value: str | None) -> str | None:
    """A `next` target only when it is one of our pages (no open redirect)."""
    if not value or not value.startswith(PREFIX + "/") or value.startswith("//"):
        return None
    if any(char in value for char in "\\\r\n"):
        return None
    return value


class PageRoute(APIRoute):
    """A page: login and CSRF failures and domain errors become pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                response = login_redirect(request)
            except CsrfRefused:
                response = _error_page(
                    request,
                    403,
                    "Form refused",
                    "This form was not sent by a page of this session (its security token is "
                    "missing or out of date). Go back, reload the page and try again.",
                )
            except AppError as error:
                title = ERROR_TITLES.get(error.status_code, "Something went wrong")
                response = _error_page(request, error.status_code, title, error.detail)
            except RequestValidationError as error:
                response = _error_page(request, 400, "Bad request", _validation_text(error))
            response.headers.update(SECURITY_HEADERS)
            return response

        return handle


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    # the navigation stays when the user was known before the error
    caller: Caller | None = getattr(request.state, "caller", None)
    return render(
        request, "error.html", caller=caller, status_code=status, title=title, message=message
    )


def _validation_text(error: RequestValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc'] if p not in ('body', 'query', 'path'))}: "
        f"{item['msg']}"
        for item in error.errors()
    )
