"""The Unassigned Findings page: search, filters, sorting, pages, selection, and the three
actions (assign to an existing product, to a new product, disregard) with their results.

A selection is either the ticked rows (`ids`) or everything matching the filter shown
(`all_matching`), exactly the two forms the API takes. Each action answers with a redirect
back to the same list, carrying its per-product result as a flash message. A selection
larger than the API's threshold runs as an action job, as the API's 202 does: this process
claims it and runs it after the answer has gone out, and the list shows "running as a job"
with its progress, polled until the job ends and then replaced by the same result message.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from app.dojo.errors import DojoError
from app.errors import AppError, DojoUnreachable, NotFound
from app.formats.registry import scan_types
from app.schemas import (
    AssignIn,
    AssignOut,
    CreateProductIn,
    DisregardIn,
    DisregardOut,
    UnassignedFilterIn,
)
from app.services import action_jobs
from app.services.action_jobs import Queued
from app.services.auth import Caller
from app.store import unassigned as store
from app.store.unassigned import UnassignedFilter
from app.web import actions as messages
from app.web import labels
from app.web.rendering import PageRoute, path_for, render, with_query
from app.web.sessions import context_of, flash, page_caller, require_csrf

router = APIRouter(prefix="/smart-upload", route_class=PageRoute, include_in_schema=False)

PageCaller = Annotated[Caller, Depends(page_caller)]
FILTER_FIELDS = tuple(UnassignedFilterIn.model_fields)
PAGE_SIZES = (25, 50, 100)
DEFAULT_ORDERING = "-severity"
# (column heading, ordering key, first direction when clicked)
COLUMNS = (
    ("Severity", "severity", "-"),
    ("Name", "title", ""),
    ("Date", "date", "-"),
    ("Reporter", "reporter", ""),
    ("Found by", "scan_type", ""),
    ("Host", "host", ""),
    ("Port", "port", ""),
    ("Reason", "reason", ""),
)


def _filters(params: dict[str, str]) -> tuple[UnassignedFilterIn, str | None]:
    given = {key: params[key].strip() for key in FILTER_FIELDS if params.get(key, "").strip()}
    try:
        return UnassignedFilterIn.model_validate(given), None
    except ValidationError as error:
        return (
            UnassignedFilterIn(),
            f"The filter was not applied: {labels.validation_message(error)}",
        )


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


@router.get("/unassigned", name="web_unassigned")
async def unassigned_page(request: Request, caller: PageCaller) -> HTMLResponse:
    params = dict(request.query_params)
    filters, filter_error = _filters(params)
    ordering = params.get("ordering", DEFAULT_ORDERING)
    if ordering.lstrip("-") not in store.ORDERINGS:
        ordering = DEFAULT_ORDERING
    limit = _int(params.get("limit"), PAGE_SIZES[0])
    limit = limit if limit in PAGE_SIZES else PAGE_SIZES[0]
    page = max(_int(params.get("page"), 1), 1)
    ctx = context_of(request)
    async with ctx.sessions() as session:
        count, rows = await store.list_page(
            session,
            filters=UnassignedFilter(**filters.model_dump()),
            owner_id=caller.owner_filter,
            ordering=ordering,
            limit=limit,
            offset=(page - 1) * limit,
        )
    pages = max(math.ceil(count / limit), 1)
    state = {
        **{key: value for key, value in filters.model_dump(mode="json").items() if value},
        "ordering": ordering if ordering != DEFAULT_ORDERING else None,
        "limit": limit if limit != PAGE_SIZES[0] else None,
    }
    here = path_for(request, "web_unassigned")
    list_state = {**state, "page": page if page > 1 else None}
    action = await messages.action_of(ctx, caller, _int(params.get("action"), 0))
    shown = with_query(here, list_state)
    return render(
        request,
        "unassigned.html",
        caller=caller,
        rows=rows,
        count=count,
        page=page,
        pages=pages,
        limit=limit,
        page_sizes=PAGE_SIZES,
        filters=filters.model_dump(mode="json"),
        filter_error=filter_error,
        filtered=any(filters.model_dump().values()),
        ordering=ordering,
        columns=_columns(here, state, ordering),
        page_url=lambda number: with_query(here, {**state, "page": number}),
        back=with_query("", list_state).lstrip("?"),
        scan_types=scan_types(),
        severities=labels.SEVERITIES,
        reasons=labels.REASONS,
        action=messages.action_context(action, ctx.settings.dd_url, shown) if action else None,
    )


def _columns(here: str, state: dict[str, Any], ordering: str) -> list[dict[str, Any]]:
    columns = []
    for heading, key, first in COLUMNS:
        if ordering.lstrip("-") == key:
            direction = "descending" if ordering.startswith("-") else "ascending"
            toggled = key if ordering.startswith("-") else f"-{key}"
        else:
            direction, toggled = None, f"{first}{key}"
        columns.append(
            {
                "heading": heading,
                "key": key,
                "sort": direction,
                "url": with_query(here, {**state, "ordering": toggled}),
            }
        )
    return columns


def _selection(form: FormData) -> dict[str, Any]:
    """The form's selection in the API's shape: `ids`, or `all_matching` a filter."""
    if form.get("scope") == "all":
        given = {
            key: value
            for key in FILTER_FIELDS
            if isinstance(value := form.get(key), str) and value.strip()
        }
        return {"all_matching": given}
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    return {"ids": ids or None}


def _back(request: Request, form: FormData, queued: Queued | None = None) -> RedirectResponse:
    """Back to the list the form was sent from; with the job to follow when the action was
    queued, which this process then runs after the answer has gone out."""
    back = form.get("back")
    kept = list_state(back if isinstance(back, str) else "")
    target = path_for(request, "web_unassigned")
    if queued is None or queued.claim is None:
        return RedirectResponse(with_query(target, kept), status_code=303)
    return RedirectResponse(
        with_query(target, {**kept, "action": queued.job.id}),
        status_code=303,
        background=BackgroundTask(
            messages.run_job, context_of(request), queued.job.id, queued.claim
        ),
    )


def list_state(back: str) -> dict[str, str]:
    """The list's filters, ordering and page from a `back` query string (nothing else)."""
    return {
        key: value
        for key, value in parse_qsl(back)
        if key in (*FILTER_FIELDS, "ordering", "limit", "page")
    }


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _report(request: Request, answer: AssignOut | DisregardOut | Queued, dd_url: str) -> None:
    """The action's result as the next page's message; a queued job shows on the list."""
    if not isinstance(answer, Queued):
        flash(request, *messages.result_message(answer, dd_url))


