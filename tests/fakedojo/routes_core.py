"""Token login, user profile, product types, products and test types."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakedojo import render
from tests.fakedojo.context import context, read_data
from tests.fakedojo.http import (
    NOT_PERMITTED,
    ApiError,
    detail,
    not_found,
    paginate,
    query_int,
    required,
    validation_error,
)
from tests.fakedojo.parsers import scan_type_names
from tests.fakedojo.state import ROLE_OWNER, ProductType


async def token_auth(request: Request) -> Response:
    """POST /api/v2/api-token-auth/: exchange username/password for the user's token."""
    ctx = context(request)
    data = await read_data(request)
    missing = [name for name in ("username", "password") if not data.get(name)]
    if missing:
        raise validation_error(required(*missing))
    user = next((u for u in ctx.state.users.values() if u.username == data["username"]), None)
    if user is None or user.password != data["password"] or not user.is_active:
        raise validation_error(
            {"non_field_errors": [("Unable to log in with provided credentials.", "authorization")]}
        )
    return JSONResponse({"token": user.token})


async def user_profile(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    return JSONResponse(render.user_profile(ctx.state, user, ctx.version))


async def product_types(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    if request.method == "POST":
        return await _create_product_type(request)
    name = request.query_params.get("name")
    type_id = query_int(request, "id")
    rows = [
        pt
        for pt in ctx.state.product_types.values()
        if ctx.state.can_view_product_type(user, pt, ctx.version)
        and (name is None or pt.name == name)
        and (type_id is None or pt.id == type_id)
    ]
    rows.sort(key=lambda pt: pt.name)
    return paginate(request, rows, lambda pt: render.product_type(pt, ctx.version))


async def _create_product_type(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    if not ctx.state.can_add_product_type(user, ctx.version):
        raise detail(403, NOT_PERMITTED)
    data = await read_data(request)
    name = str(data.get("name", ""))
    if "name" not in data:
        raise validation_error(required("name"))
    if not name:
        raise validation_error({"name": [("This field may not be blank.", "blank")]})
    if any(pt.name == name for pt in ctx.state.product_types.values()):
        raise validation_error(
            {"name": [("product_type with this name already exists.", "unique")]}
        )
    description = data.get("description")
    created = ctx.state.add_product_type(
        name,
        description=str(description) if description is not None else None,
        members=[] if user.is_superuser else [user],
        role=ROLE_OWNER,
    )
    created.critical_product = str(data.get("critical_product", "")).lower() == "true"
    created.key_product = str(data.get("key_product", "")).lower() == "true"
    return JSONResponse(render.product_type(created, ctx.version), status_code=201)


async def products(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    if request.method == "POST":
        return await _create_product(request)
    name = request.query_params.get("name")
    name_exact = request.query_params.get("name_exact")
    prod_type = query_int(request, "prod_type")
    product_id = query_int(request, "id")
    rows = [
        p
        for p in ctx.state.products.values()
        if ctx.state.can_view(user, p, ctx.version)
        and (name is None or name.lower() in p.name.lower())
        and (name_exact is None or name_exact.lower() == p.name.lower())
        and (prod_type is None or p.prod_type_id == prod_type)
        and (product_id is None or p.id == product_id)
    ]
    rows.sort(key=lambda p: p.name)
    return paginate(request, rows, lambda p: render.product(ctx.state, p, ctx.version))


async def product_detail(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    try:
        product = ctx.state.products[int(request.path_params["product_id"])]
    except (KeyError, ValueError):
        raise not_found("Product") from None
    if not ctx.state.can_view(user, product, ctx.version):
        raise not_found("Product")
    return JSONResponse(render.product(ctx.state, product, ctx.version))


def _product_type_for_post(raw: object, state_types: dict[int, ProductType]) -> ProductType:
    """DefectDojo's `check_post_permission`: runs before validation, so 400/404 come first."""
    if raw is None or raw == "":
        raise ApiError(
            400, {"detail": "Unable to check for permissions: Attribute 'prod_type' is required"}
        )
    try:
        return state_types[int(str(raw))]
    except (KeyError, ValueError):
        raise not_found("Product_Type") from None


async def _create_product(request: Request) -> Response:
    ctx = context(request)
    user = ctx.user(request)
    data = await read_data(request)
    product_type = _product_type_for_post(data.get("prod_type"), ctx.state.product_types)
    if not ctx.state.can_add_product(user, product_type, ctx.version):
        raise detail(403, NOT_PERMITTED)
    errors = required(*(n for n in ("name", "description") if n not in data))
    for name in ("name", "description"):
        if name in data and not str(data[name]):
            errors[name] = [("This field may not be blank.", "blank")]
    name = str(data.get("name", ""))
    if name and any(p.name == name for p in ctx.state.products.values()):
        errors["name"] = [("product with this name already exists.", "unique")]
    if errors:
        raise validation_error(errors)
    creator = [] if user.is_superuser or (ctx.version == "3.2" and user.is_staff) else [user]
    product = ctx.state.add_product(
        name, prod_type=product_type, members=creator, description=str(data["description"])
    )
    return JSONResponse(render.product(ctx.state, product, ctx.version), status_code=201)


async def test_types(request: Request) -> Response:
    ctx = context(request)
    ctx.user(request)
    name = request.query_params.get("name")
    rows = sorted(n for n in scan_type_names(ctx.version) if name is None or n == name)
    return paginate(request, rows, lambda n: render.test_type(n, ctx.version), prefetch=False)


ROUTES = [
    Route("/api/v2/api-token-auth/", token_auth, methods=["POST"]),
    Route("/api/v2/user_profile/", user_profile, methods=["GET"]),
    Route("/api/v2/product_types/", product_types, methods=["GET", "POST"]),
    Route("/api/v2/products/", products, methods=["GET", "POST"]),
    Route("/api/v2/products/{product_id}/", product_detail, methods=["GET"]),
    Route("/api/v2/test_types/", test_types, methods=["GET"]),
]
