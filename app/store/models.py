"""The service's own tables. Every relationship is `lazy="raise"`: queries live in repositories."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {
        dict[str, Any]: JSONB,
        list[Any]: JSONB,
        dt.datetime: DateTime(timezone=True),
    }


class Upload(Base):
    """One scan file sent to the service, and where its processing stands."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    step: Mapped[str] = mapped_column(String(16), default="stored", server_default="stored")
    """Where a run stands: `stored` (file kept), `planned` (routing and unassigned rows
    recorded, pushes pending), `finished`. A resumed run starts from here."""
    scan_type: Mapped[str] = mapped_column(String(128))
    format_name: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(512))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_size: Mapped[int] = mapped_column(BigInteger)
    file_retained: Mapped[bool] = mapped_column(Boolean, default=True)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scope_title: Mapped[str | None] = mapped_column(String(512))
    uploaded_by_id: Mapped[int] = mapped_column(Integer, index=True)
    uploaded_by_username: Mapped[str] = mapped_column(String(150))
    caller_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    records_parsed: Mapped[int] = mapped_column(Integer, default=0)
    records_dropped: Mapped[int] = mapped_column(Integer, default=0)
    records_routed: Mapped[int] = mapped_column(Integer, default=0)
    records_unassigned: Mapped[int] = mapped_column(Integer, default=0)
    records_pushed: Mapped[int] = mapped_column(Integer, default=0)
    unassigned_by_reason: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    __table_args__ = (
        UniqueConstraint("uploaded_by_id", "idempotency_key", name="uq_uploads_idempotency"),
    )


class UploadChunk(Base):
    """The uploaded file, compressed, in ordered chunks; dropped once nothing needs it."""

    __tablename__ = "upload_chunks"

    upload_id: Mapped[int] = mapped_column(
        ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ProductPush(Base):
    """One product's share of one upload, and its push into one DefectDojo test.

    `record_indexes` is the product's whole share (records routed at upload time plus those
    assigned later): every reimport into the test sends all of it (design section 2a).
    """

    __tablename__ = "product_pushes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(Integer, index=True)
    product_name: Mapped[str] = mapped_column(String(255))
    test_title: Mapped[str] = mapped_column(String(512))
    engagement_id: Mapped[int | None] = mapped_column(Integer)
    test_id: Mapped[int | None] = mapped_column(Integer, index=True)
    push: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Pushes started; a `pending` push with attempts is one whose outcome was never recorded."""
    last_attempt_at: Mapped[dt.datetime | None]
    record_indexes: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    hosts: Mapped[list[Any]] = mapped_column(default=list)
    statistics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)

    __table_args__ = (
        UniqueConstraint("upload_id", "product_id", "test_title", name="uq_push_target"),
    )


class UnassignedFinding(Base):
    """A record no product could take (yet), with what the list shows and a push needs."""

    __tablename__ = "unassigned_findings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"))
    record_index: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    severity_rank: Mapped[int] = mapped_column(SmallInteger)
    scan_type: Mapped[str] = mapped_column(String(128))
    date: Mapped[dt.date | None] = mapped_column(Date)
    reporter_id: Mapped[int] = mapped_column(Integer)
    reporter: Mapped[str] = mapped_column(String(150))
    host_ip: Mapped[str | None] = mapped_column(String(64))
    host_fqdn: Mapped[str | None] = mapped_column(String(512))
    host_netbios: Mapped[str | None] = mapped_column(String(255))
    host_mac: Mapped[str | None] = mapped_column(String(64))
    host_display: Mapped[str] = mapped_column(String(512))
    identifiers: Mapped[list[str]] = mapped_column(ARRAY(Text))
    port: Mapped[int | None] = mapped_column(Integer)
    protocol: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    candidates: Mapped[list[Any]] = mapped_column(default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    vulnerability_ids: Mapped[list[Any]] = mapped_column(default=list)
    scanner_id: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())

    __table_args__ = (
        UniqueConstraint("upload_id", "record_index", name="uq_unassigned_record"),
        Index("ix_unassigned_reporter_id", "reporter_id", "id"),
        Index("ix_unassigned_severity", "severity_rank", "id"),
        Index("ix_unassigned_date", "date", "id"),
        Index("ix_unassigned_host", "host_display", "id"),
        Index("ix_unassigned_title", "title", "id"),
        Index("ix_unassigned_reason", "reason", "id"),
        Index("ix_unassigned_scan_type", "scan_type", "id"),
    )


class HostAssignment(Base):
    """A person's decision that a host belongs to a product; it routes later uploads."""

    __tablename__ = "host_assignments"

    identifier: Mapped[str] = mapped_column(String(512), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, index=True)
    product_name: Mapped[str] = mapped_column(String(255))
    assigned_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())


class IndexEndpoint(Base):
    """The cached copy of DefectDojo's endpoints (product, host, port) the index is built from."""

    __tablename__ = "index_endpoints"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(512))
    port: Mapped[int | None] = mapped_column(Integer)


class IndexProduct(Base):
    """Product names as last read from DefectDojo, for explanations and summaries."""

    __tablename__ = "index_products"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class IndexState(Base):
    """The single row describing the cached index: when it was built and the last error."""

    __tablename__ = "index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    refreshed_at: Mapped[dt.datetime | None]
    endpoint_count: Mapped[int] = mapped_column(Integer, default=0)
    product_count: Mapped[int] = mapped_column(Integer, default=0)
    duration_seconds: Mapped[float | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None]


class RoutingRule(Base):
    """A person's rule: hosts matching `pattern` (a CIDR range or hostname glob) go to a product."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    pattern: Mapped[str] = mapped_column(String(512))
    product_id: Mapped[int] = mapped_column(Integer, index=True)
    product_name: Mapped[str] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())
    updated_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[dt.datetime] = mapped_column(default=_now, onupdate=_now)


class RoutingRuleChange(Base):
    """The history of routing rules: who created, changed or deleted which rule, and when."""

    __tablename__ = "routing_rule_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rule_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str] = mapped_column(String(150))
    changed_at: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ActionJob(Base):
    """An assign, create-product or disregard action on unassigned findings that runs after
    its request has answered (a large selection, or `wait=false`), claimed by a worker like
    an upload.

    The selection is the request's (`ids` or `all_matching`) bounded by `up_to_id`, the
    newest matching finding when the job was created, so findings kept later never join
    it. `handled_uploads` lists the uploads whose findings were pushed (or failed to be):
    a resumed run skips them, and findings already gone are simply not found again.
    """

    __tablename__ = "action_jobs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by_id: Mapped[int] = mapped_column(Integer, index=True)
    requested_by_username: Mapped[str] = mapped_column(String(150))
    requested_by_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    product_id: Mapped[int | None] = mapped_column(Integer)
    product_name: Mapped[str | None] = mapped_column(String(255))
    up_to_id: Mapped[int | None] = mapped_column(BigInteger)
    selected: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    handled_uploads: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    caller_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
