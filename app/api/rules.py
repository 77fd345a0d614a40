"""Routes of routing rules: list, create, read, change, delete, and a rule's history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from app.api.deps import CallerDep, ContextDep
from app.api.pagination import PageParams, links, page_params
from app.schemas import Page, RuleChangeOut, RuleIn, RuleOut, RuleUpdate
from app.services import rules as service
from app.store import rules as store
from app.store.models import RoutingRule

router = APIRouter(prefix="/api/v2/smart_upload/rules", tags=["routing rules"])
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The rule's id")]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid pattern or field, with the reason"},
    401: {"description": "Missing or invalid DefectDojo token"},
    404: {"description": "Rule or product not found (or not visible to you)"},
}


def rule_out(rule: RoutingRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        kind=rule.kind,
        pattern=rule.pattern,
        product=rule.product_id,
        product_name=rule.product_name,
        priority=rule.priority,
        description=rule.description,
        created_by=rule.created_by,
        created_at=rule.created_at,
        updated_by=rule.updated_by,
        updated_at=rule.updated_at,
    )


@router.get("/", response_model=Page[RuleOut], summary="List routing rules", responses=ERRORS)
async def list_rules(
    request: Request,
    ctx: ContextDep,
    caller: CallerDep,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[RuleOut]:
    """Rules of the products you can see, in precedence order (lower priority first)."""
    visible = await service.visible_product_ids(ctx, caller)
    async with ctx.sessions() as session:
        count, rows = await store.list_page(
            session, product_ids=visible, limit=page.limit, offset=page.offset
        )
    following, preceding = links(request, page, count)
    return Page[RuleOut](
        count=count, next=following, previous=preceding, results=[rule_out(r) for r in rows]
    )


@router.post(
    "/", response_model=RuleOut, status_code=201, summary="Create a rule", responses=ERRORS
)
async def create_rule(rule_in: RuleIn, ctx: ContextDep, caller: CallerDep) -> RuleOut:
    """Create a rule: `cidr` (IPv4/IPv6 network) or `hostname_glob` (`*.corp.example.com`)."""
    return rule_out(await service.create(ctx, caller, rule_in))


@router.get("/{rule_id}/", response_model=RuleOut, summary="One rule", responses=ERRORS)
async def get_rule(rule_id: RuleId, ctx: ContextDep, caller: CallerDep) -> RuleOut:
    """One rule of a product you can see."""
    return rule_out(await service.get_visible(ctx, caller, rule_id))


@router.patch("/{rule_id}/", response_model=RuleOut, summary="Change a rule", responses=ERRORS)
async def update_rule(
    rule_id: RuleId, change: RuleUpdate, ctx: ContextDep, caller: CallerDep
) -> RuleOut:
    """Change some fields of a rule; the change is recorded with who and when."""
    return rule_out(await service.update(ctx, caller, rule_id, change))


@router.put("/{rule_id}/", response_model=RuleOut, summary="Replace a rule", responses=ERRORS)
async def replace_rule(
    rule_id: RuleId, rule_in: RuleIn, ctx: ContextDep, caller: CallerDep
) -> RuleOut:
    """Replace every field of a rule."""
    change = RuleUpdate.model_validate(rule_in.model_dump())
    return rule_out(await service.update(ctx, caller, rule_id, change))


@router.delete("/{rule_id}/", status_code=204, summary="Delete a rule", responses=ERRORS)
async def delete_rule(rule_id: RuleId, ctx: ContextDep, caller: CallerDep) -> Response:
    """Delete a rule; the deletion is recorded with who and when."""
    await service.delete(ctx, caller, rule_id)
    return Response(status_code=204)


@router.get(
    "/{rule_id}/history/",
    response_model=list[RuleChangeOut],
    summary="Who changed a rule, and when",
    responses=ERRORS,
)
async def rule_history(rule_id: RuleId, ctx: ContextDep, caller: CallerDep) -> list[RuleChangeOut]:
    """Every change of the rule, oldest first."""
    changes = await service.history(ctx, caller, rule_id)
    return [RuleChangeOut.model_validate(change, from_attributes=True) for change in changes]