async def _attempt(
    request: Request,
    form: FormData,
    failure: str,
    run: Callable[[dict[str, Any]], Awaitable[AssignOut | DisregardOut | Queued]],
    required: tuple[tuple[tuple[str, ...], str], ...] = (),
) -> Queued | None:
    """Run an action on the form's selection and report its result (the job, when it was
    queued); its problem as a flash message otherwise. `required` pairs form fields, of
    which one must be filled, with the message if none is."""
    selection = _selection(form)
    problem = None
    if not selection.get("ids") and "all_matching" not in selection:
        problem = "Select at least one finding first."
    for names, message in required:
        if problem is None and not any(_text(form, name) for name in names):
            problem = message
    if problem is None:
        try:
            answer = await run(selection)
            _report(request, answer, context_of(request).settings.dd_url)
            return answer if isinstance(answer, Queued) else None
        except ValidationError as error:
            problem = labels.validation_message(error)
        except AppError as error:
            problem = error.detail
    flash(request, "error", failure, [{"text": problem}])
    return None


@router.post("/unassigned/assign", name="web_assign", dependencies=[Depends(require_csrf)])
async def assign(request: Request, caller: PageCaller) -> RedirectResponse:
    """Push the selection to a product the user picked."""
    form = await request.form()
    ctx = context_of(request)

    async def run(selection: dict[str, Any]) -> AssignOut | Queued:
        body = AssignIn.model_validate({**selection, "product": _text(form, "product")})
        return await action_jobs.assign(ctx, caller, body, wait=None, claim=True)

    required = ((("product",), "Pick the product to assign the findings to."),)
    queued = await _attempt(request, form, "Nothing was assigned.", run, required)
    return _back(request, form, queued)


