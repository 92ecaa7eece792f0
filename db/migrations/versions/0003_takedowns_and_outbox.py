"""takedowns and outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 02:47:42.730317
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import db.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('fallback_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('ping_user_id', sa.BigInteger(), nullable=True),
    sa.Column('view', sa.JSON(), nullable=True),
    sa.Column('edit_message_id', sa.BigInteger(), nullable=True),
    sa.Column('subject', sa.String(length=120), nullable=True),
    sa.Column('status', sa.Enum('pending', 'delivered', 'failed', name='outboxstatus', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('takedown_bulk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filer_id', sa.BigInteger(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('filed', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_takedown_bulk_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_takedown_bulk'))
    )
    with op.batch_alter_table('takedown_bulk', schema=None) as batch_op:
        batch_op.create_index('ix_takedown_bulk_filer_at', ['filer_id', 'uploaded_at'], unique=False)

    op.create_table('takedown',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('right_id', sa.Integer(), nullable=False),
    sa.Column('working_group_id', sa.Integer(), nullable=True),
    sa.Column('guild_id', sa.BigInteger(), nullable=True),
    sa.Column('filer_id', sa.BigInteger(), nullable=False),
    sa.Column('bulk_id', sa.Integer(), nullable=True),
    sa.Column('marketplace', sa.String(length=32), nullable=False),
    sa.Column('listing_key', sa.String(length=600), nullable=False),
    sa.Column('listing_url', sa.String(length=2048), nullable=False),
    sa.Column('submitted_url', sa.String(length=2048), nullable=False),
    sa.Column('reason', sa.Enum('counterfeit', 'trademark', 'copyright', 'patent', 'design', name='takedownreason', native_enum=False, length=16), nullable=False),
    sa.Column('seller_key', sa.String(length=200), nullable=True),
    sa.Column('seller_text', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('good_faith_statement', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'needs_info', 'removed', 'rejected', 'withdrawn', 'reinstated', name='takedownstatus', native_enum=False, length=16), nullable=False),
    sa.Column('filed_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('at_risk_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('closed_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('at_risk_alerted_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('breach_alerted_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('counter_state', sa.Enum('awaiting_filer', 'awaiting_review', 'upheld', 'reinstated', name='counterstate', native_enum=False, length=16), nullable=True),
    sa.Column('counter_filed_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('counter_deadline', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('counter_note', sa.Text(), nullable=True),
    sa.Column('review_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('review_message_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['bulk_id'], ['takedown_bulk.id'], name=op.f('fk_takedown_bulk_id_takedown_bulk')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_takedown_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['right_id'], ['ip_right.id'], name=op.f('fk_takedown_right_id_ip_right')),
    sa.ForeignKeyConstraint(['working_group_id'], ['working_group.id'], name=op.f('fk_takedown_working_group_id_working_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_takedown'))
    )
    with op.batch_alter_table('takedown', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_takedown_counter_deadline'), ['counter_deadline'], unique=False)
        batch_op.create_index('ix_takedown_filer_filed', ['filer_id', 'filed_at'], unique=False)
        batch_op.create_index('ix_takedown_group_filed', ['working_group_id', 'filed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_takedown_listing_key'), ['listing_key'], unique=False)
        batch_op.create_index('ix_takedown_org_filed', ['organisation_id', 'filed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_takedown_seller_key'), ['seller_key'], unique=False)
        batch_op.create_index('ix_takedown_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('uq_takedown_active_listing', ['organisation_id', 'listing_key'], unique=True, sqlite_where=sa.text("status IN ('submitted', 'needs_info', 'removed')"), postgresql_where=sa.text("status IN ('submitted', 'needs_info', 'removed')"))

    op.create_table('takedown_pause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('takedown_id', sa.Integer(), nullable=False),
    sa.Column('started_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['takedown_id'], ['takedown.id'], name=op.f('fk_takedown_pause_takedown_id_takedown'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_takedown_pause'))
    )
    with op.batch_alter_table('takedown_pause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_takedown_pause_takedown_id'), ['takedown_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('takedown_pause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_takedown_pause_takedown_id'))

    op.drop_table('takedown_pause')
    with op.batch_alter_table('takedown', schema=None) as batch_op:
        batch_op.drop_index('uq_takedown_active_listing', sqlite_where=sa.text("status IN ('submitted', 'needs_info', 'removed')"), postgresql_where=sa.text("status IN ('submitted', 'needs_info', 'removed')"))
        batch_op.drop_index('ix_takedown_status_due')
        batch_op.drop_index(batch_op.f('ix_takedown_seller_key'))
        batch_op.drop_index('ix_takedown_org_filed')
        batch_op.drop_index(batch_op.f('ix_takedown_listing_key'))
        batch_op.drop_index('ix_takedown_group_filed')
        batch_op.drop_index('ix_takedown_filer_filed')
        batch_op.drop_index(batch_op.f('ix_takedown_counter_deadline'))

    op.drop_table('takedown')
    with op.batch_alter_table('takedown_bulk', schema=None) as batch_op:
        batch_op.drop_index('ix_takedown_bulk_filer_at')

    op.drop_table('takedown_bulk')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')

    op.drop_table('outbox')
