"""A stand-in for the Smart Upload service on loopback, and the summaries it answers with.

The summaries are the example of design section 2b (the contract pipelines parse) and
variations of it; the stand-in records what the CLI sent so tests can check the request.
"""

from __future__ import annotations

import copy
import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp

# Design section 2b, verbatim but for the elided values.
DESIGN_SUMMARY: dict[str, Any] = {
    "id": 17,
    "status": "completed",
    "scan_type": "Tenable Scan",
    "file_name": "weekly.nessus",
    "file_sha256": "0" * 64,
    "created_at": "2026-12-04T10:00:00Z",
    "finished_at": "2026-12-04T10:00:09Z",
    "uploaded_by": {"id": 3, "username": "alice"},
    "records": {
        "parsed": 296,
        "dropped_below_minimum_severity": 0,
        "routed": 120,
        "unassigned": 176,
    },
    "products": [
        {
            "product_id": 4,
            "product_name": "Payments",
            "engagement_id": 9,
            "test_id": 31,
            "push": "reimport",
            "status": "pushed",
            "records": 84,
            "hosts": ["10.0.4.7", "pay-db01.corp.example.com"],
            "statistics": {},
            "error": None,
        }
    ],
    "unassigned": {
        "total": 176,
        "by_reason": {"no_match": 130, "ambiguous": 46},
        "url": "/api/v2/smart_upload/unassigned_findings/?upload=17",
    },
}


def summary(**changes: Any) -> dict[str, Any]:
    """The design's summary with top-level fields replaced."""
    result = copy.deepcopy(DESIGN_SUMMARY)
    result.update(changes)
    return result


def all_routed() -> dict[str, Any]:
    """Every record routed: nothing unassigned."""
    return summary(
        records={"parsed": 84, "dropped_below_minimum_severity": 0, "routed": 84, "unassigned": 0},
        unassigned={"total": 0, "by_reason": {}, "url": None},
    )


@dataclass
class Received:
    fields: dict[str, list[str]]
    file_name: str | None
    file_sha256: str
    headers: dict[str, str]


@dataclass
class StandIn:
    """What the stand-in answers (set by each test) and what it received."""

    base_url: str = ""
    post: tuple[int, dict[str, Any], dict[str, str]] = (201, DESIGN_SUMMARY, {})
    polls: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    posts: list[Received] = field(default_factory=list)
    gets: list[dict[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        self.post = (201, DESIGN_SUMMARY, {})
        self.polls = []
        self.posts = []
        self.gets = []

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v2/smart_upload_import/")
        async def smart_import(request: Request) -> JSONResponse:
            form = await request.form()
            upload = form["file"]
            assert isinstance(upload, UploadFile)
            digest = hashlib.sha256(await upload.read()).hexdigest()
            fields = {key: [str(v) for v in form.getlist(key)] for key in form if key != "file"}
            self.posts.append(Received(fields, upload.filename, digest, dict(request.headers)))
            status, body, headers = self.post
            return JSONResponse(body, status_code=status, headers=headers)

        @app.get("/api/v2/smart_upload/uploads/{upload_id}")
        async def get_upload(upload_id: int, request: Request) -> JSONResponse:
            self.gets.append(dict(request.headers))
            status, body, headers = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
            return JSONResponse(body, status_code=status, headers=headers)

        return app


@contextmanager
def serve_asgi(app: ASGIApp, *, lifespan: str = "off") -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a loopback port; yields its base URL.

    The socket listens before the server thread starts, so requests made at once wait in
    its backlog until uvicorn accepts them: no waiting for the server to come up.
    """
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
