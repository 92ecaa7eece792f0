"""End to end: `kill -9` of the real bot process in the middle of its work, then a restart on the
same database and the same fake Discord (tests/fake_discord.py), on SQLite and PostgreSQL.

Users act through interactions dispatched over the fake gateway; what must already exist (the
alliance, a due digest, a counter-notice whose deadline passed) is seeded in the database
(tests/e2e/live_alliance.py). The fake dedupes message POSTs by `nonce` with `enforce_nonce`,
as Discord does for a few minutes; the bot sends one stable nonce per outbox message.

- `test_kill_mid_bulk_filing_files_all_or_nothing`: the member uploads a 10,000-row CSV and
  presses **File all**; the bot is killed while the one filing transaction writes (a second
  after its last progress message; the inserts take several seconds). After the restart there
  is no takedown, bulk, audit entry or outbox message of that upload (or all of them, had it
  committed); a second upload files all 10,000 with one summary card. Proves: a bulk filing is
  all or nothing.
- `test_kill_around_a_review_decision_loses_none`: a reviewer presses **Removed** on review
  cards; the bot is killed right after a click, and while the filer's notice is in flight (once
  with Discord never having created it, once with Discord having created it). After restart:
  every decision the reviewer was told of is stored; every stored decision's notice reaches the
  filer exactly once and its card is edited; an undecided card's button still works after the
  restart. Proves: no lost decision, no lost or doubled notice.
- `test_kill_mid_digest_post_posts_it_once`: a digest run is due at start-up (seeded); the bot
  is killed while the fake holds the digest's POST, once with Discord never having created the
  message and once with Discord having created it but the answer never arriving. After the
  last restart: one claimed run, one message in the channel (the repeat answered from the
  nonce). Proves: one digest whatever the crash point.
- `test_kill_mid_deadline_notice_reinstates_once`: a counter-notice deadline has passed
  (seeded); the same two kills while the filer's reinstatement notice is held. After restart:
  reinstated once (one audit entry), one notice. Proves: one reinstatement.

Each test prints its figures (kill points, what was acknowledged or committed at each).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.engine import make_url

from bot.services.digests import ALLIANCE
from bot.services.takedowns import GOOD_FAITH_STATEMENT, takedown_id
from db.models import (
    AuditEntry,
    CounterState,
    DigestRun,
    DigestRunStatus,
    IpRight,
    OutboxMessage,
    OutboxStatus,
    Takedown,
    TakedownBulk,
    TakedownReason,
    TakedownStatus,
)
from tests.e2e.live_alliance import (
    ANNOUNCEMENTS,
    FILER,
    GROUP_CHANNEL,
    GUILD_ID,
    REVIEW,
    REVIEWER,
    Alliance,
    LiveBot,
    add_overdue_digest,
    alliance_fake,
    bulk_csv,
    database,
    expire_leases,
    listing_url,
    outbox,
    seed,
    settle,
)
from tests.fake_discord import Interaction
from tests.figures import record

BULK_ROWS = 10_000
LAST_PROGRESS = f"checked {BULK_ROWS:,} of {BULK_ROWS:,} rows"
BULK_KILL_DELAY = 1.0  # seconds after the last progress message: inside the inserts (several seconds)
FILING_TIMEOUT = 120.0


def engine(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


async def count(database_url: str, model: type, *where: ColumnElement[bool]) -> int:
    async with database(database_url) as sessions, sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def audit_count(database_url: str, action: str, subject: str | None = None) -> int:
    where = [AuditEntry.action == action] + ([AuditEntry.subject == subject] if subject else [])
    return await count(database_url, AuditEntry, *where)


async def upload(bot: LiveBot, rows: bytes) -> Interaction:
    """`/takedown bulk` with the CSV; returns once the dry run shows its result."""
    fake = bot.fake
    csv = fake.add_attachment("takedowns.csv", rows)
    dry_run = await fake.slash(GUILD_ID, GROUP_CHANNEL, FILER, "takedown bulk", csv=csv)
    await bot.wait(
        lambda: dry_run.original is not None and "(of " in dry_run.original.content,
        within=FILING_TIMEOUT,
        what="the bulk dry run",
    )
    return dry_run


async def file_all(bot: LiveBot, dry_run: Interaction) -> Interaction:
    assert dry_run.original is not None
    return await bot.fake.click(GUILD_ID, FILER, dry_run.original, dry_run.original.custom_id("File all"))


async def bulk_state(database_url: str) -> tuple[int, int, int, int]:
    """(takedowns, bulk uploads, `takedown.filed` audit entries, outbox messages)."""
    return (
        await count(database_url, Takedown),
        await count(database_url, TakedownBulk),
        await audit_count(database_url, "takedown.filed"),
        await count(database_url, OutboxMessage),
    )


async def test_kill_mid_bulk_filing_files_all_or_nothing(tmp_path: Path, database_url: str) -> None:
    await seed(database_url, datetime.now(UTC))
    async with alliance_fake() as fake, AsyncExitStack() as stack:
        bot = LiveBot(tmp_path, fake, database_url, stack)
        await bot.start()
        first = await file_all(bot, await upload(bot, bulk_csv(BULK_ROWS)))
        await bot.wait(
            lambda: first.original is not None and LAST_PROGRESS in first.original.content,
            within=FILING_TIMEOUT,
            what="the filing's last progress message",
        )
        await asyncio.sleep(BULK_KILL_DELAY)
        told = first.original is not None and "filed ·" in first.original.content
        await bot.kill()
        state = await bulk_state(database_url)
        assert state in ((0, 0, 0, 0), (BULK_ROWS, 1, BULK_ROWS, 1)), f"partial bulk after kill -9: {state}"
        assert not told or state[0] == BULK_ROWS, "the member was told it was filed, but it is not"
        record("kill -9 bulk outcome at the kill", "nothing filed" if state[0] == 0 else "all filed")

        await expire_leases(database_url)
        await bot.start()
        if await count(database_url, Takedown) == 0:
            filing = await file_all(bot, await upload(bot, bulk_csv(BULK_ROWS)))
            await bot.wait(
                lambda: filing.original is not None and "filed ·" in filing.original.content,
                within=FILING_TIMEOUT,
                what="the completed filing",
            )
            assert filing.original is not None
            assert filing.original.content.startswith(f"**{BULK_ROWS}** filed"), filing.original.content
        await bot.wait(lambda: bool(fake.messages_in(REVIEW)), what="the bulk summary card")
        await settle()
        bot.assert_clean()

    assert await bulk_state(database_url) == (BULK_ROWS, 1, BULK_ROWS, 1)
    assert await audit_count(database_url, "takedown.bulk_filed") == 1
    [card] = fake.messages_in(REVIEW)
    assert f"{BULK_ROWS} new takedown requests" in card.content, card.content
    assert [m.status for m in await outbox(database_url)] == [OutboxStatus.delivered]
    record("kill -9 survived", f"bulk filing ({engine(database_url)})", bot.kills)


async def test_kill_around_a_review_decision_loses_none(tmp_path: Path, database_url: str) -> None:
    await seed(database_url, datetime.now(UTC))
    async with alliance_fake() as fake, AsyncExitStack() as stack:
        bot = LiveBot(tmp_path, fake, database_url, stack)
        dm = fake.dm_channel(FILER)
        kill_points = ("at once", "notice in flight, not created", "notice in flight, created")
        await bot.start()
        filing = await file_all(bot, await upload(bot, bulk_csv(len(kill_points))))
        await bot.wait(lambda: len(fake.messages_in(REVIEW)) == len(kill_points), what="the review cards")

        async def cards_recorded() -> bool:  # so that decisions edit them
            return not await count(database_url, Takedown, Takedown.review_message_id.is_(None))

        await bot.until(cards_recorded, what="the review cards recorded")
        cards = {int(m.content.split("TD-")[1][:6]): m for m in fake.messages_in(REVIEW)}
        assert filing.acknowledged and sorted(cards) == list(range(1, len(kill_points) + 1)), sorted(cards)

        clicks: dict[int, Interaction] = {}
        for number, point in zip(sorted(cards), kill_points, strict=True):
            if bot.kills:
                await expire_leases(database_url)
                await bot.start()
                await bot.drained()  # what the last kill left in flight, so the hold below catches this decision's
            hold = (
                fake.hold("POST", f"/channels/{dm}/messages", accept=point.endswith("created"))
                if "flight" in point
                else None
            )
            card = cards[number]
            clicks[number] = await fake.click(GUILD_ID, REVIEWER, card, f"td:review:{number}:removed")
            if hold is not None:
                await bot.wait(hold.arrived.is_set, what=f"the notice of {takedown_id(number)}")
            await bot.kill()
            if hold is not None:
                hold.release()

        await expire_leases(database_url)
        await bot.start()
        await bot.drained()
        decided = {
            number: await audit_count(database_url, "takedown.removed", f"takedown:{number}") for number in cards
        }
        for number, times in decided.items():
            assert times in (0, 1), f"{takedown_id(number)} decided {times} times"
            if clicks[number].acknowledged:
                assert times == 1, f"the reviewer was told {takedown_id(number)} was decided, but it is not stored"
        # What the kills left undecided, the reviewer decides again, with the same (persistent) button.
        retried = [number for number, times in decided.items() if times == 0]
        for number in retried:
            again = await fake.click(GUILD_ID, REVIEWER, cards[number], f"td:review:{number}:removed")
            await bot.wait(lambda: again.acknowledged, what=f"the retried decision on {takedown_id(number)}")  # noqa: B023
            assert "is now **removed**" in " ".join(again.texts()), again.texts()

        await bot.wait(lambda: len(fake.dms_to(FILER)) >= len(cards), what="the filer's notices")
        await bot.drained()
        await settle()
        bot.assert_clean()

    async with database(database_url) as sessions, sessions() as session:
        statuses = {t.id: t.status for t in await session.scalars(select(Takedown))}
    assert statuses == dict.fromkeys(cards, TakedownStatus.removed), statuses
    for number, card in cards.items():
        tid = takedown_id(number)
        notices = [m for m in fake.dms_to(FILER) if f"**{tid}**" in m.content]
        assert len(notices) == 1, f"{tid}: {len(notices)} notices to the filer"
        assert "**removed**" in notices[0].content
        assert "removed" in fake.messages[card.id].content, f"the card of {tid} was not updated"
        assert await audit_count(database_url, "takedown.removed", f"takedown:{number}") == 1
    record("kill -9 decisions", "acknowledged before the kill", sum(click.acknowledged for click in clicks.values()))
    record("kill -9 decisions", "stored before the kill", sum(decided.values()))
    record("kill -9 survived", f"review decision ({engine(database_url)})", bot.kills)
    record("kill -9 survived", "repeated posts dropped by nonce after a kill", fake.deduplicated_posts)


async def seed_due_digest(database_url: str, now: datetime) -> datetime:
    """A daily alliance digest whose run came due five minutes ago (as in test_two_processes).
    Returns the due period's end."""
    async with database(database_url) as sessions, sessions.begin() as session:
        return add_overdue_digest(session, ALLIANCE, now, timedelta(minutes=5))[1]


