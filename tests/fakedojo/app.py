"""`create_fakedojo(state, version=...)`: the ASGI app answering like DefectDojo's API v2.

Routes live in `routes_core` (auth, users, product types, products, test types),
`routes_work` (engagements, tests, findings, endpoints) and `routes_import`
(import-scan, reimport-scan). Every route raises `ApiError` for a non-success answer; the
`FaultMiddleware` around the app scripts failures and logs calls (see `faults`).

Version "3.2" is DefectDojo 3.2.0 with Locations on (read-only /endpoints/, `authorized_users`
permissions); "2.58" is 2.58.4 with the legacy Endpoint model and role-based members.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakedojo import routes_core, routes_import, routes_work
from tests.fakedojo.context import VERSIONS, Context
from tests.fakedojo.faults import FaultMiddleware, LatencyModel
from tests.fakedojo.http import ApiError
from tests.fakedojo.state import FakeDojoState


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status)


async def _latency_spent(request: Request) -> Response:
    """Benchmarks' view of DefectDojo's modelled import time (not a DefectDojo route)."""
    latency: LatencyModel | None = request.app.state.fakedojo.latency
    spent = latency.spent if latency is not None else []
    return JSONResponse({"imports": len(spent), "seconds": sum(spent), "each": spent})


def create_fakedojo(
    state: FakeDojoState, *, version: str = "3.2", latency: LatencyModel | None = None
) -> Starlette:
    """The double as an ASGI app over `state`, answering like DefectDojo `version`."""
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}")
    routes: list[Route] = [
        *routes_core.ROUTES,
        *routes_work.ROUTES,
        *routes_import.ROUTES,
        Route("/__fakedojo/latency/", _latency_spent),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, faults=state.faults, latency=latency)],
        exception_handlers={ApiError: _api_error},
    )
    app.state.fakedojo = Context(state=state, version=version, latency=latency)
    return app
