"""The DefectDojo the reliability tests start from, as a seed document for the double."""

from __future__ import annotations

from typing import Any

ADMIN_TOKEN = "admin-token-0000"
SERVICE_TOKEN = "indexer-token-0000"
USER_TOKENS = {name: f"{name}-token-0000" for name in ("alice", "bob", "carol", "dave")}

# nessus_v_unknown.xml: qa3app01-03 belong to one product each, qa3app04 to two
# (ambiguous), qa3app05, qa3app06 and qa3app09 to none (no_match).
ENDPOINTS = [
    ("Payments", "qa3app01"),
    ("Payments", "qa3app02"),
    ("Build", "qa3app03"),
    ("Payments", "qa3app04"),
    ("Build", "qa3app04"),
]


def seed(*, members: tuple[str, ...] = ("alice",)) -> dict[str, Any]:
    return {
        "users": [
            {"username": "admin", "token": ADMIN_TOKEN, "is_superuser": True, "is_staff": True},
            {
                "username": "indexer",
                "token": SERVICE_TOKEN,
                "is_superuser": True,
                "is_staff": True,
            },
            *({"username": name, "token": USER_TOKENS[name]} for name in USER_TOKENS),
        ],
        "products": [
            {"name": "Payments", "members": list(members)},
            {"name": "Build", "members": list(members)},
        ],
        "endpoints": [{"product": p, "host": h} for p, h in ENDPOINTS],
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}
