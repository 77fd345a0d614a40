"""Seeding a `FakeDojoState` from a JSON document (used by `python -m tests.fakedojo`).

Format (every key optional; users, product types and products are referred to by name)::

    {
      "users": [{"username": "admin", "password": "admin", "token": "0123abcd",
                 "is_superuser": true, "is_staff": true, "global_role": null}],
      "product_types": [{"name": "Infrastructure", "members": ["alice"], "role": 4}],
      "products": [{"name": "Payments", "prod_type": "Infrastructure",
                    "members": ["alice"], "role": 4, "description": "card payments"}],
      "engagements": [{"product": "Payments", "name": "Smart Upload"}],
      "endpoints": [{"product": "Payments", "host": "10.0.4.7", "port": 443,
                     "protocol": "https"}]
    }

`role` is DefectDojo 2.x's role id (1 API Importer, 2 Writer, 3 Maintainer, 4 Owner,
5 Reader; default Owner); 3.2 mode treats any membership as `authorized_users`. A product
without `prod_type` goes to DefectDojo's default type "Research and Development" (id 1).
"""

from __future__ import annotations

from typing import Any

from tests.fakedojo.state import ROLE_OWNER, FakeDojoState


def seed_state(state: FakeDojoState, document: dict[str, Any]) -> FakeDojoState:
    """Add the document's objects to `state` (in the order of the format above)."""
    users = {}
    for item in document.get("users", []):
        user = state.add_user(
            item["username"],
            password=item.get("password", "password"),
            token=item.get("token"),
            is_superuser=bool(item.get("is_superuser", False)),
            is_staff=bool(item.get("is_staff", False)),
            global_role=item.get("global_role"),
            first_name=item.get("first_name", ""),
            last_name=item.get("last_name", ""),
            email=item.get("email", ""),
        )
        users[user.username] = user
    types = {pt.name: pt for pt in state.product_types.values()}
    for item in document.get("product_types", []):
        types[item["name"]] = state.add_product_type(
            item["name"],
            members=[users[name] for name in item.get("members", [])],
            role=int(item.get("role", ROLE_OWNER)),
            description=item.get("description"),
        )
    products = {}
    for item in document.get("products", []):
        products[item["name"]] = state.add_product(
            item["name"],
            prod_type=types[item["prod_type"]] if "prod_type" in item else 1,
            members=[users[name] for name in item.get("members", [])],
            role=int(item.get("role", ROLE_OWNER)),
            description=item.get("description", ""),
        )
    for item in document.get("engagements", []):
        state.add_engagement(products[item["product"]].id, item.get("name", "Smart Upload"))
    for item in document.get("endpoints", []):
        state.add_endpoint(
            products[item["product"]].id,
            item["host"],
            port=item.get("port"),
            protocol=item.get("protocol"),
            path=item.get("path"),
        )
    return state
