"""The append-only audit log, written inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry


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
    session.add(AuditEntry(at=at, actor_id=actor_id, action=action, subject=subject, details=details))


async def entries_for(session: AsyncSession, subject: str, limit: int = 50) -> list[AuditEntry]:
    result = await session.scalars(
        select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id).limit(limit)
    )
    return list(result)
