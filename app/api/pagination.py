"""DefectDojo-style pagination: limit/offset with absolute next/previous links."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from pydantic import BaseModel

DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
MAX_OFFSET = 2**63 - 1
"""Postgres' OFFSET is a bigint; a larger one would reach the database and fail there."""


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")] = 0,
) -> PageParams:
    """The page asked for (async: FastAPI runs a plain function in a worker thread)."""
    return PageParams(limit=limit, offset=offset)


def links(request: Request, page: PageParams, count: int) -> tuple[str | None, str | None]:
    """The `next` and `previous` URLs of a page, as DefectDojo builds them."""
    following = None
    if page.offset + page.limit < count:
        following = str(
            request.url.include_query_params(limit=page.limit, offset=page.offset + page.limit)
        )
    preceding = None
    if page.offset > 0:
        back = max(page.offset - page.limit, 0)
        url = request.url.include_query_params(limit=page.limit)
        preceding = str(
            url.remove_query_params("offset")
            if back == 0
            else url.include_query_params(offset=back)
        )
    return following, preceding
