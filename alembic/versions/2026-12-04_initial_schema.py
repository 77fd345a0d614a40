"""initial schema

Revision ID: 96c715f63b71
Revises:
Create Date: 2026-12-04 20:10:30.936051
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "96c715f63b71"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "host_assignments",
        sa.Column("identifier", sa.String(length=512), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=255), nullable=False),
        sa.Column("assigned_by", sa.String(length=150), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("identifier"),
    )
    op.create_index(
        op.f("ix_host_assignments_product_id"), "host_assignments", ["product_id"], unique=False
    )
    op.create_table(
        "index_endpoints",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=512), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "index_products",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("product_id"),
    )
    op.create_table(
        "index_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("endpoint_count", sa.Integer(), nullable=False),
        sa.Column("product_count", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "uploads",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("scan_type", sa.String(length=128), nullable=False),
        sa.Column("format_name", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=512), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("file_retained", sa.Boolean(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("scope_title", sa.String(length=512), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_username", sa.String(length=150), nullable=False),
        sa.Column("caller_token", sa.LargeBinary(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("records_parsed", sa.Integer(), nullable=False),
        sa.Column("records_dropped", sa.Integer(), nullable=False),
        sa.Column("records_routed", sa.Integer(), nullable=False),
        sa.Column("records_unassigned", sa.Integer(), nullable=False),
        sa.Column("records_pushed", sa.Integer(), nullable=False),
        sa.Column("unassigned_by_reason", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uploaded_by_id", "idempotency_key", name="uq_uploads_idempotency"),
    )
    op.create_index(op.f("ix_uploads_file_sha256"), "uploads", ["file_sha256"], unique=False)
    op.create_index(op.f("ix_uploads_status"), "uploads", ["status"], unique=False)
    op.create_index(op.f("ix_uploads_uploaded_by_id"), "uploads", ["uploaded_by_id"], unique=False)
    op.create_table(
        "product_pushes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("upload_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_name", sa.String(length=255), nullable=False),
        sa.Column("test_title", sa.String(length=512), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=True),
        sa.Column("test_id", sa.Integer(), nullable=True),
        sa.Column("push", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("record_indexes", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("hosts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("statistics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("upload_id", "product_id", "test_title", name="uq_push_target"),
    )
    op.create_index(
        op.f("ix_product_pushes_product_id"), "product_pushes", ["product_id"], unique=False
    )
    op.create_index(op.f("ix_product_pushes_test_id"), "product_pushes", ["test_id"], unique=False)
    op.create_table(
        "unassigned_findings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("upload_id", sa.BigInteger(), nullable=False),
        sa.Column("record_index", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("severity_rank", sa.SmallInteger(), nullable=False),
        sa.Column("scan_type", sa.String(length=128), nullable=False),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reporter", sa.String(length=150), nullable=False),
        sa.Column("host_ip", sa.String(length=64), nullable=True),
        sa.Column("host_fqdn", sa.String(length=512), nullable=True),
        sa.Column("host_netbios", sa.String(length=255), nullable=True),
        sa.Column("host_mac", sa.String(length=64), nullable=True),
        sa.Column("host_display", sa.String(length=512), nullable=False),
        sa.Column("identifiers", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("candidates", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("vulnerability_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("scanner_id", sa.String(length=128), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("upload_id", "record_index", name="uq_unassigned_record"),
    )
    op.create_index("ix_unassigned_date", "unassigned_findings", ["date", "id"], unique=False)
    op.create_index(
        "ix_unassigned_host", "unassigned_findings", ["host_display", "id"], unique=False
    )
    op.create_index("ix_unassigned_reason", "unassigned_findings", ["reason", "id"], unique=False)
    op.create_index(
        "ix_unassigned_reporter_id", "unassigned_findings", ["reporter_id", "id"], unique=False
    )
    op.create_index(
        "ix_unassigned_scan_type", "unassigned_findings", ["scan_type", "id"], unique=False
    )
    op.create_index(
        "ix_unassigned_severity", "unassigned_findings", ["severity_rank", "id"], unique=False
    )
    op.create_index("ix_unassigned_title", "unassigned_findings", ["title", "id"], unique=False)
    op.create_table(
        "upload_chunks",
        sa.Column("upload_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("upload_chunks")
    op.drop_index("ix_unassigned_title", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_severity", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_scan_type", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_reporter_id", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_reason", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_host", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_date", table_name="unassigned_findings")
    op.drop_table("unassigned_findings")
    op.drop_index(op.f("ix_product_pushes_test_id"), table_name="product_pushes")
    op.drop_index(op.f("ix_product_pushes_product_id"), table_name="product_pushes")
    op.drop_table("product_pushes")
    op.drop_index(op.f("ix_uploads_uploaded_by_id"), table_name="uploads")
    op.drop_index(op.f("ix_uploads_status"), table_name="uploads")
    op.drop_index(op.f("ix_uploads_file_sha256"), table_name="uploads")
    op.drop_table("uploads")
    op.drop_table("index_state")
    op.drop_table("index_products")
    op.drop_table("index_endpoints")
    op.drop_index(op.f("ix_host_assignments_product_id"), table_name="host_assignments")
    op.drop_table("host_assignments")
