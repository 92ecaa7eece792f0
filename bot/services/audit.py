"""The append-only audit log, written inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry


def entry(*, at: datetime, actor_id: int | None, action: str, subject: str, **details: Any) -> dict[str, Any]:
    """The column values of one audit entry."""
    return {"at": at, "actor_id": actor_id, "action": action, "subject": subject, "details": details}


def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject: str,
    **details: Any,
) -> None:
    """Add an audit entry to the session; it commits (or rolls back) with the change it describes."""
    session.add(AuditEntry(**entry(at=at, actor_id=actor_id, action=action, subject=subject, **details)))


async def record_many(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> None:
    """Many entries (see `entry`) in batched multi-row INSERTs, in the caller's transaction: a
    bulk filing writes thousands, and one INSERT per entry cost a bulk filing seconds."""
    if entries:
        await session.execute(insert(AuditEntry), list(entries))


async def entries_for(session: AsyncSession, subject: str, limit: int = 50) -> list[AuditEntry]:
    result = await session.scalars(
        select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id).limit(limit)
    )
    return list(result)
