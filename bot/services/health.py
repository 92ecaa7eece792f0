"""What an admin needs to know the bot is well: database, outbox, digests."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import func, select, text

from bot.permissions import Caller, require_admin
from bot.services.access import load_standing
from db.engine import SessionFactory, database_unavailable, unavailable_reason
from db.models import DigestRun, OutboxMessage, OutboxStatus


@dataclass(frozen=True)
class Health:
    database_ms: float | None  # None: unreachable, see `database_error`
    backlog: dict[str, int]
    failures: list[OutboxMessage]  # the most recent messages given up on
    last_runs: list[DigestRun]
    database_error: str | None = None


class HealthService:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def check(self, caller: Caller) -> Health:
        """The full report; while the database is down, a short one for Manage Server holders.

        The admin role is stored in the database, so during an outage only Discord's own
        Manage Server permission can vouch for the caller; everyone else gets the usual
        "temporarily unavailable" answer. An outage is exactly when an admin asks.
        """
        try:
            return await self._report(caller)
        except Exception as error:
            if not (caller.manages_guild and database_unavailable(error)):
                raise
            return Health(None, {}, [], [], database_error=unavailable_reason(error))

    async def _report(self, caller: Caller) -> Health:
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
