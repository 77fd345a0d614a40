"""The DefectDojo products a caller may name, as DefectDojo itself decides.

A product the caller cannot see is answered like one that does not exist (404), so neither
a routing rule nor an assignment tells anyone which products exist.
"""

from __future__ import annotations

from app.dojo.errors import DojoError, DojoNotFound, DojoPermissionDenied
from app.dojo.models import Product
from app.errors import DojoUnreachable, NotFound
from app.services.auth import Caller
from app.services.context import Context


async def visible_product(ctx: Context, caller: Caller, product_id: int) -> Product:
    """The product, read with the caller's own token; NotFound when the caller cannot see it."""
    try:
        return await ctx.dojo.with_token(caller.token.get_secret_value()).get_product(product_id)
    except (DojoNotFound, DojoPermissionDenied) as error:
        raise NotFound(f"product {product_id} does not exist or you cannot see it") from error
    except DojoError as error:
        raise DojoUnreachable(f"DefectDojo could not be reached: {error}") from error
