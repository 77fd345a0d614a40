"""Routing rules: validated on write, checked against DefectDojo, recorded with who and when.

A rule may name only a product the caller can see in DefectDojo; a product the caller
cannot see is answered like one that does not exist (404), so rules leak nothing. Every
change bumps the rule-set version, and each process rebuilds its rule index when it sees a
newer version.
"""

from __future__ import annotations

from app.dojo.errors import DojoError
from app.errors import BadRequest, DojoUnreachable, NotFound
from app.matching.rules import InvalidRulePattern, validate_rule_pattern
from app.schemas import RuleIn, RuleUpdate
from app.services.auth import Caller
from app.services.context import Context
from app.services.products import visible_product
from app.store import rules as store
from app.store.models import RoutingRule, RoutingRuleChange


def _pattern(kind: str, pattern: str) -> str:
    try:
        return validate_rule_pattern(kind, pattern)
    except InvalidRulePattern as error:
        raise BadRequest(f"pattern: {error.message}") from error


async def visible_product_ids(ctx: Context, caller: Caller) -> set[int] | None:
    """The products whose rules the caller may see; None for a superuser (all)."""
    if caller.is_superuser:
        return None
    try:
        products = await ctx.dojo.with_token(caller.token.get_secret_value()).list_products()
    except DojoError as error:
        raise DojoUnreachable(f"DefectDojo could not be reached: {error}") from error
    return {product.id for product in products}


async def get_visible(ctx: Context, caller: Caller, rule_id: int) -> RoutingRule:
    async with ctx.sessions() as session:
        rule = await store.get(session, rule_id=rule_id)
    if rule is None:
        raise NotFound(f"no routing rule with id {rule_id}")
    visible = await visible_product_ids(ctx, caller)
    if visible is not None and rule.product_id not in visible:
        raise NotFound(f"no routing rule with id {rule_id}")
    return rule


async def create(ctx: Context, caller: Caller, rule_in: RuleIn) -> RoutingRule:
    pattern = _pattern(rule_in.kind, rule_in.pattern)
    product = await visible_product(ctx, caller, rule_in.product)
    async with ctx.sessions.begin() as session:
        rule = await store.create(
            session,
            changed_by=caller.username,
            kind=rule_in.kind,
            pattern=pattern,
            product_id=product.id,
            product_name=product.name,
            priority=rule_in.priority,
            description=rule_in.description,
        )
    return rule


async def update(ctx: Context, caller: Caller, rule_id: int, change: RuleUpdate) -> RoutingRule:
    current = await get_visible(ctx, caller, rule_id)
    fields: dict[str, object] = {}
    kind = change.kind or current.kind
    if change.pattern is not None or change.kind is not None:
        fields["kind"] = kind
        fields["pattern"] = _pattern(kind, change.pattern or current.pattern)
    if change.product is not None:
        product = await visible_product(ctx, caller, change.product)
        fields["product_id"] = product.id
        fields["product_name"] = product.name
    if change.priority is not None:
        fields["priority"] = change.priority
    if change.description is not None:
        fields["description"] = change.description
    async with ctx.sessions.begin() as session:
        rule = await store.get(session, rule_id=rule_id)
        if rule is None:
            raise NotFound(f"no routing rule with id {rule_id}")
        return await store.update(session, rule=rule, changed_by=caller.username, **fields)


async def delete(ctx: Context, caller: Caller, rule_id: int) -> None:
    await get_visible(ctx, caller, rule_id)
    async with ctx.sessions.begin() as session:
        rule = await store.get(session, rule_id=rule_id)
        if rule is not None:
            await store.delete(session, rule=rule, changed_by=caller.username)


async def history(ctx: Context, caller: Caller, rule_id: int) -> list[RoutingRuleChange]:
    await get_visible(ctx, caller, rule_id)
    async with ctx.sessions() as session:
        return await store.history(session, rule_id=rule_id)
