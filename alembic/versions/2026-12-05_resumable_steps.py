"""resumable steps: the upload's step, each push's attempts

Revision ID: 5d1e7a2c9b40
Revises: 2bea602fb8f9
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "5d1e7a2c9b40"
down_revision: str | None = "2bea602fb8f9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "uploads",
        sa.Column("step", sa.String(length=16), server_default="stored", nullable=False),
    )
    op.execute("UPDATE uploads SET step = 'finished' WHERE status NOT IN ('queued', 'processing')")
    op.add_column(
        "product_pushes",
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "product_pushes",
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("product_pushes", "last_attempt_at")
    op.drop_column("product_pushes", "attempts")
    op.drop_column("uploads", "step")
