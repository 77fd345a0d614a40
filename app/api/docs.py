"""The OpenAPI document, the docs page (Swagger UI served from the package, no CDN) and
Prometheus metrics.

The docs live at `/docs` and again under `/smart-upload/docs`: behind DefectDojo's nginx
only `/smart-upload/...` reaches this service, so that copy is the one people use there.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(include_in_schema=False)

ASSETS = "/smart-upload/static/swagger-ui"


def _docs(request: Request, openapi_path: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=root + openapi_path,
        title="Smart Upload API",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
    )


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    return _docs(request, "/openapi.json")


@router.get("/smart-upload/docs")
async def docs_behind_proxy(request: Request) -> HTMLResponse:
    return _docs(request, "/smart-upload/openapi.json")


@router.get("/smart-upload/openapi.json")
async def openapi_behind_proxy(request: Request) -> JSONResponse:
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
