"""Configuration, read from the environment when the app starts (never at import time)."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the service. `DD_URL`, `DD_API_TOKEN` and `DATABASE_URL` keep their
    plain names (they are shared with DefectDojo's own tooling); the rest are `SMART_UPLOAD_*`."""

    model_config = SettingsConfigDict(
        env_prefix="SMART_UPLOAD_", extra="ignore", populate_by_name=True
    )

    dd_url: str = Field(
        "http://localhost:8080",
        validation_alias="DD_URL",
        description="Base URL of DefectDojo (without /api/v2).",
    )
    dd_api_token: SecretStr | None = Field(
        None,
        validation_alias="DD_API_TOKEN",
        description="Service token (staff or superuser) used only to read the endpoint index.",
    )
    dd_api_token_file: Path | None = Field(
        None,
        validation_alias="DD_API_TOKEN_FILE",
        description="File holding the service token, read at start (used by the compose stack).",
    )
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/smart_upload",
        validation_alias="DATABASE_URL",
        description="PostgreSQL URL (plain postgresql://user@host:port/db).",
    )
    secret_key: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        description="Key for session cookies and for sealing callers' tokens of queued uploads "
        "and action jobs. Defaults to a random key per process: set one shared value when "
        "several processes (API, workers) share the database, or work queued before a restart "
        "cannot resume.",
    )
    root_path: str = Field("", description="Path prefix when served behind a proxy.")
    run_worker: bool = Field(
        True, description="Run the worker (uploads and action jobs) inside the API process."
    )
    wait_max_bytes: int = Field(
        50 * 1024 * 1024,
        description="Uploads up to this size are processed within the request by default "
        "(201); larger ones answer 202 and run in the background.",
    )
    max_upload_bytes: int = Field(
        2 * 1024 * 1024 * 1024, description="Largest accepted scan file (413 above)."
    )
    chunk_bytes: int = Field(1024 * 1024, description="Size of the chunks an upload is stored in.")
    push_concurrency: int = Field(4, description="Product pushes in flight per upload.")
    max_pushes_in_flight: int = Field(
        16,
        ge=1,
        description="Pushes into DefectDojo in flight in one process, across all its uploads "
        "(each holds one database connection for its engagement lock while DefectDojo works).",
    )
    dd_timeout_seconds: float = Field(30.0, description="Timeout of ordinary DefectDojo calls.")
    dd_import_timeout_seconds: float = Field(
        900.0, description="Read timeout of DefectDojo import/reimport calls."
    )
    dd_retry_attempts: int = Field(5, description="Attempts per DefectDojo operation.")
    dd_retry_initial_wait_seconds: float = Field(
        0.5, description="First wait before retrying a DefectDojo call; later waits double."
    )
    dd_retry_max_wait_seconds: float = Field(
        30.0, description="Longest wait between two attempts (Retry-After is capped to it)."
    )
    token_cache_seconds: float = Field(60.0, description="How long a validated token is trusted.")
    index_refresh_seconds: float = Field(
        900.0, description="Interval of the background refresh of the endpoint index."
    )
    index_page_size: int = Field(1000, description="Endpoint rows per index request.")
    worker_poll_seconds: float = Field(
        2.0, description="Worker poll interval for queued uploads and action jobs."
    )
    lease_seconds: float = Field(
        300.0,
        gt=0,
        description="How long a worker holds an upload (or action job) without renewing its "
        "lease (renewed every third of it); after a crash another worker resumes it once the "
        "lease expires.",
    )
    action_job_threshold: int = Field(
        1000,
        ge=0,
        description="Assign, create-product and disregard actions on more unassigned "
        "findings than this run as a job (202 with a Location to poll); smaller ones answer "
        "within the request by default.",
    )
    action_batch_size: int = Field(
        5000,
        ge=1,
        description="Findings a disregard job removes per transaction.",
    )
    max_attempts: int = Field(
        5,
        ge=1,
        description="Runs of one upload (or action job) before it is marked failed (one that "
        "keeps killing its worker must not loop forever).",
    )
    max_active_uploads_per_user: int = Field(
        8, ge=1, description="Uploads one user may have queued or processing (429 above)."
    )
    request_body_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="A request whose body stalls this long between two chunks is refused (408).",
    )
    ready_timeout_seconds: float = Field(
        3.0, gt=0, description="Time /ready gives the database and DefectDojo to answer."
    )
    test_crash_at: (
        Literal["during_plan", "after_plan", "after_dd_answer", "between_pushes"] | None
    ) = Field(
        None,
        description="Tests only: the process kills itself (SIGKILL) at this point of an "
        "upload, for the crash-recovery tests (docs/reliability.md). Never set it in production.",
    )
    log_level: str = Field("INFO", description="Logging level.")

    @field_validator("root_path")
    @classmethod
    def _strip_root_path(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("dd_url")
    @classmethod
    def _strip_dd_url(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _read_token_file(self) -> Settings:
        if self.dd_api_token is None and self.dd_api_token_file is not None:
            self.dd_api_token = SecretStr(self.dd_api_token_file.read_text().strip())
        return self

    @cached_property
    def async_database_url(self) -> str:
        """DATABASE_URL with the async driver the service uses."""
        scheme, _, rest = self.database_url.partition("://")
        if scheme in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
            return f"postgresql+asyncpg://{rest}"
        return self.database_url


def settings_table() -> str:
    """The configuration table of the README, generated from the fields above."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        variable = alias if isinstance(alias, str) else f"SMART_UPLOAD_{name.upper()}"
        default = info.default
        if info.default_factory is not None:
            shown = "random per process"
        elif default is None or default == "":
            shown = "—"
        else:
            shown = f"`{default}`"
        lines.append(f"| `{variable}` | {shown} | {info.description or ''} |")
    return "\n".join(lines)
