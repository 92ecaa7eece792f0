"""What an admin needs to know the bot is well: database, outbox, digests."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select, text

from bot.permissions import Caller, require_admin
from bot.services.access import load_standing
from db.engine import SessionFactory
from db.models import DigestRun, OutboxMessage, OutboxStatus


@dataclass(frozen=True)
class Health:
    database_ms: float
    backlog: dict[str, int]
    failures: list[OutboxMessage]  # the most recent messages given up on
    last_runs: list[DigestRun]


class HealthService:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def check(self, caller: Caller) -> Health:
        async with self._sessions() as session:
            require_admin(await load_standing(session, caller))
            started = time.perf_counter()
            await session.execute(text("SELECT 1"))
            database_ms = (time.perf_counter() - started) * 1000
            backlog = {
                str(status): int(count)
                for status, count in await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            }
            failures = list(
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.status == OutboxStatus.failed)
                    .order_by(OutboxMessage.id.desc())
                    .limit(5)
                )
            )
            latest = (
                select(DigestRun.scope, func.max(DigestRun.period_end).label("end"))
                .group_by(DigestRun.scope)
                .subquery()
            )
            last_runs = list(
                await session.scalars(
                    select(DigestRun)
                    .join(latest, (DigestRun.scope == latest.c.scope) & (DigestRun.period_end == latest.c.end))
                    .order_by(DigestRun.scope)
                )
            )
            return Health(database_ms, backlog, failures, last_runs)
