"""End to end: two `python bot.py` processes on one database post each digest exactly once.

The database is seeded so that, at start-up, both processes' `DigestScheduler.catch_up` find
the same missed run: the alliance digest and one working group's digest run daily at a minute
that passed five minutes ago (UTC), and each has a `DigestRun` for the period before, so
catch-up applies (a digest that never ran has nothing to catch up). Both processes start
together against one fake Discord (tests/fake_discord.py), which holds their command sync, the
step of start-up just before the scheduler starts, until both have reached it; so however
unevenly the two start, they run catch-up at the same moment and race to claim the same two
periods (on PostgreSQL the test checks that the loser really tried). The claim (`DigestRun`
unique on scope and period end, taken in the transaction that fills the outbox) and the
outbox's compare-and-set must leave exactly one message per digest.

It runs on every engine the `database_url` fixture yields: PostgreSQL when TEST_DATABASE_URL is
set (as in CI), and SQLite, where the two processes share one WAL-mode file. SQLite serialises
the writers with its busy timeout (5 s, see db.engine): the first INSERT of each claiming
transaction takes the write lock, so the loser waits, then meets the unique constraint.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from bot.services.digests import ALLIANCE, group_scope
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import (
    DigestRun,
    DigestRunStatus,
    GuildSettings,
    OutboxMessage,
    OutboxStatus,
    WorkingGroup,
)
from tests.e2e.live_alliance import add_overdue_digest
from tests.e2e.test_connected import GUARD_MARK, READY_LOG, SHUTDOWN_TIMEOUT, TOKEN, BotRun, run_bot, stop
from tests.fake_discord import FakeDiscord, PostedMessage

GUILD_ID = 333_333_333_333_333_333
ANNOUNCEMENTS = 333_333_333_333_333_401
REVIEW = 333_333_333_333_333_402
GROUP_CHANNEL = 333_333_333_333_333_403
REVIEWER_ROLE = 333_333_333_333_333_501
PROCESSES = ("first", "second")

STARTUP_TIMEOUT = 45.0  # both connected and both digests posted
SETTLE = 2.0  # then: time for a second copy to show up (both delivery loops tick at once after READY)
LATE_BY = timedelta(minutes=5)  # how long ago the missed run was due
SETUP_DONE_LOG = "ready on"  # `setup_hook`'s last line, logged after the scheduler's catch-up
CLAIMED_LOG = re.compile(r"digest (\S+) for the period ending .+ claimed \(")  # DigestScheduler's INFO line

ALLIANCE_HEADING = "**Alliance digest**"


@dataclass(frozen=True)
class Seeded:
    group_name: str
    group_scope: str
    previous: datetime  # the end of the period that was posted before the bots went down
    latest: datetime  # the end of the period both processes try to catch up


async def seed(database_url: str, now: datetime) -> Seeded:
    """Migrate, wire the alliance to the fake guild, and make one run of two digests overdue."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = create_session_factory(engine)
        async with sessions.begin() as session:
            group = await session.scalar(
                select(WorkingGroup).where(WorkingGroup.archived.is_(False)).order_by(WorkingGroup.id).limit(1)
            )
            assert group is not None, "the migrations created no working group"
            group.channel_id = GROUP_CHANNEL
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
            scopes = (ALLIANCE, group_scope(group.slug))
            for scope in scopes:
                previous, latest = add_overdue_digest(session, scope, now, LATE_BY)
            return Seeded(group.name, scopes[1], previous, latest)
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class State:
    runs: list[DigestRun]
    outbox: list[OutboxMessage]
    claim_attempts: int | None  # DigestRun inserts tried, failed ones included (PostgreSQL only)


async def database_state(database_url: str) -> State:
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            runs = list(await session.scalars(select(DigestRun).order_by(DigestRun.scope, DigestRun.period_end)))
            outbox = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
            assert await session.scalar(select(func.count()).select_from(DigestRun)) == len(runs)
            attempts = None
            if engine.dialect.name == "postgresql":
                # An INSERT that fails on the unique claim has still drawn its id from the sequence.
                attempts = await session.scalar(
                    text("SELECT pg_sequence_last_value(pg_get_serial_sequence('digest_run', 'id'))")
                )
            return State(runs, outbox, attempts)
    finally:
        await engine.dispose()


async def stop_or_dump(bot: BotRun) -> None:
    """Ctrl-C; if the bot is still there after SHUTDOWN_TIMEOUT, SIGABRT, on which faulthandler
    (PYTHONFAULTHANDLER) writes every thread's stack to its stderr; then kill if need be."""
    try:
        with suppress(ProcessLookupError):
            bot.process.send_signal(signal.SIGINT)
        with suppress(TimeoutError):
            await asyncio.wait_for(bot.process.wait(), SHUTDOWN_TIMEOUT)
        if bot.process.returncode is None:
            with suppress(ProcessLookupError):
                bot.process.send_signal(signal.SIGABRT)
            with suppress(TimeoutError):
                await asyncio.wait_for(bot.process.wait(), 5)
    finally:
        await stop(bot.process)


def headed(messages: list[PostedMessage], heading: str) -> list[PostedMessage]:
    return [message for message in messages if message.content.startswith(heading)]


def describe(fake: FakeDiscord, bots: list[BotRun]) -> str:
    posts = "\n".join(f"  #{m.channel_id}: {m.content.splitlines()[0]!r}" for m in fake.posted_messages)
    tails = "".join(f"\n--- {name} process (tail):\n{bot.tail()}" for name, bot in zip(PROCESSES, bots, strict=True))
    return f"\nMessages posted:\n{posts or '  (none)'}{tails}"


