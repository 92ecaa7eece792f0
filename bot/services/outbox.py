"""Enqueue messages the bot owes Discord, inside the transaction that decided to send them.

Delivery is `bot.delivery`'s job. Enqueueing twice with the same `dedupe_key` is a no-op, so a
notice decided once is posted once, whatever retries or restarts happen around it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import SessionFactory
from db.models import OutboxMessage, OutboxStatus

MAX_ATTEMPTS = 20  # with the backoff below: about two hours of Discord trouble before giving up
BACKOFF_CAP = timedelta(minutes=10)


async def enqueue(
    session: AsyncSession,
    *,
    dedupe_key: str,
    content: str,
    now: datetime,
    channel_id: int | None = None,
    user_id: int | None = None,
    fallback_channel_id: int | None = None,
    ping_user_id: int | None = None,
    ping_role_id: int | None = None,
    view: dict[str, Any] | None = None,
    subject: str | None = None,
    edit_message_id: int | None = None,
    attachment: bytes | None = None,
    attachment_name: str | None = None,
) -> None:
    """Add a message to the outbox in `session`'s transaction; ignore a repeat of `dedupe_key`."""
    if channel_id is None and user_id is None:
        raise ValueError("a message needs a channel or a user")
    values = {
        "dedupe_key": dedupe_key,
        "content": content,
        "channel_id": channel_id,
        "user_id": user_id,
        "fallback_channel_id": fallback_channel_id,
        "ping_user_id": ping_user_id,
        "ping_role_id": ping_role_id,
        "view": view,
        "subject": subject,
        "edit_message_id": edit_message_id,
        "attachment": attachment,
        "attachment_name": attachment_name,
        "status": OutboxStatus.pending,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]))


def backoff(attempts: int) -> timedelta:
    """Exponential backoff from 2 s, capped at ten minutes."""
    return min(timedelta(seconds=2 ** min(attempts, 20)), BACKOFF_CAP)


class OutboxService:
    """The delivery worker's view of the outbox: what is due, and recording outcomes."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def due(self, now: datetime, limit: int = 50) -> list[OutboxMessage]:
        async with self._sessions() as session:
            result = await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list(result)

    async def next_attempt(self) -> datetime | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == OutboxStatus.pending)
            )

    async def claim(self, message_id: int, attempts: int, now: datetime, lease: timedelta) -> bool:
        """Take a message for one attempt; False if another worker took it first.

        The lease pushes `next_attempt_at` forward, so a crash mid-post leads to a retry after
        the lease, not to a lost message.
        """
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.status == OutboxStatus.pending,
                    OutboxMessage.attempts == attempts,
                )
                .values(attempts=attempts + 1, next_attempt_at=now + lease)
            )
            return bool(getattr(result, "rowcount", 0))

    async def delivered(self, message_id: int, discord_message_id: int | None, now: datetime) -> OutboxMessage | None:
        async with self._sessions.begin() as session:
            message = await session.get(OutboxMessage, message_id)
            if message is None:
                return None
            message.status = OutboxStatus.delivered
            message.delivered_at = now
            message.message_id = discord_message_id
            message.last_error = None
            return message

    async def failed_attempt(self, message_id: int, error: str, now: datetime, *, permanent: bool = False) -> None:
        async with self._sessions.begin() as session:
            message = await session.get(OutboxMessage, message_id)
            if message is None:
                return
            message.last_error = error[:300]
            if permanent or message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxStatus.failed
            else:
                message.next_attempt_at = now + backoff(message.attempts)

    async def skipped(self, message_id: int, reason: str, now: datetime) -> None:
        async with self._sessions.begin() as session:
            message = await session.get(OutboxMessage, message_id)
            if message is not None:
                message.status = OutboxStatus.skipped
                message.delivered_at = now
                message.last_error = reason[:300]

    async def backlog(self) -> dict[str, int]:
        async with self._sessions() as session:
            rows = await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
            return {str(status): int(count) for status, count in rows.all()}
