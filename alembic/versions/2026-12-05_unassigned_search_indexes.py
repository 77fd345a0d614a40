"""unassigned list at scale: trigram indexes for substring filters, indexes for orderings

The list's `host` and `q` filters are case-insensitive substring matches (ILIKE '%...%'),
which no b-tree can serve: with a million rows each was a sequential scan. pg_trgm's GIN
indexes serve them (PostgreSQL combines the per-column indexes of an OR with a BitmapOr).
pg_trgm ships with PostgreSQL and is a trusted extension (13+), so the database owner may
create it.

Revision ID: 8c3f0d6e2a17
Revises: 5d1e7a2c9b40
Create Date: 2026-12-05 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8c3f0d6e2a17"
down_revision: str | None = "5d1e7a2c9b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM_COLUMNS = ("title", "host_display", "host_ip", "host_fqdn", "host_netbios", "description")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM_COLUMNS:
        op.create_index(
            f"ix_unassigned_{column}_trgm",
            "unassigned_findings",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
    op.create_index("ix_unassigned_port", "unassigned_findings", ["port", "id"])
    op.create_index("ix_unassigned_reporter", "unassigned_findings", ["reporter", "id"])
    # the default ordering (by severity) within one upload and within one user's uploads
    op.create_index(
        "ix_unassigned_upload_severity", "unassigned_findings", ["upload_id", "severity_rank", "id"]
    )
    op.create_index(
        "ix_unassigned_reporter_severity",
        "unassigned_findings",
        ["reporter_id", "severity_rank", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_unassigned_reporter_severity", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_upload_severity", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_reporter", table_name="unassigned_findings")
    op.drop_index("ix_unassigned_port", table_name="unassigned_findings")
    for column in reversed(TRIGRAM_COLUMNS):
        op.drop_index(f"ix_unassigned_{column}_trgm", table_name="unassigned_findings")