async def seed_passed_deadline(database_url: str, alliance: Alliance, now: datetime) -> int:
    """A removed takedown whose counter-notice deadline passed a minute ago, unanswered."""
    filed = now - timedelta(days=10)
    async with database(database_url) as sessions, sessions.begin() as session:
        right = await session.scalar(select(IpRight).where(IpRight.organisation_id == alliance.organisation_id))
        assert right is not None
        takedown = Takedown(
            organisation_id=alliance.organisation_id,
            right_id=right.id,
            working_group_id=alliance.group_id,
            guild_id=GUILD_ID,
            filer_id=FILER,
            marketplace="taobao",
            listing_key="taobao:610000000000",
            listing_url=listing_url(0),
            submitted_url=listing_url(0),
            reason=TakedownReason.counterfeit,
            good_faith_statement=GOOD_FAITH_STATEMENT,
            status=TakedownStatus.removed,
            filed_at=filed,
            due_at=filed + timedelta(days=1),
            at_risk_at=filed + timedelta(hours=18),
            decided_at=filed + timedelta(hours=2),
            decided_by=REVIEWER,
            counter_state=CounterState.awaiting_filer,
            counter_filed_at=now - timedelta(days=4),
            counter_deadline=now - timedelta(minutes=1),
            review_channel_id=REVIEW,
        )
        session.add(takedown)
        await session.flush()
        return takedown.id


