"""intel: reports, indicators, recipients, sightings, watches, warninglist, full-text search

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 03:08:01.835668
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import db.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SQLITE_FTS = [
    # Trigram tokens: substring search that works for Chinese and other unspaced scripts too.
    "CREATE VIRTUAL TABLE intel_fts USING fts5(title, body, content='intel_report', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER intel_fts_insert AFTER INSERT ON intel_report BEGIN "
    "INSERT INTO intel_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER intel_fts_delete AFTER DELETE ON intel_report BEGIN "
    "INSERT INTO intel_fts(intel_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER intel_fts_update AFTER UPDATE OF title, body ON intel_report BEGIN "
    "INSERT INTO intel_fts(intel_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO intel_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]
POSTGRESQL_FTS = [
    "ALTER TABLE intel_report ADD COLUMN search tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(body, ''))) STORED",
    "CREATE INDEX ix_intel_report_search ON intel_report USING gin (search)",
]


def _full_text_search() -> None:
    """SQLite FTS5 or a PostgreSQL tsvector over report titles and bodies (raw DDL: neither is
    expressible in SQLAlchemy's portable schema)."""
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == "sqlite" else POSTGRESQL_FTS:
        op.execute(statement)


def upgrade() -> None:
    op.create_table('intel_chat_reply',
    sa.Column('channel_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('listing_key', sa.String(length=600), nullable=False),
    sa.Column('replied_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel_id', 'listing_key', name=op.f('pk_intel_chat_reply'))
    )
    op.create_table('intel_watch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=600), nullable=False),
    sa.Column('display', sa.String(length=2048), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_watch')),
    sa.UniqueConstraint('user_id', 'type', 'value', name='uq_intel_watch_user_value')
    )
    with op.batch_alter_table('intel_watch', schema=None) as batch_op:
        batch_op.create_index('ix_intel_watch_value', ['type', 'value'], unique=False)

    op.create_table('warninglist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=600), nullable=False),
    sa.Column('display', sa.String(length=2048), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('added_by', sa.BigInteger(), nullable=False),
    sa.Column('added_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warninglist')),
    sa.UniqueConstraint('type', 'value', name='uq_warninglist_value')
    )
    op.create_table('intel_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('working_group_id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=True),
    sa.Column('tlp', sa.Enum('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED', name='tlp', native_enum=False, length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('unrecognised', sa.JSON(), nullable=False),
    sa.Column('created_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retracted_at', db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('card_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('card_message_id', sa.BigInteger(), nullable=True),
    sa.Column('thread_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_intel_report_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['working_group_id'], ['working_group.id'], name=op.f('fk_intel_report_working_group_id_working_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_report'))
    )
    with op.batch_alter_table('intel_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intel_report_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_intel_report_created', ['created_at'], unique=False)
        batch_op.create_index('ix_intel_report_group_created', ['working_group_id', 'created_at'], unique=False)

    op.create_table('intel_indicator',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=600), nullable=False),
    sa.Column('display', sa.String(length=2048), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['intel_report.id'], name=op.f('fk_intel_indicator_report_id_intel_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_indicator')),
    sa.UniqueConstraint('report_id', 'type', 'value', name='uq_intel_indicator_report_value')
    )
    with op.batch_alter_table('intel_indicator', schema=None) as batch_op:
        batch_op.create_index('ix_intel_indicator_value', ['type', 'value'], unique=False)

    op.create_table('intel_recipient',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['intel_report.id'], name=op.f('fk_intel_recipient_report_id_intel_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'user_id', name=op.f('pk_intel_recipient'))
    )
    with op.batch_alter_table('intel_recipient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intel_recipient_user_id'), ['user_id'], unique=False)

    op.create_table('intel_sighting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_intel_sighting_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['report_id'], ['intel_report.id'], name=op.f('fk_intel_sighting_report_id_intel_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intel_sighting')),
    sa.UniqueConstraint('report_id', 'user_id', name='uq_intel_sighting_report_user')
    )
    with op.batch_alter_table('intel_sighting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intel_sighting_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_intel_sighting_report_id'), ['report_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ping_role_id', sa.BigInteger(), nullable=True))

    with op.batch_alter_table('working_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_replies', sa.Boolean(), server_default=sa.true(), nullable=False))

    _full_text_search()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("intel_fts_insert", "intel_fts_delete", "intel_fts_update"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE intel_fts")
    with op.batch_alter_table('working_group', schema=None) as batch_op:
        batch_op.drop_column('chat_replies')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('ping_role_id')

    with op.batch_alter_table('intel_sighting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_sighting_report_id'))
        batch_op.drop_index(batch_op.f('ix_intel_sighting_at'))

    op.drop_table('intel_sighting')
    with op.batch_alter_table('intel_recipient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intel_recipient_user_id'))

    op.drop_table('intel_recipient')
    with op.batch_alter_table('intel_indicator', schema=None) as batch_op:
        batch_op.drop_index('ix_intel_indicator_value')

    op.drop_table('intel_indicator')
    with op.batch_alter_table('intel_report', schema=None) as batch_op:
        batch_op.drop_index('ix_intel_report_group_created')
        batch_op.drop_index('ix_intel_report_created')
        batch_op.drop_index(batch_op.f('ix_intel_report_author_id'))

    op.drop_table('intel_report')
    op.drop_table('warninglist')
    with op.batch_alter_table('intel_watch', schema=None) as batch_op:
        batch_op.drop_index('ix_intel_watch_value')

    op.drop_table('intel_watch')
    op.drop_table('intel_chat_reply')
