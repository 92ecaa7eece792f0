"""Digest schedules on APScheduler 3 (`AsyncIOScheduler`), rebuilt from the database at start-up.

The database is the source of truth: schedules live in `digest_schedule`, runs in `digest_run`.
The scheduler keeps its jobs in memory only (APScheduler's SQLAlchemy job store is synchronous
and must not be shared between processes), with explicit ids and `replace_existing`. A job
fires, works out the period that just ended, and asks `DigestService.run` to claim and produce
it; the claim, not the scheduler, makes it exactly once, so several processes may run the same
schedule. At start-up, a run missed while the bot was down is produced if it is less than the
grace late, and recorded as skipped if it is older.

APScheduler reads the time with `datetime.now`; `use_clock` points it at the bot's clock so
that simulated time (the tests, the sandbox) drives schedules the way real time does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

import apscheduler.executors.base
import apscheduler.schedulers.base
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.services.digests import DigestService, Schedule, fires_between, last_fire

log = logging.getLogger(__name__)

CATCH_UP_LIMIT = 100  # missed periods recorded at start-up, at most


def use_clock(clock: Clock) -> None:
    """Make APScheduler's `datetime.now` read `clock` (aware UTC)."""

    class ClockedDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Any:
            moment = clock()
            return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)

    apscheduler.schedulers.base.datetime = ClockedDatetime
    apscheduler.executors.base.datetime = ClockedDatetime


class DigestScheduler:
    def __init__(
        self,
        digests: DigestService,
        clock: Clock,
        *,
        grace: timedelta,
        after_run: Callable[[], None] = lambda: None,
    ) -> None:
        self._digests = digests
        self._clock = clock
        self._grace = grace
        self._after_run = after_run
        self.scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(grace.total_seconds())},
        )

    async def start(self) -> None:
        use_clock(self._clock)
        for schedule in await self._digests.schedules():
            self._add(schedule)
        self.scheduler.start()
        await self.catch_up()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def _add(self, schedule: Schedule) -> None:
        self.scheduler.add_job(
            self._fire,
            schedule.trigger,
            id=schedule.scope,
            args=[schedule.scope],
            replace_existing=True,
            name=f"digest {schedule.scope}",
        )

    async def reload(self, scope: str) -> datetime | None:
        """A schedule changed or a group appeared: (re)place its job now. Returns the next run."""
        schedule = await self._digests.schedule_of(scope)
        self._add(schedule)
        job = self.scheduler.get_job(scope)
        return getattr(job, "next_run_time", None)  # a job added before start() has none yet

    def remove(self, scope: str) -> None:
        if self.scheduler.get_job(scope) is not None:
            self.scheduler.remove_job(scope)

    def next_runs(self) -> dict[str, datetime]:
        jobs = [job for job in self.scheduler.get_jobs() if job.name.startswith("digest ")]  # not maintenance
        return {job.id: job.next_run_time for job in jobs if getattr(job, "next_run_time", None) is not None}

    async def _fire(self, scope: str) -> None:
        schedule = await self._digests.schedule_of(scope)
        end = last_fire(schedule.trigger, self._clock())
        if end is None:
            return
        await self._produce(schedule, end)

    async def _produce(self, schedule: Schedule, end: datetime) -> None:
        run = await self._digests.run(schedule, end)
        if run is not None:
            log.info("digest %s for the period ending %s claimed (%d message(s))", schedule.scope, end, run.messages)
            self._after_run()

    async def catch_up(self) -> None:
        """Runs missed while the bot was down, since each digest's last known run: the latest
        is produced if it is less than the grace late; the others are recorded as skipped, so
        they are never posted late. A digest that never ran has nothing to catch up."""
        now = self._clock()
        last_runs = await self._digests.last_runs()
        for schedule in await self._digests.schedules():
            known = last_runs.get(schedule.scope)
            if schedule.channel_id is None or known is None:
                continue
            missed = fires_between(schedule.trigger, known.period_end, now)[-CATCH_UP_LIMIT:]
            for end in missed:
                if end == missed[-1] and now - end < self._grace:
                    await self._produce(schedule, end)
                elif await self._digests.skip(schedule, end):
                    log.warning(
                        "digest %s for the period ending %s was missed by more than the grace", schedule.scope, end
                    )
