"""Engagements, tests, findings and endpoints (product↔host rows)."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakedojo import render, render_findings
from tests.fakedojo.context import Context, FormValue, context, read_data
from tests.fakedojo.http import (
    NOT_PERMITTED,
    ApiError,
    detail,
    not_found,
    paginate,
    query_bool,
    query_int,
    required,
    validation_error,
)
from tests.fakedojo.state import Endpoint, Product, User

V3_WRITES = "Writes to this endpoint are deprecated when V3_FEATURE_LOCATIONS is enabled"
ENGAGEMENT_FIELDS = (
    "name",
    "description",
    "version",
    "build_id",
    "commit_hash",
    "branch_tag",
    "status",
    "engagement_type",
)


def _visible_products(ctx: Context, user: User) -> set[int]:
    return {p.id for p in ctx.state.products.values() if ctx.state.can_view(user, p, ctx.version)}


def _post_target(ctx: Context, data: dict[str, FormValue], field: str = "product") -> Product:
    """`check_post_permission(request, Product, "product", ...)`: before any validation."""
    raw = data.get(field)
    if raw is None or raw == "":
        raise ApiError(
            400, {"detail": f"Unable to check for permissions: Attribute '{field}' is required"}
        )
    try:
        return ctx.state.products[int(str(raw))]
    except (KeyError, ValueError):
        raise not_found("Product") from None


async def engagements(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    if request.method == "POST":
        return await _create_engagement(request, ctx, user)
    visible = _visible_products(ctx, user)
    product_id = query_int(request, "product")
    engagement_id = query_int(request, "id")
    name = request.query_params.get("name")
    rows = [
        e
        for e in ctx.state.engagements.values()
        if e.product_id in visible
        and (product_id is None or e.product_id == product_id)
        and (name is None or e.name == name)
        and (engagement_id is None or e.id == engagement_id)
    ]
    return paginate(
        request,
        sorted(rows, key=lambda e: e.id),
        lambda e: render.engagement(e, ctx.version),
        prefetch=False,
    )


def _date_error(data: dict[str, FormValue], name: str) -> list[tuple[str, str]] | None:
    try:
        dt.date.fromisoformat(str(data[name]))
    except ValueError:
        return [("Date has wrong format. Use one of these formats instead: YYYY-MM-DD.", "invalid")]
    return None


async def _create_engagement(request: Request, ctx: Context, user: User) -> Response:
    data = await read_data(request)
    product = _post_target(ctx, data)
    if not ctx.state.can_import(user, product, ctx.version):
        raise detail(403, NOT_PERMITTED)
    errors = required(*(n for n in ("target_start", "target_end") if n not in data))
    for name in ("target_start", "target_end"):
        if name in data and (problem := _date_error(data, name)):
            errors[name] = problem
    if errors:
        raise validation_error(errors)
    created = ctx.state.add_engagement(
        product.id,
        str(data.get("name") or "") or None,
        target_start=str(data["target_start"]),
        target_end=str(data["target_end"]),
    )
    for name in ENGAGEMENT_FIELDS[1:]:
        if name in data:
            setattr(created, name, str(data[name]))
    return JSONResponse(render.engagement(created, ctx.version), status_code=201)


async def tests(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    visible = _visible_products(ctx, user)
    engagement_id = query_int(request, "engagement")
    test_type = query_int(request, "test_type")
    title = request.query_params.get("title")
    rows = [
        t
        for t in ctx.state.tests.values()
        if ctx.state.product_of_test(t).id in visible
        and (engagement_id is None or t.engagement_id == engagement_id)
        and (test_type is None or t.test_type_id == test_type)
        and (title is None or t.title == title)
    ]
    return paginate(
        request, sorted(rows, key=lambda t: t.id), lambda t: render.test(t, ctx.version)
    )


async def findings(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    visible = _visible_products(ctx, user)
    test_id = query_int(request, "test")
    product_id = query_int(request, "product")
    active = query_bool(request, "active")
    mitigated = query_bool(request, "is_mitigated")
    severity = request.query_params.get("severity")
    rows = []
    for f in sorted(ctx.state.findings.values(), key=lambda f: f.id):
        owner = ctx.state.product_of_finding(f).id
        if (
            owner in visible
            and (test_id is None or f.test_id == test_id)
            and (product_id is None or owner == product_id)
            and (active is None or f.active == active)
            and (mitigated is None or f.is_mitigated == mitigated)
            and (severity is None or f.severity == severity)
        ):
            rows.append(f)
    return paginate(request, rows, lambda f: render_findings.finding(ctx.state, f, ctx.version))


def _matches_endpoint(request: Request, ctx: Context, e: Endpoint) -> bool:
    """3.2 matches host/protocol as substrings (icontains); 2.58 matches them exactly."""
    for name in ("host", "protocol", "path"):
        wanted = request.query_params.get(name)
        value = getattr(e, name) or ""
        if wanted is not None:
            hit = wanted.lower() in value.lower() if ctx.version == "3.2" else wanted == value
            if not hit:
                return False
    return True


async def endpoints(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    if request.method == "POST":
        return await _create_endpoint(request, ctx, user)
    visible = _visible_products(ctx, user)
    product_id = query_int(request, "product")
    port = query_int(request, "port")
    endpoint_id = query_int(request, "id")
    rows = [
        e
        for e in sorted(ctx.state.endpoints.values(), key=lambda e: e.id)
        if e.product_id in visible
        and (product_id is None or e.product_id == product_id)
        and (port is None or e.port == port)
        and (endpoint_id is None or e.id == endpoint_id)
        and _matches_endpoint(request, ctx, e)
    ]
    return paginate(
        request, rows, lambda e: render_findings.endpoint(ctx.state, e, ctx.version, visible)
    )


async def endpoint_detail(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    visible = _visible_products(ctx, user)
    try:
        row = ctx.state.endpoints[int(request.path_params["endpoint_id"])]
    except (KeyError, ValueError):
        row = None
    if row is None or row.product_id not in visible:
        model = "LocationProductReference" if ctx.version == "3.2" else "Endpoint"
        raise not_found(model)
    return JSONResponse(render_findings.endpoint(ctx.state, row, ctx.version, visible))


async def _create_endpoint(request: Request, ctx: Context, user: User) -> Response:
    if ctx.version == "3.2":
        raise detail(403, V3_WRITES)
    data = await read_data(request)
    product = _post_target(ctx, data)
    if not ctx.state.can_import(user, product, ctx.version):
        raise detail(403, NOT_PERMITTED)
    host = str(data.get("host") or "")
    port = str(data.get("port") or "")
    if port and not port.isdigit():
        raise validation_error({"port": [("A valid integer is required.", "invalid")]})
    candidate = Endpoint(
        id=0,
        product_id=product.id,
        host=host,
        protocol=str(data.get("protocol") or "") or None,
        port=int(port) if port else None,
        path=str(data.get("path") or "") or None,
    )
    if any(
        e.product_id == product.id and e.key() == candidate.key()
        for e in ctx.state.endpoints.values()
    ):
        raise validation_error(
            {
                "non_field_errors": [
                    (
                        "It appears as though an endpoint with this data already exists "
                        "for this product.",
                        "invalid",
                    )
                ]
            }
        )
    created = ctx.state.get_or_create_endpoint(product.id, candidate)
    body = render_findings.endpoint(ctx.state, created, ctx.version, {product.id})
    # The count is an annotation of the list/detail querysets; a fresh row has none.
    del body["active_finding_count"]
    return JSONResponse(body, status_code=201)


ROUTES = [
    Route("/api/v2/engagements/", engagements, methods=["GET", "POST"]),
    Route("/api/v2/tests/", tests, methods=["GET"]),
    Route("/api/v2/findings/", findings, methods=["GET"]),
    Route("/api/v2/endpoints/", endpoints, methods=["GET", "POST"]),
    Route("/api/v2/endpoints/{endpoint_id}/", endpoint_detail, methods=["GET"]),
]
