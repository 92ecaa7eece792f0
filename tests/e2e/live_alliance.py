"""A wired alliance for tests that run the real `python bot.py` against tests/fake_discord.py
and stop it however they like (Ctrl-C, `kill -9`), then start it again on the same database.

`seed` writes directly to the database what an admin would have set up with `/alliance …`
(server settings, one working group bound to its channel and role, one organisation with a
trademark, one linked member): those commands are tested elsewhere, and what these tests are
about starts after them. `alliance_fake` makes the matching fake Discord server; `LiveBot` starts,
waits for and kills one bot process at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.digests import last_fire, parse_cron
from db.engine import SessionFactory, create_engine, create_session_factory
from db.migrate import upgrade
from db.models import (
    DigestRun,
    DigestRunStatus,
    DigestSchedule,
    GuildSettings,
    IpRight,
    Member,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    RightKind,
    WorkingGroup,
)
from tests.e2e.test_connected import GUARD_MARK, READY_LOG, TOKEN, BotRun, run_bot
from tests.fake_discord import FakeDiscord

GUILD_ID = 444_444_444_444_444_444
ANNOUNCEMENTS = 444_444_444_444_444_401
REVIEW = 444_444_444_444_444_402
GROUP_CHANNEL = 444_444_444_444_444_403
REVIEWER_ROLE = 444_444_444_444_444_501
GROUP_ROLE = 444_444_444_444_444_502
FILER = 444_444_444_444_444_601  # linked to the organisation, in the working group
REVIEWER = 444_444_444_444_444_602
NEWCOMER = 444_444_444_444_444_603  # no role yet
RIGHT_NUMBER = "TM-445566"

STARTUP_TIMEOUT = 45.0
SETUP_DONE_LOG = "ready on"  # `setup_hook`'s last line


@dataclass(frozen=True)
class Alliance:
    group_id: int
    group_name: str
    group_slug: str
    organisation_id: int


async def seed(database_url: str, now: datetime) -> Alliance:
    """Migrate and wire the alliance to the fake guild (see the module docstring)."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with create_session_factory(engine).begin() as session:
            group = await session.scalar(
                select(WorkingGroup).where(WorkingGroup.archived.is_(False)).order_by(WorkingGroup.id).limit(1)
            )
            assert group is not None, "the migrations created no working group"
            group.channel_id, group.member_role_id = GROUP_CHANNEL, GROUP_ROLE
            session.add(
                GuildSettings(
                    guild_id=GUILD_ID,
                    announcements_channel_id=ANNOUNCEMENTS,
                    review_channel_id=REVIEW,
                    reviewer_role_id=REVIEWER_ROLE,
                    admin_role_id=None,
                    timezone="UTC",
                    updated_at=now,
                )
            )
            org = Organisation(
                name="Vantor Watches", name_key="vantor watches", working_group_id=group.id, created_at=now
            )
            session.add(org)
            await session.flush()
            session.add(
                IpRight(
                    organisation_id=org.id,
                    kind=RightKind.trademark,
                    number=RIGHT_NUMBER,
                    jurisdiction="CN",
                    expires_on=date(now.year + 5, 1, 1),
                    created_at=now,
                )
            )
            session.add(Member(user_id=FILER, organisation_id=org.id, linked_at=now, linked_by=REVIEWER))
            return Alliance(group.id, group.name, group.slug, org.id)
    finally:
        await engine.dispose()


def add_overdue_digest(
    session: AsyncSession, scope: str, now: datetime, late_by: timedelta
) -> tuple[datetime, datetime]:
    """A daily digest for `scope` whose run came due `late_by` ago, with the run the day before
    posted, so that start-up catches it up (a digest that never ran has nothing to catch up).
    Returns the ends of the posted period and of the overdue one."""
    latest = (now - late_by).replace(second=0, microsecond=0)
    previous = latest - timedelta(days=1)
    cron = f"{latest.minute} {latest.hour} * * *"
    assert last_fire(parse_cron(cron, "UTC"), now) == latest
    session.add(DigestSchedule(scope=scope, cron=cron, timezone="UTC", updated_at=now, updated_by=None))
    session.add(
        DigestRun(
            scope=scope,
            period_start=previous - timedelta(days=1),
            period_end=previous,
            status=DigestRunStatus.posted,
            claimed_at=previous,
            messages=1,
        )
    )
    return previous, latest


