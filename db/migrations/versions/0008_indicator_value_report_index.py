"""the indicator value index carries report_id

Found by the benchmark suite: `/takedown check` and `/takedown status` list up to 20 reports
naming a listing, and network walks map values to reports. With (type, value) only, a listing
named by 4,600 reports at 1M indicators was read row by row and sorted (~15 ms). With report_id
in the index the lookup is covering and stops at the first 20 in order (~1 ms).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("intel_indicator", schema=None) as batch_op:
        batch_op.drop_index("ix_intel_indicator_value")
        batch_op.create_index("ix_intel_indicator_value", ["type", "value", "report_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("intel_indicator", schema=None) as batch_op:
        batch_op.drop_index("ix_intel_indicator_value")
        batch_op.create_index("ix_intel_indicator_value", ["type", "value"], unique=False)
