"""Typed SQLAlchemy 2 models of the alliance.

Discord snowflakes are stored as BigInteger. Every change of state writes an `AuditEntry` in the
same transaction (see `bot.services.audit`); the audit table is append-only, enforced by
triggers in the migration so that not even a bug can rewrite history.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime

LISTING_KEY_LENGTH = 600  # canonical listing keys (bot.services.listings refuses longer ones)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), int: Integer(), dict[str, Any]: JSON()}


class RightKind(enum.StrEnum):
    """The kinds of IP right a takedown can rest on."""

    trademark = "trademark"
    copyright = "copyright"
    patent = "patent"
    design = "design"


class WorkingGroup(Base):
    """An industry working group. Each live row gets its own `WorkingGroupCog` instance."""

    __tablename__ = "working_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    channel_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    member_role_id: Mapped[int | None] = mapped_column(BigInteger)
    lead_role_id: Mapped[int | None] = mapped_column(BigInteger)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    chat_replies: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime]


class Organisation(Base):
    """A brand owner that is a member of the alliance."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120), unique=True)  # case-folded, for uniqueness
    working_group_id: Mapped[int | None] = mapped_column(ForeignKey("working_group.id"))
    created_at: Mapped[datetime]

    working_group: Mapped[WorkingGroup | None] = relationship(lazy="joined")
    # Not loaded with the organisation: members, takedowns and reports join their organisation on
    # every command, and only filing and /alliance whoami need its rights (they ask for them).
    rights: Mapped[list[IpRight]] = relationship(back_populates="organisation", order_by="IpRight.id", lazy="raise")


class IpRight(Base):
    """A registered IP right an organisation may file takedowns on."""

    __tablename__ = "ip_right"
    __table_args__ = (UniqueConstraint("kind", "number", "jurisdiction", name="uq_ip_right_registration"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RightKind] = mapped_column(Enum(RightKind, native_enum=False, length=16))
    number: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(32))
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]

    organisation: Mapped[Organisation] = relationship(back_populates="rights")


