"""action jobs: large actions on unassigned findings run by the workers

Revision ID: 3f9a6c1d7e52
Revises: 8c3f0d6e2a17
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "3f9a6c1d7e52"
down_revision: str | None = "8c3f0d6e2a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_jobs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_username", sa.String(length=150), nullable=False),
        sa.Column("requested_by_superuser", sa.Boolean(), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("product_name", sa.String(length=255), nullable=True),
        sa.Column("up_to_id", sa.BigInteger(), nullable=True),
        sa.Column("selected", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("handled_uploads", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("caller_token", sa.LargeBinary(), nullable=True),
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
    )
    op.create_index(op.f("ix_action_jobs_status"), "action_jobs", ["status"], unique=False)
    op.create_index(
        op.f("ix_action_jobs_requested_by_id"), "action_jobs", ["requested_by_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_action_jobs_requested_by_id"), table_name="action_jobs")
    op.drop_index(op.f("ix_action_jobs_status"), table_name="action_jobs")
    op.drop_table("action_jobs")
