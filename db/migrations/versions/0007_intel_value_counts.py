"""intel_value: how many live reports carry each indicator value, kept by the database

The correlator's over-correlation cap ("a value in more than 50 live reports stops linking")
counted `intel_indicator` rows per value on every call: 1.3 s per /intel network and most of the
digests' time at 1,000,000 indicators (bench/RESULTS.md). The count now lives in `intel_value`,
kept by triggers in the same transaction as every insert or delete of an indicator and every
retraction (or deletion) of a report, so no code path (sharing, editing, retracting, bulk loads)
can leave it stale. Backfilled from the existing rows.

PostgreSQL uses statement-level triggers with transition tables (one aggregate per statement,
values updated in sorted order so that concurrent shares lock them in the same order); SQLite
has only row-level triggers.

Also indexes found by the benchmark: (seller_key, counter_state) for the counter-notice flag, and
(status, *_alerted_at, deadline) and (counter_state, counter_deadline) so the SLA loop's next
deadline after every filing is the first index entry, instead of a scan past every request
already alerted (or, for counter-notices, past the 200,000 NULL deadlines): 135 ms -> 0.1 ms at
200,000 takedowns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "SELECT 1 FROM intel_report WHERE intel_report.id = {0}.report_id AND intel_report.retracted_at IS NULL"

SQLITE = [
    f"CREATE TRIGGER intel_value_insert AFTER INSERT ON intel_indicator WHEN EXISTS ({LIVE.format('NEW')}) BEGIN "
    "INSERT INTO intel_value (type, value, reports) VALUES (NEW.type, NEW.value, 1) "
    "ON CONFLICT (type, value) DO UPDATE SET reports = reports + 1; END",
    f"CREATE TRIGGER intel_value_delete AFTER DELETE ON intel_indicator WHEN EXISTS ({LIVE.format('OLD')}) BEGIN "
    "UPDATE intel_value SET reports = reports - 1 WHERE type = OLD.type AND value = OLD.value; END",
    "CREATE TRIGGER intel_value_retract AFTER UPDATE OF retracted_at ON intel_report "
    "WHEN OLD.retracted_at IS NULL AND NEW.retracted_at IS NOT NULL BEGIN "
    "UPDATE intel_value SET reports = reports - 1 "
    "WHERE (type, value) IN (SELECT type, value FROM intel_indicator WHERE report_id = NEW.id); END",
    "CREATE TRIGGER intel_value_unretract AFTER UPDATE OF retracted_at ON intel_report "
    "WHEN OLD.retracted_at IS NOT NULL AND NEW.retracted_at IS NULL BEGIN "
    "INSERT INTO intel_value (type, value, reports) "
    "SELECT type, value, 1 FROM intel_indicator WHERE report_id = NEW.id "
    "ON CONFLICT (type, value) DO UPDATE SET reports = reports + 1; END",
    # Before the report row goes (and its indicators with it, by cascade, when it is no longer live).
    "CREATE TRIGGER intel_value_report_delete BEFORE DELETE ON intel_report WHEN OLD.retracted_at IS NULL BEGIN "
    "UPDATE intel_value SET reports = reports - 1 "
    "WHERE (type, value) IN (SELECT type, value FROM intel_indicator WHERE report_id = OLD.id); END",
]
SQLITE_TRIGGERS = [
    "intel_value_insert",
    "intel_value_delete",
    "intel_value_retract",
    "intel_value_unretract",
    "intel_value_report_delete",
]

POSTGRESQL = [
    """CREATE FUNCTION intel_value_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO intel_value (type, value, reports)
        SELECT n.type, n.value, count(*) FROM added n JOIN intel_report r ON r.id = n.report_id
        WHERE r.retracted_at IS NULL GROUP BY n.type, n.value ORDER BY n.type, n.value
        ON CONFLICT (type, value) DO UPDATE SET reports = intel_value.reports + EXCLUDED.reports;
        RETURN NULL; END $$""",
    "CREATE TRIGGER intel_value_insert AFTER INSERT ON intel_indicator REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION intel_value_added()",
    """CREATE FUNCTION intel_value_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        UPDATE intel_value v SET reports = v.reports - d.n
        FROM (SELECT o.type, o.value, count(*) AS n FROM removed o JOIN intel_report r ON r.id = o.report_id
              WHERE r.retracted_at IS NULL GROUP BY o.type, o.value) d
        WHERE v.type = d.type AND v.value = d.value;
        RETURN NULL; END $$""",
    "CREATE TRIGGER intel_value_delete AFTER DELETE ON intel_indicator REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION intel_value_removed()",
    """CREATE FUNCTION intel_value_liveness() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO intel_value (type, value, reports)
        SELECT i.type, i.value,
               sum(CASE WHEN n.retracted_at IS NULL THEN 1 ELSE -1 END) FROM before_rows o
        JOIN after_rows n ON n.id = o.id AND (o.retracted_at IS NULL) <> (n.retracted_at IS NULL)
        JOIN intel_indicator i ON i.report_id = n.id
        GROUP BY i.type, i.value ORDER BY i.type, i.value
        ON CONFLICT (type, value) DO UPDATE SET reports = intel_value.reports + EXCLUDED.reports;
        RETURN NULL; END $$""",
    "CREATE TRIGGER intel_value_retract AFTER UPDATE ON intel_report "
    "REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION intel_value_liveness()",
    """CREATE FUNCTION intel_value_report_gone() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF OLD.retracted_at IS NULL THEN
            UPDATE intel_value v SET reports = v.reports - 1 FROM intel_indicator i
            WHERE i.report_id = OLD.id AND v.type = i.type AND v.value = i.value;
        END IF;
        RETURN OLD; END $$""",
    "CREATE TRIGGER intel_value_report_delete BEFORE DELETE ON intel_report "
    "FOR EACH ROW EXECUTE FUNCTION intel_value_report_gone()",
]
POSTGRESQL_TRIGGERS = [
    ("intel_value_insert", "intel_indicator", "intel_value_added"),
    ("intel_value_delete", "intel_indicator", "intel_value_removed"),
    ("intel_value_retract", "intel_report", "intel_value_liveness"),
    ("intel_value_report_delete", "intel_report", "intel_value_report_gone"),
]

BACKFILL = (
    "INSERT INTO intel_value (type, value, reports) "
    "SELECT i.type, i.value, count(*) FROM intel_indicator i JOIN intel_report r ON r.id = i.report_id "
    "WHERE r.retracted_at IS NULL GROUP BY i.type, i.value"
)


def upgrade() -> None:
    op.create_table(
        "intel_value",
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=600), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("type", "value", name=op.f("pk_intel_value")),
    )
    op.create_index("ix_intel_value_reports", "intel_value", ["reports"], unique=False)
    op.execute(BACKFILL)
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)
    with op.batch_alter_table("takedown", schema=None) as batch_op:
        batch_op.create_index("ix_takedown_seller_counter", ["seller_key", "counter_state"], unique=False)
        batch_op.create_index(
            "ix_takedown_at_risk_pending", ["status", "at_risk_alerted_at", "at_risk_at"], unique=False
        )
        batch_op.create_index("ix_takedown_breach_pending", ["status", "breach_alerted_at", "due_at"], unique=False)
        batch_op.create_index("ix_takedown_counter_pending", ["counter_state", "counter_deadline"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("takedown", schema=None) as batch_op:
        batch_op.drop_index("ix_takedown_counter_pending")
        batch_op.drop_index("ix_takedown_breach_pending")
        batch_op.drop_index("ix_takedown_at_risk_pending")
        batch_op.drop_index("ix_takedown_seller_counter")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")
    else:
        for trigger, table, function in POSTGRESQL_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
            op.execute(f"DROP FUNCTION {function}()")
    op.drop_table("intel_value")
