"""Digests and enforcement cases end to end: schedules on simulated time, exactly-once runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import simcord
from sqlalchemy import func, select

from bot.app import AllianceBot, create_bot
from bot.settings import Settings
from db.models import DigestRun, DigestRunStatus, IntelReport, Tlp
from tests.e2e.world import World, arrange, wire

FIRST_MONDAY = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # Monday 09:00 in Asia/Shanghai


@pytest.fixture
async def world(env: simcord.Env) -> World:
    return await wire(arrange(env))


async def until(env: simcord.Env, moment: datetime, extra: float = 60) -> None:
    await env.advance_time((moment - env.now()).total_seconds() + extra)


def digests_in(channel: simcord.ChannelHandle, heading: str) -> list[str]:
    return [m.content for m in channel.history() if m.content.startswith(heading)]


async def runs(bot: AllianceBot) -> list[DigestRun]:
    async with bot.sessions() as session:
        return list(await session.scalars(select(DigestRun).order_by(DigestRun.id)))


async def test_default_schedule_fires_monday_0900_shanghai_once(
    world: World, env: simcord.Env, bot: AllianceBot
) -> None:
    await until(env, FIRST_MONDAY, extra=-120)
    assert digests_in(world.watches, "**Weekly digest") == []
    await until(env, FIRST_MONDAY)
    [group_digest] = digests_in(world.watches, "**Weekly digest · Watches & Jewellery**")
    assert "**New member organisations:** Vantor Watches" in group_digest
    [alliance] = digests_in(world.announcements, "**Alliance digest**")
    assert "Vantor Watches" in alliance
    await env.advance_time(3600)
    assert len(digests_in(world.watches, "**Weekly digest")) == 1
    await until(env, datetime(2026, 1, 12, 1, 0, tzinfo=UTC))
    quiet = digests_in(world.watches, "**Weekly digest · Watches & Jewellery**")
    assert len(quiet) == 2 and quiet[1].endswith("A quiet week: nothing was shared, filed or decided.")
    scopes = {run.scope for run in await runs(bot)}
    assert {"alliance", "group:watches-jewellery"} <= scopes


async def test_busy_week_is_split_within_discord_limits_and_charted(
    world: World, env: simcord.Env, bot: AllianceBot
) -> None:
    from tests.e2e.test_intel import share

    await share(
        world, world.alice, world.watches, title="Clear lead", body="x", tlp="CLEAR", indicators="qq: 123456789"
    )
    await share(world, world.lead, world.watches, title="Amber lead", body="y", indicators="qq: 123456789")
    await share(world, world.lead, world.watches, title="Strict lead", body="z", tlp="AMBER+STRICT")
    await share(world, world.lead, world.watches, title="Red lead", body="z", tlp="RED", recipient1=world.alice)
    async with bot.sessions.begin() as session:
        group_id = (await session.scalars(select(IntelReport.working_group_id))).first()
        for number in range(2500):
            session.add(
                IntelReport(
                    author_id=world.alice.id,
                    organisation_id=1,
                    working_group_id=group_id,
                    tlp=Tlp.AMBER,
                    title=f"Bulk observation number {number:04d} from the field",
                    body="seen",
                    unrecognised=[],
                    created_at=env.now(),
                    updated_at=env.now(),
                    indicators=[],
                    recipients=[],
                )
            )
    await until(env, FIRST_MONDAY)
    parts = [
        m
        for m in world.watches.history()
        if (m.author.bot and "digest" in m.content[:40].lower()) or (m.author.bot and m.content.startswith("- IN-"))
    ]
    texts = [m.content for m in world.watches.history() if m.author.bot]
    digest = "\n".join(texts[texts.index(next(t for t in texts if t.startswith("**Weekly digest"))) :])
    assert all(len(text) <= 2000 for text in texts)
    assert "2502 new report(s)" in digest or "2503 new report(s)" in digest
    assert "AMBER+STRICT 1" in digest and "Strict lead" not in digest and "Red lead" not in digest
    assert "…and" in digest  # titles beyond the limit are counted, not silently dropped
    alliance = [m for m in world.announcements.history() if m.content.startswith("**Alliance digest**")]
    assert alliance and "Clear lead" in alliance[0].content and "Amber lead" not in alliance[0].content
    [chart] = alliance[0].attachments
    assert (await chart.read()).startswith(b"\x89PNG\r\n\x1a\n")
    assert parts is not None


async def test_custom_cron_and_invalid_expressions(world: World, env: simcord.Env) -> None:
    bad = await world.owner.slash(world.general, "digest schedule", cron="0 9 * *", group="watches-jewellery")
    assert "needs 5 fields" in bad.response.content
    worse = await world.owner.slash(world.general, "digest schedule", cron="0 25 * * *", group="watches-jewellery")
    assert "not a valid schedule" in worse.response.content
    zone = await world.owner.slash(world.general, "digest schedule", cron="0 9 * * *", timezone="Nowhere/City")
    assert "not an IANA time zone" in zone.response.content
    refused = await world.alice.slash(world.general, "digest schedule", cron="0 9 * * *")
    assert "admin role" in refused.response.content
    ok = await world.owner.slash(
        world.general, "digest schedule", cron="30 14 * * *", timezone="Europe/Paris", group="watches-jewellery"
    )
    assert "next: <t:" in ok.response.content
    await until(env, datetime(2026, 1, 1, 13, 30, tzinfo=UTC))
    assert len(digests_in(world.watches, "**Weekly digest")) == 1
    await until(env, datetime(2026, 1, 2, 13, 30, tzinfo=UTC))
    assert len(digests_in(world.watches, "**Weekly digest")) == 2


async def test_injected_discord_errors_retry_and_post_once(world: World, env: simcord.Env) -> None:
    env.inject_error("POST", f"/channels/{world.watches.id}/messages", status=500, times=3)
    env.inject_error("POST", f"/channels/{world.watches.id}/messages", status=429, times=2)
    await until(env, FIRST_MONDAY, extra=600)
    assert len(digests_in(world.watches, "**Weekly digest")) == 1


async def test_restart_between_claim_and_delivery_posts_once(
    world: World, env: simcord.Env, settings: Settings
) -> None:
    env.inject_error("POST", f"/channels/{world.announcements.id}/messages", status=503, times=None)
    await until(env, FIRST_MONDAY)
    assert digests_in(world.announcements, "**Alliance digest**") == []
    await env.restart_bot(create_bot(settings))
    env.backend.faults.clear()
    await env.advance_time(1800)
    assert len(digests_in(world.announcements, "**Alliance digest**")) == 1


async def test_missed_runs_catch_up_within_grace_only(world: World, env: simcord.Env, settings: Settings) -> None:
    await until(env, FIRST_MONDAY)
    assert len(digests_in(world.watches, "**Weekly digest")) == 1
    env.bot.digest_scheduler.stop()  # type: ignore[attr-defined]  # the bot is down over the next Monday
    env.bot.delivery.stop()  # type: ignore[attr-defined]
    await until(env, datetime(2026, 1, 12, 1, 0, tzinfo=UTC), extra=5 * 3600)
    await env.restart_bot(create_bot(settings))
    await env.advance_time(60)
    assert len(digests_in(world.watches, "**Weekly digest")) == 2  # 5 hours late: posted
    env.bot.digest_scheduler.stop()  # type: ignore[attr-defined]
    env.bot.delivery.stop()  # type: ignore[attr-defined]
    await until(env, datetime(2026, 1, 19, 1, 0, tzinfo=UTC), extra=30 * 3600)
    await env.restart_bot(create_bot(settings))
    await env.advance_time(60)
    assert len(digests_in(world.watches, "**Weekly digest")) == 2  # 30 hours late: not posted
    async with env.bot.sessions() as session:  # type: ignore[attr-defined]
        skipped = await session.scalar(select(func.count()).where(DigestRun.status == DigestRunStatus.skipped))
    assert skipped and skipped >= 1


async def test_preview_send_and_subscribe(world: World, env: simcord.Env) -> None:
    preview = await world.lead.slash(world.watches, "digest preview", group="watches-jewellery")
    text = (preview.followups[0] if preview.followups else preview.response).content
    assert text.startswith("**Weekly digest · Watches & Jewellery**")
    refused = await world.alice.slash(world.watches, "digest preview", group="watches-jewellery")
    assert "lead role" in refused.response.content
    subscribed = await world.alice.slash(world.watches, "digest subscribe", group="watches-jewellery")
    assert "by DM" in subscribed.response.content
    other = await world.alice.slash(world.watches, "digest subscribe", group="apparel-footwear")
    assert "only to your own working groups" in other.response.content
    sent = await world.owner.slash(world.general, "digest send", group="watches-jewellery")
    assert "Posting the digest" in (sent.followups[0] if sent.followups else sent.response).content
    assert len(digests_in(world.watches, "**Weekly digest")) == 1
    dm = world.alice.user.dm_channel.last_message
    assert dm is not None and dm.content.startswith("**Weekly digest · Watches & Jewellery**")


# ------------------------------------------------------------------------ cases


async def test_cases_are_validated_and_totalled_per_currency(world: World) -> None:
    logged = await world.lead.slash(
        world.watches,
        "case log",
        group="watches-jewellery",
        arrests=3,
        locations=1,
        seizure_value=125000.5,
        currency="CNY",
        summary="Raid on a dial workshop in Guangzhou",
    )
    assert "Logged **CASE-000001**" in logged.response.content and not logged.ephemeral
    await world.owner.slash(
        world.general,
        "case log",
        group="watches-jewellery",
        arrests=0,
        locations=2,
        seizure_value=9000,
        currency="USD",
        summary="Warehouse seizure in Yiwu",
        date="2025-12-30",
    )
    await world.owner.slash(
        world.general,
        "case log",
        group="watches-jewellery",
        arrests=1,
        locations=0,
        seizure_value=500,
        currency="CNY",
        summary="Courier depot inspection",
    )
    refused = await world.alice.slash(
        world.watches,
        "case log",
        group="watches-jewellery",
        arrests=1,
        locations=1,
        seizure_value=1,
        currency="CNY",
        summary="Not a lead, not allowed",
    )
    assert "lead role" in refused.response.content
    future = await world.owner.slash(
        world.general,
        "case log",
        group="watches-jewellery",
        arrests=1,
        locations=1,
        seizure_value=1,
        currency="EUR",
        summary="A raid that has not happened",
        date="2031-01-01",
    )
    assert "between 2000-01-01 and today" in future.response.content
    listed = await world.alice.slash(world.watches, "case list", group="watches-jewellery")
    assert (
        "**Totals (3 case(s)):** 4 arrest(s) · 3 location(s) · seized CNY 125,500.50, USD 9,000.00"
        in listed.response.content
    )
    shown = await world.alice.slash(world.watches, "case show", id="CASE-000002")
    assert "Warehouse seizure in Yiwu" in shown.response.content


async def test_a_schedule_that_never_fires_is_refused(world: World) -> None:
    never = await world.owner.slash(world.general, "digest schedule", cron="0 9 31 2 *")
    assert "never fires" in never.response.content
    fenced = await world.owner.slash(world.general, "digest schedule", cron="0 9 * * `mon`")
    assert "``" not in fenced.response.content
