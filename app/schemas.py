"""The shapes the API reads and answers (design section 2b). Field names are a contract:
pipelines parse them. Add fields freely; rename none."""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.dojo.models import GroupBy

T = TypeVar("T")

Severity = Literal["Info", "Low", "Medium", "High", "Critical"]
Reason = Literal["no_match", "ambiguous", "no_host", "forbidden", "push_failed"]


class UploadOptions(BaseModel):
    """DefectDojo's import options, kept with the upload and sent with every push of it."""

    model_config = ConfigDict(extra="forbid")

    scan_date: dt.date | None = None
    minimum_severity: Severity = "Info"
    active: bool | None = None
    verified: bool = True
    tags: list[str] = Field(default_factory=list)
    version: str | None = Field(None, max_length=100)
    branch_tag: str | None = Field(None, max_length=150)
    commit_hash: str | None = Field(None, max_length=150)
    build_id: str | None = Field(None, max_length=150)
    group_by: GroupBy | None = None
    close_old_findings: bool = False
    engagement_name: str = Field("Smart Upload", min_length=1, max_length=255)
    test_title: str | None = Field(None, max_length=255)

    @field_validator("tags", mode="before")
    @classmethod
    def _split_tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [tag.strip() for tag in value.split(",") if tag.strip()]
        if isinstance(value, list):
            return [tag.strip() for item in value for tag in str(item).split(",") if tag.strip()]
        return value


class UserRef(BaseModel):
    id: int
    username: str


class RecordCounts(BaseModel):
    parsed: int
    dropped_below_minimum_severity: int
    routed: int
    unassigned: int
    pushed: int = 0


class PlanItem(BaseModel):
    title: str
    severity: str
    host: str
    port: int | None
    protocol: str | None
    reason: str | None = None
    explanation: str


class ProductResult(BaseModel):
    product_id: int
    product_name: str
    engagement_id: int | None = None
    test_id: int | None = None
    test_title: str | None = None
    push: Literal["import", "reimport"] | None = None
    status: Literal["pending", "pushed", "failed", "planned"]
    records: int
    hosts: list[str]
    statistics: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    items: list[PlanItem] | None = None
    attempts: int = 0
    """Pushes of this share started so far (a pending push with attempts was interrupted)."""


class UnassignedSummary(BaseModel):
    total: int
    by_reason: dict[str, int]
    url: str | None = None
    items: list[PlanItem] | None = None


class UploadSummary(BaseModel):
    id: int | None
    status: str
    scan_type: str
    file_name: str
    file_sha256: str
    file_size: int
    scope_title: str | None = None
    created_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    uploaded_by: UserRef
    records: RecordCounts
    products: list[ProductResult]
    unassigned: UnassignedSummary
    error: str | None = None
    dry_run: bool = False
    step: str | None = None
    """Where processing stands: stored, planned, finished (None for a dry run)."""


class Page(BaseModel, Generic[T]):
    """DefectDojo-style pagination."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]


class HostOut(BaseModel):
    ip: str | None
    fqdn: str | None
    netbios: str | None
    mac: str | None


class Candidate(BaseModel):
    product_id: int
    product_name: str


class UnassignedFindingOut(BaseModel):
    id: int
    upload_id: int
    title: str
    severity: str
    scan_type: str
    date: dt.date | None
    reporter: str
    host: HostOut
    port: int | None
    protocol: str | None
    reason: str
    candidates: list[Candidate]
    explanation: str
    vulnerability_ids: list[str]
    scanner_id: str | None
    error: str | None = None


class UnassignedFilterIn(BaseModel):
    """Filters of the unassigned list, also usable as `all_matching` in actions."""

    model_config = ConfigDict(extra="forbid")

    upload: int | None = Field(None, ge=1, le=2**63 - 1)
    scan_type: str | None = Field(None, max_length=128)
    severity: Severity | None = None
    host: str | None = Field(None, max_length=255)
    reason: Reason | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    q: str | None = Field(None, max_length=255)


class Selection(BaseModel):
    """Which unassigned findings an action applies to: `ids`, or all matching a filter."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = Field(None, max_length=100_000)
    all_matching: UnassignedFilterIn | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> Selection:
        if (self.ids is None) == (self.all_matching is None):
            raise ValueError("send either 'ids' (a list of finding ids) or 'all_matching'")
        if self.ids is not None and not self.ids:
            raise ValueError("'ids' is empty: select at least one finding")
        return self


