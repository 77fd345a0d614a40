"""Queries on routing rules and their history."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.models import RoutingRule, RoutingRuleChange

AUDITED_FIELDS = ("kind", "pattern", "product_id", "product_name", "priority", "description")


def _snapshot(rule: RoutingRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in AUDITED_FIELDS}


async def list_page(
    session: AsyncSession, *, product_ids: Collection[int] | None, limit: int, offset: int
) -> tuple[int, list[RoutingRule]]:
    """Rules in precedence order (priority, then id); only of `product_ids` when given."""
    query = select(RoutingRule)
    if product_ids is not None:
        query = query.where(RoutingRule.product_id.in_(list(product_ids)))
    count = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(RoutingRule.priority, RoutingRule.id).limit(limit).offset(offset)
    )
    return int(count or 0), list(rows)


async def all_rules(session: AsyncSession) -> list[RoutingRule]:
    return list(await session.scalars(select(RoutingRule)))


async def get(session: AsyncSession, *, rule_id: int) -> RoutingRule | None:
    return (await session.scalars(select(RoutingRule).where(RoutingRule.id == rule_id))).first()


async def version(session: AsyncSession) -> int:
    """Grows with every change to any rule; tells a process its rule set is stale."""
    latest = await session.scalar(select(func.max(RoutingRuleChange.id)))
    return int(latest or 0)


async def create(session: AsyncSession, *, changed_by: str, **fields: Any) -> RoutingRule:
    rule = RoutingRule(**fields, created_by=changed_by, updated_by=changed_by)
    session.add(rule)
    await session.flush()
    session.add(
        RoutingRuleChange(
            rule_id=rule.id, action="create", changed_by=changed_by, after=_snapshot(rule)
        )
    )
    return rule


async def update(
    session: AsyncSession, *, rule: RoutingRule, changed_by: str, **fields: Any
) -> RoutingRule:
    before = _snapshot(rule)
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.updated_by = changed_by
    await session.flush()
    session.add(
        RoutingRuleChange(
            rule_id=rule.id,
            action="update",
            changed_by=changed_by,
            before=before,
            after=_snapshot(rule),
        )
    )
    return rule


async def delete(session: AsyncSession, *, rule: RoutingRule, changed_by: str) -> None:
    session.add(
        RoutingRuleChange(
            rule_id=rule.id, action="delete", changed_by=changed_by, before=_snapshot(rule)
        )
    )
    await session.delete(rule)
    await session.flush()


async def history(session: AsyncSession, *, rule_id: int) -> list[RoutingRuleChange]:
    rows = await session.scalars(
        select(RoutingRuleChange)
        .where(RoutingRuleChange.rule_id == rule_id)
        .order_by(RoutingRuleChange.id)
    )
    return list(rows)
