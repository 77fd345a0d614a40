"""The browser pages under `/smart-upload/`: login, Add Findings, an upload's progress and
summary, Unassigned Findings, Routing rules and Uploads.

Server-rendered with Jinja2 over the same services the API uses (never HTTP to itself), with
a small plain script for polling, selection and dialogs; no front-end build step.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.web import login, rules, unassigned, uploads
from app.web.rendering import STATIC_DIR
from app.web.sessions import PREFIX, PageSessions


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and their session cookie on the app."""
    for module in (login, uploads, unassigned, rules):
        app.include_router(module.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="web-static")
    app.add_middleware(PageSessions)