def alliance_fake() -> FakeDiscord:
    """The fake guild the seeded alliance lives in."""
    return FakeDiscord(
        token=TOKEN,
        guild_ids=[GUILD_ID],
        text_channels={GUILD_ID: {ANNOUNCEMENTS: "announcements", REVIEW: "takedown-review", GROUP_CHANNEL: "watches"}},
        roles={GUILD_ID: {REVIEWER_ROLE: "IP Team", GROUP_ROLE: "Watches WG"}},
        members={GUILD_ID: {FILER: [GROUP_ROLE], REVIEWER: [REVIEWER_ROLE], NEWCOMER: []}},
    )


def listing_url(n: int) -> str:
    return f"https://item.taobao.com/item.htm?id={610_000_000_000 + n}"


def bulk_csv(rows: int) -> bytes:
    lines = ["url,right,reason,seller,note"]
    lines += [f"{listing_url(n)},{RIGHT_NUMBER},counterfeit,Shop {n % 97},row {n}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@asynccontextmanager
async def database(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def expire_leases(database_url: str) -> int:
    """Make outbox messages claimed by a killed process due now. A claim holds a message for
    `bot.delivery.LEASE` (two minutes: nothing tells a restarted process whether another one is
    still posting it); this is the restart happening after the lease, without the wait."""
    async with database(database_url) as sessions, sessions.begin() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.attempts > 0)
            .values(next_attempt_at=datetime.now(UTC))
        )
        return int(getattr(result, "rowcount", 0))


async def outbox(database_url: str) -> list[OutboxMessage]:
    async with database(database_url) as sessions, sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


class LiveBot:
    """One `python bot.py` process at a time against `fake`, each run logging to its own files."""

    def __init__(self, tmp_path: Path, fake: FakeDiscord, database_url: str, stack: AsyncExitStack) -> None:
        self.tmp_path, self.fake, self.database_url, self.stack = tmp_path, fake, database_url, stack
        self.settings = {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": fake.api_base,
            "GUILD_IDS": str(GUILD_ID),
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "INFO",
            "ALLIANCE_TIMEZONE": "UTC",
        }
        self.runs: list[BotRun] = []
        self.kills = 0

    @property
    def current(self) -> BotRun:
        return self.runs[-1]

    async def start(self) -> BotRun:
        """Start a process and wait until it is connected and its start-up is done."""
        directory = self.tmp_path / f"run{len(self.runs) + 1}"
        directory.mkdir()
        run = await self.stack.enter_async_context(run_bot(directory, self.settings))
        self.runs.append(run)
        sessions_before = len(self.fake.gateway_sessions)
        await self.wait(
            lambda: (
                SETUP_DONE_LOG in run.output()
                and READY_LOG in run.output()
                and self.fake.connected
                and len(self.fake.gateway_sessions) > sessions_before
            ),
            within=STARTUP_TIMEOUT,
            what="start-up",
        )
        return run

    async def kill(self) -> None:
        """`kill -9`: no clean-up of any kind in the bot."""
        self.current.process.kill()
        await self.current.process.wait()
        self.kills += 1

    async def drained(self) -> None:
        """Wait until the outbox holds nothing undelivered (the bot owes Discord nothing)."""

        async def empty() -> bool:
            return all(m.status != OutboxStatus.pending for m in await outbox(self.database_url))

        await self.until(empty, what="the outbox drained")

    async def until(self, check: Callable[[], Awaitable[bool]], *, within: float = 30.0, what: str) -> None:
        """Like `wait`, for a condition that needs the database."""
        deadline = time.monotonic() + within
        while not await check():
            assert self.current.running, f"{what}: the bot exited\n{self.current.tail(60)}"
            assert time.monotonic() < deadline, f"{what}: not reached in {within:.0f}s\n{self.current.tail(60)}"
            await asyncio.sleep(0.1)

    async def wait(self, condition: Callable[[], bool], *, within: float = 30.0, what: str) -> None:
        """Wait for `condition`; fail with the bot's log if it does not hold in time or the bot dies."""
        started = time.monotonic()
        ok = await self.fake.wait_for(
            condition,
            within=within,
            abort=lambda: not self.current.running or GUARD_MARK in self.current.output(),
        )
        assert ok, (
            f"{what}: not reached within {time.monotonic() - started:.1f}s"
            + ("" if self.current.running else f" (the bot exited {self.current.process.returncode})")
            + f"\nBot output (tail):\n{self.current.tail(60)}"
        )

    def assert_clean(self) -> None:
        """No run logged an unexpected error (a traceback) up to its end."""
        for number, run in enumerate(self.runs, start=1):
            assert "Traceback" not in run.output(), f"run {number} logged a traceback:\n{run.tail(80)}"


async def settle(seconds: float = 0.5) -> None:
    """Time for a duplicate, if the bot were to make one, to reach the fake."""
    await asyncio.sleep(seconds)