async def kill_while_held(bot: LiveBot, what: str, path: str) -> None:
    """Two rounds: start, kill -9 while the POST to `path` is held, first with Discord never
    having done it, then with Discord having done it (the answer lost). Then start for good."""
    for accept in (False, True):
        await expire_leases(bot.database_url)
        hold = bot.fake.hold("POST", path, accept=accept)
        await bot.start()
        await bot.wait(hold.arrived.is_set, what=f"the {what} POST")
        await bot.kill()
        hold.release()
    await expire_leases(bot.database_url)
    await bot.start()


async def test_kill_mid_digest_post_posts_it_once(tmp_path: Path, database_url: str) -> None:
    now = datetime.now(UTC)
    await seed(database_url, now)
    period_end = await seed_due_digest(database_url, now)
    async with alliance_fake() as fake, AsyncExitStack() as stack:
        bot = LiveBot(tmp_path, fake, database_url, stack)
        await kill_while_held(bot, "digest", f"/channels/{ANNOUNCEMENTS}/messages")
        await bot.wait(lambda: bool(fake.messages_in(ANNOUNCEMENTS)), what="the digest")
        await bot.drained()
        await settle()
        bot.assert_clean()

    [digest] = fake.messages_in(ANNOUNCEMENTS)
    assert digest.content.startswith("**Alliance digest**"), digest.content
    async with database(database_url) as sessions, sessions() as session:
        runs = list(await session.scalars(select(DigestRun).where(DigestRun.period_end == period_end)))
    assert [(run.scope, run.status) for run in runs] == [(ALLIANCE, DigestRunStatus.posted)]
    [message] = await outbox(database_url)
    assert (message.status, message.message_id) == (OutboxStatus.delivered, digest.id)
    assert fake.deduplicated_posts == 1, "the post Discord created before the kill was not repeated"
    record("kill -9 survived", f"digest post ({engine(database_url)})", bot.kills)


