"""Request plumbing shared by the routes: the app's context and DRF-like body parsing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from tests.fakedojo.faults import LatencyModel
from tests.fakedojo.http import ApiError, authenticate, validation_error
from tests.fakedojo.state import FakeDojoState, User

VERSIONS = ("3.2", "2.58")
FormValue = str | UploadFile | list[str]


@dataclass(frozen=True)
class Context:
    """What every route needs: the state, the emulated version, the latency model."""

    state: FakeDojoState
    version: str
    latency: LatencyModel | None

    def user(self, request: Request) -> User:
        return authenticate(request, self.state)


def context(request: Request) -> Context:
    ctx: Context = request.app.state.fakedojo
    return ctx


async def read_data(request: Request) -> dict[str, FormValue]:
    """The request body as DRF's `request.data`: JSON, urlencoded or multipart."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            data = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            raise ApiError(400, {"message": "JSON request content is malformed"}) from None
        if not isinstance(data, dict):
            raise validation_error(
                {
                    "non_field_errors": [
                        ("Invalid data. Expected a dictionary, but got list.", "invalid")
                    ]
                }
            )
        return {str(k): v if isinstance(v, list) else _scalar(v) for k, v in data.items()}
    form = await request.form(max_files=10, max_fields=1000, max_part_size=1024 * 1024 * 1024)
    result: dict[str, FormValue] = {}
    for key in form:
        values = form.getlist(key)
        if key == "tags":
            result[key] = [str(v) for v in values]
        else:
            result[key] = values[-1]
    return result


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
