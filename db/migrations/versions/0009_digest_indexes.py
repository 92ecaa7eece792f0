"""takedown indexes for the weekly digests

Found by the benchmark suite: at 200,000 takedowns the 13 digests of a busy week took 17 s,
most of it in per-group scans of ix_takedown_group_filed (every request a group ever had, read
from the table) for figures that need a week of rows or one status:

- (decided_at, working_group_id, due_at, filed_at): decided in the period, on time, the median
  and the chart's history, all from the index;
- (working_group_id, status, filed_at): the open requests of a group, counted in the index;
- (counter_filed_at) and (counter_state, closed_at), partial on the rows that have them (a few
  percent): the counter-notices received and ended in the period;
- (seller_key, working_group_id, filed_at) replaces (seller_key): whether a group filed against
  a flagged seller is one index probe (seller_key alone is still its first column);
- intel_report (working_group_id, created_at) gains (tlp, retracted_at): a group's reports up to
  the period's end at the levels a digest may name, for its networks, from the index alone.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTER_FILED = sa.text("counter_filed_at IS NOT NULL")
COUNTER_ENDED = sa.text("counter_state IS NOT NULL")
REPORT_COLUMNS = ["working_group_id", "created_at", "tlp", "retracted_at"]


def upgrade() -> None:
    with op.batch_alter_table("takedown", schema=None) as batch_op:
        batch_op.create_index(
            "ix_takedown_decided", ["decided_at", "working_group_id", "due_at", "filed_at"], unique=False
        )
        batch_op.create_index("ix_takedown_group_status", ["working_group_id", "status", "filed_at"], unique=False)
        batch_op.create_index(
            "ix_takedown_counter_filed",
            ["counter_filed_at"],
            unique=False,
            sqlite_where=COUNTER_FILED,
            postgresql_where=COUNTER_FILED,
        )
        batch_op.create_index(
            "ix_takedown_counter_closed",
            ["counter_state", "closed_at"],
            unique=False,
            sqlite_where=COUNTER_ENDED,
            postgresql_where=COUNTER_ENDED,
        )
        batch_op.create_index("ix_takedown_seller_group", ["seller_key", "working_group_id", "filed_at"], unique=False)
        batch_op.drop_index("ix_takedown_seller_key")
    op.drop_index("ix_intel_report_group_created", table_name="intel_report")
    op.create_index("ix_intel_report_group_created", "intel_report", REPORT_COLUMNS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_intel_report_group_created", table_name="intel_report")
    op.create_index("ix_intel_report_group_created", "intel_report", REPORT_COLUMNS[:2], unique=False)
    with op.batch_alter_table("takedown", schema=None) as batch_op:
        batch_op.create_index("ix_takedown_seller_key", ["seller_key"], unique=False)
        batch_op.drop_index("ix_takedown_seller_group")
        batch_op.drop_index("ix_takedown_counter_closed")
        batch_op.drop_index("ix_takedown_counter_filed")
        batch_op.drop_index("ix_takedown_group_status")
        batch_op.drop_index("ix_takedown_decided")