class Member(Base):
    """A Discord user linked to the organisation they act for."""

    __tablename__ = "member"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    linked_at: Mapped[datetime]
    linked_by: Mapped[int] = mapped_column(BigInteger)

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class GuildSettings(Base):
    """Per-server wiring of the alliance: where announcements and reviews go, who reviews."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    announcements_channel_id: Mapped[int] = mapped_column(BigInteger)
    review_channel_id: Mapped[int] = mapped_column(BigInteger)
    reviewer_role_id: Mapped[int] = mapped_column(BigInteger)
    admin_role_id: Mapped[int | None] = mapped_column(BigInteger)
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only record of every state change: who did what to which subject, and when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # None: the bot itself
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(120))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --------------------------------------------------------------------- takedowns


class TakedownReason(enum.StrEnum):
    counterfeit = "counterfeit"
    trademark = "trademark"
    copyright = "copyright"
    patent = "patent"
    design = "design"


class TakedownStatus(enum.StrEnum):
    """Where a request stands. `removed` stays the status while a counter-notice runs."""

    submitted = "submitted"
    needs_info = "needs_info"
    removed = "removed"
    rejected = "rejected"
    withdrawn = "withdrawn"
    reinstated = "reinstated"


class CounterState(enum.StrEnum):
    """The counter-notice track of a removed listing."""

    awaiting_filer = "awaiting_filer"  # the filer may uphold (with evidence) or withdraw until the deadline
    awaiting_review = "awaiting_review"  # the filer upheld; reviewers make the final call
    upheld = "upheld"  # final: the listing stays down
    reinstated = "reinstated"  # final: the listing is back


# A listing counts as "already filed" for an organisation while a request on it is in one of these.
ACTIVE_STATUSES = (TakedownStatus.submitted, TakedownStatus.needs_info, TakedownStatus.removed)


class Takedown(Base):
    """One takedown request: one listing, on one IP right, by one member organisation."""

    __tablename__ = "takedown"
    __table_args__ = (
        # Race-proof duplicate rule: one active request per organisation and listing.
        Index(
            "uq_takedown_active_listing",
            "organisation_id",
            "listing_key",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'needs_info', 'removed')"),
            postgresql_where=text("status IN ('submitted', 'needs_info', 'removed')"),
        ),
        Index("ix_takedown_filer_filed", "filer_id", "filed_at"),
        Index("ix_takedown_status_due", "status", "due_at"),
        Index("ix_takedown_status_at_risk", "status", "at_risk_at"),  # the SLA loop's next deadline
        Index("ix_takedown_seller_flags", "seller_key", "status", "listing_key"),  # seller flags from the index
        Index("ix_takedown_seller_counter", "seller_key", "counter_state"),  # ... and the counter-notice flag
        # The SLA loop's next deadline: the first not-yet-alerted request is the first index entry
        # (with (status, at_risk_at) it scanned past every request already alerted).
        Index("ix_takedown_at_risk_pending", "status", "at_risk_alerted_at", "at_risk_at"),
        Index("ix_takedown_breach_pending", "status", "breach_alerted_at", "due_at"),
        Index("ix_takedown_counter_pending", "counter_state", "counter_deadline"),  # NULL deadlines come first
        Index("ix_takedown_org_filed", "organisation_id", "filed_at"),
        Index("ix_takedown_group_filed", "working_group_id", "filed_at"),
        # The weekly digests (migration 0008): a week of decisions, a group's open requests, the
        # counter-notices of the week, and whether a group filed against a flagged seller.
        Index("ix_takedown_decided", "decided_at", "working_group_id", "due_at", "filed_at"),
        Index("ix_takedown_group_status", "working_group_id", "status", "filed_at"),
        Index(
            "ix_takedown_counter_filed",
            "counter_filed_at",
            sqlite_where=text("counter_filed_at IS NOT NULL"),
            postgresql_where=text("counter_filed_at IS NOT NULL"),
        ),
        Index(
            "ix_takedown_counter_closed",
            "counter_state",
            "closed_at",
            sqlite_where=text("counter_state IS NOT NULL"),
            postgresql_where=text("counter_state IS NOT NULL"),
        ),
        Index("ix_takedown_seller_group", "seller_key", "working_group_id", "filed_at"),
        # a network's takedowns; a listing's requests and sellers (/takedown check, status)
        Index("ix_takedown_listing_status", "listing_key", "status", "organisation_id", "seller_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    right_id: Mapped[int] = mapped_column(ForeignKey("ip_right.id"))
    working_group_id: Mapped[int | None] = mapped_column(ForeignKey("working_group.id"))
    guild_id: Mapped[int | None] = mapped_column(BigInteger)  # the server it was filed in
    filer_id: Mapped[int] = mapped_column(BigInteger)
    bulk_id: Mapped[int | None] = mapped_column(ForeignKey("takedown_bulk.id"))

    marketplace: Mapped[str] = mapped_column(String(32))
    listing_key: Mapped[str] = mapped_column(String(LISTING_KEY_LENGTH))
    listing_url: Mapped[str] = mapped_column(String(2048))
    submitted_url: Mapped[str] = mapped_column(String(2048))
    reason: Mapped[TakedownReason] = mapped_column(Enum(TakedownReason, native_enum=False, length=16))
    seller_key: Mapped[str | None] = mapped_column(String(200))
    seller_text: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    good_faith_statement: Mapped[str] = mapped_column(Text)

    status: Mapped[TakedownStatus] = mapped_column(Enum(TakedownStatus, native_enum=False, length=16))
    filed_at: Mapped[datetime]
    due_at: Mapped[datetime]  # 24 business hours after filing, not counting needs_info pauses
    at_risk_at: Mapped[datetime]  # 75 % of the SLA used
    decided_at: Mapped[datetime | None]  # first removed/rejected decision: what the SLA measures
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[datetime | None]
    at_risk_alerted_at: Mapped[datetime | None]
    breach_alerted_at: Mapped[datetime | None]

    counter_state: Mapped[CounterState | None] = mapped_column(Enum(CounterState, native_enum=False, length=16))
    counter_filed_at: Mapped[datetime | None]
    counter_deadline: Mapped[datetime | None] = mapped_column(index=True)
    counter_note: Mapped[str | None] = mapped_column(Text)
    review_channel_id: Mapped[int | None] = mapped_column(BigInteger)  # where its review card was posted
    review_message_id: Mapped[int | None] = mapped_column(BigInteger)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    right: Mapped[IpRight] = relationship(lazy="joined")
    working_group: Mapped[WorkingGroup | None] = relationship(lazy="joined")
    pauses: Mapped[list[TakedownPause]] = relationship(
        order_by="TakedownPause.id", lazy="selectin", cascade="all, delete-orphan"
    )


class TakedownPause(Base):
    """A span during which the SLA clock stood still (the request waited on `needs_info`)."""

    __tablename__ = "takedown_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    takedown_id: Mapped[int] = mapped_column(ForeignKey("takedown.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class TakedownBulk(Base):
    """One uploaded CSV: what was in it and what became of it (also the bulk rate limit's ledger)."""

    __tablename__ = "takedown_bulk"
    __table_args__ = (Index("ix_takedown_bulk_filer_at", "filer_id", "uploaded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filer_id: Mapped[int] = mapped_column(BigInteger)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    filename: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime]
    rows: Mapped[int]
    filed: Mapped[int]
    duplicates: Mapped[int]
    refused: Mapped[int]


# ------------------------------------------------------------------------ outbox


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # gave up after bounded retries; admins see it in /alliance health
    skipped = "skipped"  # no longer for its recipient (e.g. a watch notice they may no longer see)


class OutboxMessage(Base):
    """A message the bot owes Discord, persisted in the transaction that decided to send it.

    A delivery worker posts it and marks it delivered only once Discord accepted it, retrying
    429/5xx/network errors with backoff; `dedupe_key` makes enqueueing the same notice twice a
    no-op, so a retried transaction or a second process cannot produce a second copy.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)  # post here…
    user_id: Mapped[int | None] = mapped_column(BigInteger)  # …or DM this user
    fallback_channel_id: Mapped[int | None] = mapped_column(BigInteger)  # if the DM is refused
    content: Mapped[str] = mapped_column(Text)
    ping_user_id: Mapped[int | None] = mapped_column(BigInteger)  # the one user this message may ping
    ping_role_id: Mapped[int | None] = mapped_column(BigInteger)  # …or the one role
    view: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # persistent components to attach
    edit_message_id: Mapped[int | None] = mapped_column(BigInteger)  # edit this message instead of posting
    subject: Mapped[str | None] = mapped_column(String(120))  # e.g. "takedown:12" to remember the posted id
    status: Mapped[OutboxStatus] = mapped_column(Enum(OutboxStatus, native_enum=False, length=16))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(300))
    attachment_name: Mapped[str | None] = mapped_column(String(120))  # one file to attach (a digest's chart)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)


# ------------------------------------------------------------------------- intel


class Tlp(enum.StrEnum):
    """TLP 2.0 levels (FIRST), most open first."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"


class IntelReport(Base):
    """A piece of counterfeit-network intel shared by a member, under a TLP level."""

    __tablename__ = "intel_report"
    __table_args__ = (
        # tlp and retracted_at too: a digest's networks read a group's reports from the index alone.
        Index("ix_intel_report_group_created", "working_group_id", "created_at", "tlp", "retracted_at"),
        Index("ix_intel_report_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(BigInteger, index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    working_group_id: Mapped[int] = mapped_column(ForeignKey("working_group.id"))
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    tlp: Mapped[Tlp] = mapped_column(
        Enum(Tlp, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    unrecognised: Mapped[list[str]] = mapped_column(JSON, default=list)  # indicator lines kept as text
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retracted_at: Mapped[datetime | None]
    card_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    working_group: Mapped[WorkingGroup] = relationship(lazy="joined")
    indicators: Mapped[list[IntelIndicator]] = relationship(
        order_by="IntelIndicator.id", lazy="selectin", cascade="all, delete-orphan"
    )
    recipients: Mapped[list[IntelRecipient]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class IntelRecipient(Base):
    """A named recipient of a TLP:RED report."""

    __tablename__ = "intel_recipient"

    report_id: Mapped[int] = mapped_column(ForeignKey("intel_report.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, index=True)


class IntelIndicator(Base):
    """A normalised indicator of a report; reports sharing a (type, value) are linked."""

    __tablename__ = "intel_indicator"
    __table_args__ = (
        UniqueConstraint("report_id", "type", "value", name="uq_intel_indicator_report_value"),
        Index("ix_intel_indicator_value", "type", "value", "report_id"),  # covering: value → reports, in order
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("intel_report.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(LISTING_KEY_LENGTH))
    display: Mapped[str] = mapped_column(String(2048))


class IntelValue(Base):
    """How many live (unretracted) reports carry a (type, value): the over-correlation cap's
    count, kept by database triggers on every indicator insert and delete and every retraction
    (migration 0007), so reading it is one primary-key lookup per value."""

    __tablename__ = "intel_value"
    __table_args__ = (Index("ix_intel_value_reports", "reports"),)  # the common values, for a rebuild

    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(LISTING_KEY_LENGTH), primary_key=True)
    reports: Mapped[int]


class IntelSighting(Base):
    """ "Seen it too": one per member per report."""

    __tablename__ = "intel_sighting"
    __table_args__ = (UniqueConstraint("report_id", "user_id", name="uq_intel_sighting_report_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("intel_report.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(index=True)


class IntelWatch(Base):
    """A member asked to be told when a new report they may see contains this indicator."""

    __tablename__ = "intel_watch"
    __table_args__ = (
        UniqueConstraint("user_id", "type", "value", name="uq_intel_watch_user_value"),
        Index("ix_intel_watch_value", "type", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(LISTING_KEY_LENGTH))
    display: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime]


class WarninglistEntry(Base):
    """A known-benign value (a platform's service phone, a logistics hub) that never links reports."""

    __tablename__ = "warninglist"
    __table_args__ = (UniqueConstraint("type", "value", name="uq_warninglist_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(LISTING_KEY_LENGTH))
    display: Mapped[str] = mapped_column(String(2048))
    note: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[int] = mapped_column(BigInteger)
    added_at: Mapped[datetime]


class ChatReply(Base):
    """When a group's cog last answered a listing link in a channel (at most once an hour)."""

    __tablename__ = "intel_chat_reply"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    listing_key: Mapped[str] = mapped_column(String(LISTING_KEY_LENGTH), primary_key=True)
    replied_at: Mapped[datetime]


# ------------------------------------------------------------ enforcement cases


class EnforcementCase(Base):
    """An offline enforcement action a working group reports (raids, arrests, seizures)."""

    __tablename__ = "enforcement_case"
    __table_args__ = (Index("ix_enforcement_case_group_date", "working_group_id", "action_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    working_group_id: Mapped[int] = mapped_column(ForeignKey("working_group.id"))
    logged_by: Mapped[int] = mapped_column(BigInteger)
    action_date: Mapped[date] = mapped_column(Date)
    arrests: Mapped[int]
    locations: Mapped[int]
    seizure_value: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3))
    summary: Mapped[str] = mapped_column(Text)
    intel_report_id: Mapped[int | None] = mapped_column(ForeignKey("intel_report.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)

    working_group: Mapped[WorkingGroup] = relationship(lazy="joined")


# ----------------------------------------------------------------------- digests


class DigestSchedule(Base):
    """A digest's schedule; absent rows mean the default (Mondays 09:00, alliance time zone)."""

    __tablename__ = "digest_schedule"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)  # "alliance" or "group:<slug>"
    cron: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
    updated_by: Mapped[int | None] = mapped_column(BigInteger)


class DigestRunStatus(enum.StrEnum):
    posted = "posted"  # content rendered and handed to the outbox in the claiming transaction
    skipped = "skipped"  # missed by more than the catch-up grace


class DigestRun(Base):
    """The claim on one digest for one period: unique, so a digest is produced exactly once."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("scope", "period_end", name="uq_digest_run_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(80))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    status: Mapped[DigestRunStatus] = mapped_column(Enum(DigestRunStatus, native_enum=False, length=16))
    claimed_at: Mapped[datetime]
    messages: Mapped[int] = mapped_column(default=0)


class DigestSubscription(Base):
    """A member who wants a DM copy of a digest."""

    __tablename__ = "digest_subscription"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    created_at: Mapped[datetime]