async def test_kill_mid_deadline_notice_reinstates_once(tmp_path: Path, database_url: str) -> None:
    now = datetime.now(UTC)
    alliance = await seed(database_url, now)
    number = await seed_passed_deadline(database_url, alliance, now)
    async with alliance_fake() as fake, AsyncExitStack() as stack:
        bot = LiveBot(tmp_path, fake, database_url, stack)
        await kill_while_held(bot, "reinstatement notice", f"/channels/{fake.dm_channel(FILER)}/messages")
        await bot.wait(lambda: bool(fake.dms_to(FILER)), what="the reinstatement notice")
        await bot.drained()
        await settle()
        bot.assert_clean()

    [notice] = fake.dms_to(FILER)
    assert f"**{takedown_id(number)}**" in notice.content and "**reinstated**" in notice.content, notice.content
    assert await audit_count(database_url, "takedown.reinstated_by_deadline") == 1
    async with database(database_url) as sessions, sessions() as session:
        takedown = await session.get(Takedown, number)
        assert takedown is not None
        assert (takedown.status, takedown.counter_state) == (TakedownStatus.reinstated, CounterState.reinstated)
    [message] = await outbox(database_url)
    assert (message.status, message.message_id) == (OutboxStatus.delivered, notice.id)
    assert fake.deduplicated_posts == 1, "the post Discord created before the kill was not repeated"
    record("kill -9 survived", f"counter-notice deadline ({engine(database_url)})", bot.kills)
