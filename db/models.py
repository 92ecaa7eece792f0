"""Typed SQLAlchemy 2 models of the alliance.

Discord snowflakes are stored as BigInteger. Every change of state writes an `AuditEntry` in the
same transaction (see `bot.services.audit`); the audit table is append-only, enforced by
triggers in the migration so that not even a bug can rewrite history.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
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
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime

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
    rights: Mapped[list[IpRight]] = relationship(
        back_populates="organisation", order_by="IpRight.id", lazy="selectin"
    )


class IpRight(Base):
    """A registered IP right an organisation may file takedowns on."""

    __tablename__ = "ip_right"
    __table_args__ = (UniqueConstraint("kind", "number", "jurisdiction", name="uq_ip_right_registration"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
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
