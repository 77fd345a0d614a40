"""Limits on request bodies, enforced while they stream in (before any route reads them).

- Size: a scan upload may be `SMART_UPLOAD_MAX_UPLOAD_BYTES` plus room for the other form
  fields; any other body 16 MiB. A declared `Content-Length` over the limit is refused at
  once with 413, before a byte of the body is read; a body without one (chunked) is
  counted as it arrives and refused as soon as it passes the limit.
- Slow clients: a body that stalls longer than `SMART_UPLOAD_REQUEST_BODY_TIMEOUT_SECONDS`
  between two chunks is refused with 408, so a client trickling bytes cannot hold a
  connection and a temporary file forever. (Idle keep-alive connections and slow headers
  are uvicorn's job: see docs/reliability.md for its flags.)

Routes never see the difference: the middleware raises inside the body stream, drops
whatever answer the route then makes, and sends its own.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_ALLOWANCE = 1024 * 1024
"""Bytes allowed beyond the file for the multipart framing and the other form fields."""
OTHER_BODY_LIMIT = 16 * 1024 * 1024
UPLOAD_ROUTES = ("/api/v2/smart_upload_import/", "/smart-upload/add")


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = getattr(scope["app"].state, "context", None) if "app" in scope else None
        if scope["type"] != "http" or context is None:
            await self.app(scope, receive, send)
            return
        settings = context.settings
        path = str(scope["path"])
        limit = (
            settings.max_upload_bytes + FORM_ALLOWANCE
            if path.endswith(UPLOAD_ROUTES)
            else OTHER_BODY_LIMIT
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, _too_large(limit))
            return
        refused: _Refused | None = None
        started = False
        received = 0
        complete = False

        async def limited_receive() -> Message:
            nonlocal received, complete, refused
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), settings.request_body_timeout_seconds)
            except TimeoutError:
                refused = _Refused(
                    408,
                    f"the request body stalled for {settings.request_body_timeout_seconds:g} s; "
                    "send it again",
                )
                raise refused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    refused = _Refused(413, _too_large(limit))
                    raise refused
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused is not None:
                return  # the route's answer to a body we cut off; ours is sent below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if refused is None:
                raise  # not ours: an error of the route, for the server's error handling
        if refused is not None and not started:
            await _answer(send, refused.status, refused.detail)


def _too_large(limit: int) -> str:
    return f"the request is larger than the limit of {limit} bytes"


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
