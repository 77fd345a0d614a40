"""The Routing rules page: list, add, edit and delete rules, and test where a host would go.

Rules are written through the rules service, so the page shows exactly the API's
validation messages (a bad CIDR, a glob that cannot match, a product the user cannot see).
The "test a host" box asks the same router that routes uploads, so its explanation is the
one the next upload will follow.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.dojo.errors import DojoError
from app.dojo.models import Product
from app.errors import AppError, DojoUnreachable
from app.matching.router import Decision
from app.schemas import RuleIn, RuleUpdate
from app.services import rules as service
from app.services.auth import Caller
from app.store import rules as store
from app.store.models import RoutingRule
from app.web import labels
from app.web.rendering import PageRoute, path_for, render
from app.web.sessions import context_of, flash, page_caller, require_csrf

router = APIRouter(prefix="/smart-upload", route_class=PageRoute, include_in_schema=False)

PageCaller = Annotated[Caller, Depends(page_caller)]
MAX_RULES_SHOWN = 1000
MAX_HOST_CHARS = 512
RULE_FIELDS = ("kind", "pattern", "product", "priority", "description")


def _blank_rule() -> dict[str, Any]:
    return {"kind": "cidr", "pattern": "", "product": "", "priority": "100", "description": ""}


def _rule_values(rule: RoutingRule) -> dict[str, Any]:
    return {
        "kind": rule.kind,
        "pattern": rule.pattern,
        "product": str(rule.product_id),
        "priority": str(rule.priority),
        "description": rule.description,
    }


def _form_values(form: FormData) -> dict[str, Any]:
    return {
        name: value.strip() if isinstance(value := form.get(name), str) else ""
        for name in RULE_FIELDS
    }


class _Incomplete(Exception):
    """A required field of the rule form is blank."""


def _rule_in(values: dict[str, Any]) -> RuleIn:
    """The form as the API's RuleIn (its validation messages are the API's); a blank
    priority means the default."""
    if not values["pattern"]:
        raise _Incomplete(
            "Pattern: enter a CIDR range such as 10.20.0.0/16 or a host name pattern such "
            "as *.corp.example.com."
        )
    if not values["product"]:
        raise _Incomplete("Product: pick the product these hosts belong to.")
    return RuleIn.model_validate({name: value for name, value in values.items() if value != ""})


def _problem(error: Exception) -> tuple[str, int]:
    if isinstance(error, ValidationError):
        return labels.validation_message(error), 400
    if isinstance(error, AppError):
        return error.detail, error.status_code
    return str(error), 400


async def _products(request: Request, caller: Caller) -> list[Product]:
    dojo = context_of(request).dojo.with_token(caller.token.get_secret_value())
    try:
        return sorted(await dojo.list_products(), key=lambda p: p.name.lower())
    except DojoError as error:
        raise DojoUnreachable(f"DefectDojo's products could not be read: {error}") from error


def _test_host(host: str, port_text: str) -> tuple[dict[str, str], str | None]:
    host = host.strip()
    port_text = port_text.strip()
    error = None
    if len(host) > MAX_HOST_CHARS:
        error = f"The host is longer than {MAX_HOST_CHARS} characters."
    elif port_text and (not port_text.isdigit() or int(port_text) > 65535):
        error = "The port must be a number from 0 to 65535."
    return {"host": host, "port": port_text}, error


async def _explain(request: Request, host: str, port_text: str) -> dict[str, Any] | None:
    if not host:
        return None
    ctx = context_of(request)
    router_ = await ctx.index.router()
    decision: Decision = router_.route_host(host, int(port_text) if port_text else None)
    return {
        "decision": decision.decision,
        "product": ctx.index.product_name(decision.product_id) if decision.product_id else None,
        "product_id": decision.product_id,
        "level": labels.LEVELS.get(decision.level or "", None),
        "matched": decision.matched,
        "candidates": [(pid, ctx.index.product_name(pid)) for pid in decision.candidates],
        "explanation": decision.explanation,
    }


async def _rules_page(
    request: Request,
    caller: Caller,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ctx = context_of(request)
    visible = await service.visible_product_ids(ctx, caller)
    async with ctx.sessions() as session:
        count, rules = await store.list_page(
            session, product_ids=visible, limit=MAX_RULES_SHOWN, offset=0
        )
    tested, test_error = _test_host(
        request.query_params.get("host", ""), request.query_params.get("port", "")
    )
    explanation = None
    if test_error is None:
        explanation = await _explain(request, tested["host"], tested["port"])
    return render(
        request,
        "rules.html",
        caller=caller,
        status_code=status_code,
        rules=rules,
        count=count,
        shown_limit=MAX_RULES_SHOWN,
        products=await _products(request, caller),
        values=values or _blank_rule(),
        errors=errors or [],
        tested=tested,
        test_error=test_error,
        explanation=explanation,
        kinds=labels.RULE_KINDS,
    )


@router.get("/rules", name="web_rules")
async def rules_page(request: Request, caller: PageCaller) -> HTMLResponse:
    return await _rules_page(request, caller)


@router.post("/rules", name="web_add_rule", dependencies=[Depends(require_csrf)])
async def add_rule(request: Request, caller: PageCaller) -> Response:
    values = _form_values(await request.form())
    try:
        rule = await service.create(context_of(request), caller, _rule_in(values))
    except (ValidationError, AppError, _Incomplete) as error:
        message, status = _problem(error)
        return await _rules_page(
            request, caller, values=values, errors=[message], status_code=status
        )
    flash(request, "success", f"Rule {rule.id} added: {_describe(rule)}.")
    return RedirectResponse(path_for(request, "web_rules"), status_code=303)


@router.get("/rules/{rule_id}/edit", name="web_edit_rule")
async def edit_rule_page(request: Request, caller: PageCaller, rule_id: int) -> HTMLResponse:
    rule = await service.get_visible(context_of(request), caller, rule_id)
    return await _edit_page(request, caller, rule, _rule_values(rule), [])


async def _edit_page(
    request: Request,
    caller: Caller,
    rule: RoutingRule,
    values: dict[str, Any],
    errors: list[str],
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "rule_edit.html",
        caller=caller,
        status_code=status_code,
        rule=rule,
        values=values,
        errors=errors,
        products=await _products(request, caller),
        kinds=labels.RULE_KINDS,
    )


@router.post("/rules/{rule_id}", name="web_update_rule", dependencies=[Depends(require_csrf)])
async def update_rule(request: Request, caller: PageCaller, rule_id: int) -> Response:
    ctx = context_of(request)
    rule = await service.get_visible(ctx, caller, rule_id)
    values = _form_values(await request.form())
    try:
        change = RuleUpdate.model_validate(_rule_in(values).model_dump())
        rule = await service.update(ctx, caller, rule_id, change)
    except (ValidationError, AppError, _Incomplete) as error:
        message, status = _problem(error)
        return await _edit_page(request, caller, rule, values, [message], status_code=status)
    flash(request, "success", f"Rule {rule.id} saved: {_describe(rule)}.")
    return RedirectResponse(path_for(request, "web_rules"), status_code=303)


@router.post(
    "/rules/{rule_id}/delete", name="web_delete_rule", dependencies=[Depends(require_csrf)]
)
async def delete_rule(request: Request, caller: PageCaller, rule_id: int) -> RedirectResponse:
    ctx = context_of(request)
    rule = await service.get_visible(ctx, caller, rule_id)
    described = _describe(rule)
    await service.delete(ctx, caller, rule_id)
    flash(request, "success", f"Rule {rule_id} deleted ({described}).")
    return RedirectResponse(path_for(request, "web_rules"), status_code=303)


def _describe(rule: RoutingRule) -> str:
    kind = labels.RULE_KINDS.get(rule.kind, rule.kind)
    return f"{kind} {rule.pattern} → {rule.product_name}, priority {rule.priority}"