class AssignIn(Selection):
    product: int = Field(ge=1)


class CreateProductIn(Selection):
    product_name: str = Field(min_length=1, max_length=255)
    product_type: int | None = Field(None, ge=1)
    product_type_name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _one_product_type(self) -> CreateProductIn:
        if (self.product_type is None) == (self.product_type_name is None):
            raise ValueError("send either 'product_type' (an id) or 'product_type_name'")
        return self


class DisregardIn(Selection):
    pass


class PushResult(BaseModel):
    product_id: int
    product_name: str | None = None
    test_id: int | None
    records: int
    status: Literal["pushed", "failed"]
    error: str | None


class AssignOut(BaseModel):
    assigned: int
    product_id: int | None = None
    results: list[PushResult]


class DisregardOut(BaseModel):
    disregarded: int


ActionKind = Literal["assign", "create_product", "disregard"]
ActionStatus = Literal["queued", "running", "finished", "failed"]


class ActionProgress(BaseModel):
    selected: int = Field(description="Findings the selection held when the job was created")
    done: int = Field(description="Findings handled so far (pushed, failed or disregarded)")


class ActionJobOut(BaseModel):
    """An action on unassigned findings running after its request answered (202)."""

    id: int
    kind: ActionKind
    status: ActionStatus
    requested_by: UserRef
    request: dict[str, Any] = Field(
        description="The action's body as sent, without `ids` (counted in `progress.selected`)"
    )
    product_id: int | None = None
    product_name: str | None = None
    progress: ActionProgress
    result: AssignOut | DisregardOut | None = Field(
        None,
        description="The answer the action would have given within its request; set once "
        "the job has ended (a failed job shows what it did before it stopped)",
    )
    error: str | None = None
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    url: str


class RouteOut(BaseModel):
    host: str
    port: int | None
    decision: Literal["routed", "ambiguous", "no_match", "no_host"]
    product_id: int | None
    product_name: str | None
    level: str | None
    matched: str | None
    candidates: list[Candidate]
    explanation: str


class IndexOut(BaseModel):
    endpoints: int
    products: int
    refreshed_at: dt.datetime | None
    age_seconds: float | None
    duration_seconds: float | None
    last_error: str | None
    last_error_at: dt.datetime | None


RuleKind = Literal["cidr", "hostname_glob"]


class RuleIn(BaseModel):
    """A routing rule to create: hosts matching `pattern` go to `product`."""

    model_config = ConfigDict(extra="forbid")

    kind: RuleKind
    pattern: str = Field(min_length=1, max_length=512)
    product: int = Field(ge=1)
    priority: int = Field(100, ge=0, le=1_000_000, description="Lower wins")
    description: str = Field("", max_length=2000)


class RuleUpdate(BaseModel):
    """Fields of a rule to change; omitted ones stay."""

    model_config = ConfigDict(extra="forbid")

    kind: RuleKind | None = None
    pattern: str | None = Field(None, min_length=1, max_length=512)
    product: int | None = Field(None, ge=1)
    priority: int | None = Field(None, ge=0, le=1_000_000)
    description: str | None = Field(None, max_length=2000)


class RuleOut(BaseModel):
    id: int
    kind: str
    pattern: str
    product: int
    product_name: str
    priority: int
    description: str
    created_by: str
    created_at: dt.datetime
    updated_by: str
    updated_at: dt.datetime


class RuleChangeOut(BaseModel):
    action: str
    changed_by: str
    changed_at: dt.datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
