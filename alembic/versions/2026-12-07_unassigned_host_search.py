"""unassigned list: one trigram index for the `host` filter, one for severity + reason + date

The `host` filter matches any of four identifiers (display name, IP, FQDN, NetBIOS name).
With one trigram index per column, PostgreSQL ran four GIN searches and OR-ed the bitmaps;
a GIN search for a pattern like `host01234` walks the posting lists of its frequent
trigrams (`hos`, `ost`, ...), ~10 ms each at 1,000,000 rows, and three of the four columns
hold the same frequent trigrams. One index over the identifiers joined with spaces (pg_trgm
splits words at spaces anyway) needs one search; the query keeps the per-column ILIKEs as
the exact condition (`app/store/unassigned.py`, HOST_SEARCH — the expression must stay the
same text as here, or the planner will not match the index). The IP, FQDN and NetBIOS
trigram indexes served only this filter and go; title, display name and description stay
for the keyword filter `q`.

(severity_rank, reason, date) serves the filters people combine in the list's filter bar:
the page's bounded count (up to 10,001 matches) of severity + reason + a date range was a
sequential scan through ~170,000 wide rows (35-50 ms at 1,000,000 rows); with the index it
is an index-only scan of the matches (under 1 ms).

Revision ID: b7e41c9d2f06
Revises: 3f9a6c1d7e52
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "b7e41c9d2f06"
down_revision: str | None = "3f9a6c1d7e52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOST_SEARCH = (
    "(coalesce(unassigned_findings.host_display, '') || ' ' || "
    "coalesce(unassigned_findings.host_ip, '') || ' ' || "
    "coalesce(unassigned_findings.host_fqdn, '') || ' ' || "
    "coalesce(unassigned_findings.host_netbios, ''))"
)
SINGLE_COLUMNS = ("host_ip", "host_fqdn", "host_netbios")


def upgrade() -> None:
    op.create_index(
        "ix_unassigned_host_search_trgm",
        "unassigned_findings",
        [sa.text(f"{HOST_SEARCH} gin_trgm_ops")],
        postgresql_using="gin",
    )
    for column in SINGLE_COLUMNS:
        op.drop_index(f"ix_unassigned_{column}_trgm", table_name="unassigned_findings")
    op.create_index(
        "ix_unassigned_severity_reason_date",
        "unassigned_findings",
        ["severity_rank", "reason", "date"],
    )


def downgrade() -> None:
    op.drop_index("ix_unassigned_severity_reason_date", table_name="unassigned_findings")
    for column in SINGLE_COLUMNS:
        op.create_index(
            f"ix_unassigned_{column}_trgm",
            "unassigned_findings",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
    op.drop_index("ix_unassigned_host_search_trgm", table_name="unassigned_findings")
