"""enforcement cases and digests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 03:28:58.575003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import db.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.Column('period_start', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('posted', 'skipped', name='digestrunstatus', native_enum=False, length=16), nullable=False),
    sa.Column('claimed_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_run')),
    sa.UniqueConstraint('scope', 'period_end', name='uq_digest_run_period')
    )
    op.create_table('digest_schedule',
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.Column('cron', sa.String(length=120), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_digest_schedule'))
    )
    op.create_table('digest_subscription',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('scope', sa.String(length=80), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'scope', name=op.f('pk_digest_subscription'))
    )
    op.create_table('enforcement_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('working_group_id', sa.Integer(), nullable=False),
    sa.Column('logged_by', sa.BigInteger(), nullable=False),
    sa.Column('action_date', sa.Date(), nullable=False),
    sa.Column('arrests', sa.Integer(), nullable=False),
    sa.Column('locations', sa.Integer(), nullable=False),
    sa.Column('seizure_value', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('intel_report_id', sa.Integer(), nullable=True),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['intel_report_id'], ['intel_report.id'], name=op.f('fk_enforcement_case_intel_report_id_intel_report')),
    sa.ForeignKeyConstraint(['working_group_id'], ['working_group.id'], name=op.f('fk_enforcement_case_working_group_id_working_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enforcement_case'))
    )
    with op.batch_alter_table('enforcement_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enforcement_case_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_enforcement_case_group_date', ['working_group_id', 'action_date'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachment_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('attachment', sa.LargeBinary(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('attachment')
        batch_op.drop_column('attachment_name')

    with op.batch_alter_table('enforcement_case', schema=None) as batch_op:
        batch_op.drop_index('ix_enforcement_case_group_date')
        batch_op.drop_index(batch_op.f('ix_enforcement_case_created_at'))

    op.drop_table('enforcement_case')
    op.drop_table('digest_subscription')
    op.drop_table('digest_schedule')
    op.drop_table('digest_run')