async def test_two_processes_post_each_missed_digest_once(tmp_path: Path, database_url: str) -> None:
    seeded = await seed(database_url, datetime.now(UTC))
    group_heading = f"**Weekly digest · {seeded.group_name}**"
    channels = {ANNOUNCEMENTS: "announcements", REVIEW: "takedown-review", GROUP_CHANNEL: "group"}

    async with FakeDiscord(
        token=TOKEN, guild_ids=[GUILD_ID], text_channels={GUILD_ID: channels}, command_sync_quorum=len(PROCESSES)
    ) as fake:
        settings = {
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_BASE": fake.api_base,
            "GUILD_IDS": str(GUILD_ID),
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "INFO",
            "PYTHONFAULTHANDLER": "1",  # so that a hang on Ctrl-C leaves its stacks (see stop_or_dump)
        }
        for name in PROCESSES:
            (tmp_path / name).mkdir()
        async with AsyncExitStack() as processes:  # each one stopped (Ctrl-C, then kill) however this ends
            started = time.monotonic()
            bots = [await processes.enter_async_context(run_bot(tmp_path / name, settings)) for name in PROCESSES]

            def connected_and_posted() -> bool:
                outputs = [bot.output() for bot in bots]
                return (
                    all(SETUP_DONE_LOG in output and READY_LOG in output for output in outputs)
                    and bool(headed(fake.messages_in(ANNOUNCEMENTS), ALLIANCE_HEADING))
                    and bool(headed(fake.messages_in(GROUP_CHANNEL), group_heading))
                )

            def stuck() -> bool:
                return any(not bot.running or GUARD_MARK in bot.output() for bot in bots)

            ready = await fake.wait_for(connected_and_posted, within=STARTUP_TIMEOUT, abort=stuck, interval=0.1)
            elapsed = time.monotonic() - started
            assert ready, (
                "the two processes did not both connect and post both digests "
                + (f"within {STARTUP_TIMEOUT:.0f}s" if not stuck() else "(one exited or left the loopback)")
                + describe(fake, bots)
            )
            await asyncio.sleep(SETTLE)  # a second copy, if any, would be posted by now
            await asyncio.gather(*(stop_or_dump(bot) for bot in bots))
        print(f"both connected and both digests posted {elapsed:.1f}s after start")

    outputs = {name: bot.output() for name, bot in zip(PROCESSES, bots, strict=True)}
    for name, bot in zip(PROCESSES, bots, strict=True):
        assert bot.process.returncode == 0, (
            f"Ctrl-C did not stop the {name} process (exit {bot.process.returncode}):\n{outputs[name][-20_000:]}"
            + f"\nTraffic seen by the fake:\n{fake.summary()}"
        )
        assert "Traceback" not in outputs[name], f"the {name} process logged a traceback:\n{outputs[name]}"
        assert GUARD_MARK not in outputs[name], outputs[name]
        assert TOKEN not in outputs[name]

    # Exactly one POST per digest, and nothing else posted.
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert len(posts) == 2, f"{len(posts)} message POSTs:{describe(fake, bots)}"
    [alliance] = headed(fake.messages_in(ANNOUNCEMENTS), ALLIANCE_HEADING)
    [group] = headed(fake.messages_in(GROUP_CHANNEL), group_heading)
    assert "A quiet week across the alliance" in alliance.content
    assert alliance.files == (), "an empty alliance digest carries no chart"
    assert "A quiet week" in group.content
    assert alliance.payload.get("allowed_mentions") == {"parse": []}

    # Exactly one claimed run per digest for the new period, produced by exactly one process.
    # (Scopes, not asserted by name: the log masks the database password wherever it occurs, and
    # a test server whose password is "alliance" turns the alliance scope into "***".)
    claims = [match[1] for output in outputs.values() for match in CLAIMED_LOG.finditer(output)]
    assert len(claims) == len(set(claims)) == 2, claims

    state = await database_state(database_url)
    runs, outbox = state.runs, state.outbox
    by_period = {(run.scope, run.period_end): run for run in runs}
    assert len(by_period) == len(runs), "two runs for one period"
    assert set(by_period) == {
        (scope, end) for scope in (ALLIANCE, seeded.group_scope) for end in (seeded.previous, seeded.latest)
    }, sorted(by_period)
    for scope in (ALLIANCE, seeded.group_scope):
        run = by_period[scope, seeded.latest]
        assert run.status == DigestRunStatus.posted, run.status
        assert run.period_start == seeded.previous
        assert run.messages == 1
    if state.claim_attempts is not None:  # 2 seeded + 2 claimed + what the loser tried (2 if it raced for both)
        lost = state.claim_attempts - len(runs)
        print(f"claims lost to the other process: {lost}")
        assert lost >= 1, "the processes did not race: the second one started after the first had claimed both"

    # Every outbox row delivered, once, as the message the fake created.
    assert [message.status for message in outbox] == [OutboxStatus.delivered] * 2, [
        (m.dedupe_key, m.status, m.attempts, m.last_error) for m in outbox
    ]
    assert {message.message_id for message in outbox} == {alliance.id, group.id}
    assert {message.channel_id for message in outbox} == {ANNOUNCEMENTS, GROUP_CHANNEL}
    assert all(message.attempts == 1 for message in outbox), [(m.dedupe_key, m.attempts) for m in outbox]