@router.post(
    "/unassigned/create-product", name="web_create_product", dependencies=[Depends(require_csrf)]
)
async def create_product(request: Request, caller: PageCaller) -> RedirectResponse:
    """Create the product in DefectDojo (and its type when new), then push the selection."""
    form = await request.form()
    ctx = context_of(request)

    async def run(selection: dict[str, Any]) -> AssignOut | Queued:
        picked = _text(form, "product_type")
        product_type = (
            {"product_type": picked}
            if picked
            else {"product_type_name": _text(form, "product_type_name")}
        )
        body = CreateProductIn.model_validate(
            {
                **selection,
                **product_type,
                "product_name": _text(form, "product_name"),
                "description": _text(form, "description") or None,
            }
        )
        return await action_jobs.create_product(ctx, caller, body, wait=None, claim=True)

    required = (
        (("product_name",), "Enter the name of the new product."),
        (("product_type", "product_type_name"), "Pick a product type or type a new one's name."),
    )
    queued = await _attempt(request, form, "No product was created.", run, required)
    return _back(request, form, queued)


@router.post("/unassigned/disregard", name="web_disregard", dependencies=[Depends(require_csrf)])
async def disregard(request: Request, caller: PageCaller) -> RedirectResponse:
    """Remove the selection; nothing is pushed."""
    form = await request.form()

    async def run(selection: dict[str, Any]) -> DisregardOut | Queued:
        body = DisregardIn.model_validate(selection)
        return await action_jobs.disregard(context_of(request), caller, body, wait=None, claim=True)

    queued = await _attempt(request, form, "Nothing was disregarded.", run)
    return _back(request, form, queued)


@router.get("/unassigned/actions/{action_id}/status", name="web_action_status")
async def action_status(
    request: Request, caller: PageCaller, action_id: int, back: str = ""
) -> HTMLResponse:
    """A running action job's progress (once ended, its result), polled by the list;
    `back` is the list's query, for the link that shows the list as it is now."""
    ctx = context_of(request)
    action = await messages.action_of(ctx, caller, action_id)
    if action is None:
        raise NotFound(f"There is no action {action_id} of yours.")
    list_url = with_query(path_for(request, "web_unassigned"), list_state(back))
    return render(
        request,
        "_action_status.html",
        caller=caller,
        **messages.action_context(action, ctx.settings.dd_url, list_url),
    )


@router.get("/fragments/products", name="web_product_options")
async def product_options(
    request: Request, caller: PageCaller, selected: int | None = None
) -> HTMLResponse:
    """The products the user can see in DefectDojo, as <option>s for a picker."""
    dojo = context_of(request).dojo.with_token(caller.token.get_secret_value())
    try:
        products = sorted(await dojo.list_products(), key=lambda p: p.name.lower())
    except DojoError as error:
        raise DojoUnreachable(f"DefectDojo's products could not be read: {error}") from error
    return render(
        request, "_product_options.html", caller=caller, products=products, selected=selected
    )


@router.get("/fragments/product-types", name="web_product_type_options")
async def product_type_options(request: Request, caller: PageCaller) -> HTMLResponse:
    """The product types the user can see, as <option>s for the type box."""
    dojo = context_of(request).dojo.with_token(caller.token.get_secret_value())
    try:
        types = sorted(await dojo.list_product_types(), key=lambda t: t.name.lower())
    except DojoError as error:
        raise DojoUnreachable(f"DefectDojo's product types could not be read: {error}") from error
    return render(request, "_product_type_options.html", caller=caller, product_types=types)
