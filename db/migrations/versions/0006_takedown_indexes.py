"""takedown indexes for the SLA loop's next deadline and for seller flags

Found by the benchmark suite: at 200,000 takedowns the next-deadline query took ~90 ms after
every filing and the seller-flag count ~100 ms per /takedown check.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("takedown", schema=None) as batch_op:
        batch_op.create_index("ix_takedown_status_at_risk", ["status", "at_risk_at"], unique=False)
        batch_op.create_index("ix_takedown_seller_flags", ["seller_key", "status", "listing_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("takedown", schema=None) as batch_op:
        batch_op.drop_index("ix_takedown_seller_flags")
        batch_op.drop_index("ix_takedown_status_at_risk")
