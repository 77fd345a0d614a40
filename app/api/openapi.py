"""The error answers every operation can give, written into the OpenAPI document once.

FastAPI documents request validation as 422, but this service answers 400 (DefectDojo's
habit), and it cannot know about the answers given around the routes: 401/502 from the
token check, 413/408 from the body limits. Without them the document would not describe
what clients really receive, so this fills them in, each with the one error shape
`{"detail": "..."}`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}
VALIDATION = "Invalid request: `detail` names each wrong field and why"
AUTHENTICATED = {
    "401": "Missing or invalid DefectDojo token",
    "502": "DefectDojo could not be reached (to check the token, or to act)",
}
WITH_BODY = {
    "408": "The request body stalled",
    "413": "The request body is larger than the limit",
}
BODY_METHODS = frozenset({"post", "put", "patch"})


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` include the error answers described above."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
            for path in schema.get("paths", {}).values():
                for method, operation in path.items():
                    _complete(method, operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if responses.pop("422", None) is not None or operation.get("parameters"):
        responses.setdefault("400", {"description": VALIDATION})
    extra = dict(AUTHENTICATED) if operation.get("security") else {}
    if method in BODY_METHODS:
        extra |= WITH_BODY
        responses.setdefault("400", {"description": VALIDATION})
    for status, description in extra.items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status >= "400" and "content" not in response:
            response["content"] = {"application/json": {"schema": ERROR_REF}}
