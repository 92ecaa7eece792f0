"""End to end: the real `python bot.py` keeps serving through gateway faults (tests/fake_discord.py).

Two review cards are filed (through `/takedown bulk` and **File all**) before any fault. Then
three faults, each followed by a check that the bot still does its work:

1. op 7 RECONNECT: discord.py reconnects and RESUMEs; a member gains the working group's role
   during the reconnect (the GUILD_MEMBER_UPDATE reaches the bot on the old connection or,
   kept in the session, replayed after RESUME) and gets the group's welcome, once.
2. the connection drops with close code 4000: discord.py RESUMEs; a member posts a known listing
   link in the group channel and gets the chat answer; its persistent **File takedown** button
   opens the filing form.
3. op 9 INVALID_SESSION: the session cannot be resumed, discord.py IDENTIFYs again; a reviewer
   presses **Removed** on a review card posted before all of this (a DynamicItem button) and the
   decision is stored and told to the filer.

Proves: listeners and persistent buttons keep working across resume and re-identify.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from bot.services.takedowns import takedown_id
from db.models import OutboxStatus, Takedown, TakedownStatus
from tests.e2e.live_alliance import (
    FILER,
    GROUP_CHANNEL,
    GROUP_ROLE,
    GUILD_ID,
    NEWCOMER,
    REVIEW,
    REVIEWER,
    LiveBot,
    alliance_fake,
    bulk_csv,
    database,
    listing_url,
    outbox,
    seed,
    settle,
)
from tests.e2e.test_kill import file_all, upload
from tests.fake_discord import CLOSE_UNKNOWN_ERROR
from tests.figures import record

MODAL = 9  # interaction callback type


async def test_listeners_and_persistent_buttons_survive_resume_and_reidentify(
    tmp_path: Path, database_url: str
) -> None:
    alliance = await seed(database_url, datetime.now(UTC))
    async with alliance_fake() as fake, AsyncExitStack() as stack:
        bot = LiveBot(tmp_path, fake, database_url, stack)
        await bot.start()
        filing = await file_all(bot, await upload(bot, bulk_csv(2)))
        await bot.wait(lambda: len(fake.messages_in(REVIEW)) == 2, what="the review cards")
        await bot.drained()
        assert filing.acknowledged
        connections = len(fake.gateway_sessions)

        # 1. RECONNECT, and a role change while the bot reconnects.
        await fake.request_reconnect()
        await fake.set_roles(GUILD_ID, NEWCOMER, [GROUP_ROLE])
        await bot.wait(lambda: fake.gateway_sessions[-1].resumed, what="RESUME after op 7")
        await bot.wait(lambda: bool(fake.messages_in(GROUP_CHANNEL)), what="the group's welcome")
        [welcome] = fake.messages_in(GROUP_CHANNEL)
        assert f"<@{NEWCOMER}>" in welcome.content and alliance.group_name in welcome.content, welcome.content
        assert welcome.payload.get("allowed_mentions", {}).get("users") == [NEWCOMER], welcome.payload

        # 2. The connection drops; a listing link in the group channel.
        await fake.drop_connection(CLOSE_UNKNOWN_ERROR)
        await bot.wait(lambda: len(fake.gateway_sessions) > connections + 1, what="a new connection")
        await bot.wait(lambda: fake.gateway_sessions[-1].resumed, what="RESUME after close 4000")
        link = await fake.post_as(GUILD_ID, GROUP_CHANNEL, FILER, f"seen again: {listing_url(1)}")
        await bot.wait(lambda: len(fake.messages_in(GROUP_CHANNEL)) == 2, what="the chat answer")
        answer = fake.messages_in(GROUP_CHANNEL)[1]
        assert answer.payload.get("message_reference", {}).get("message_id") == link.id, answer.payload
        assert "submitted" in answer.content, answer.content
        form = await fake.click(GUILD_ID, FILER, answer, answer.custom_id("File takedown"))
        await bot.wait(lambda: form.acknowledged, what="the filing form")
        assert form.callback_types == [MODAL]
        fields = [row["components"][0] for row in form.callbacks[0]["data"]["components"]]
        assert {"custom_id": "url", "value": listing_url(1)}.items() <= fields[0].items(), fields[0]

        # 3. INVALID_SESSION: a new session; the review card posted before it all still decides.
        await fake.invalidate_session()
        await bot.wait(
            lambda: fake.gateway_sessions[-1].identified and fake.connected, what="IDENTIFY after INVALID_SESSION"
        )
        card = next(m for m in fake.messages_in(REVIEW) if takedown_id(1) in m.content)
        decision = await fake.click(GUILD_ID, REVIEWER, card, "td:review:1:removed")
        await bot.wait(lambda: decision.acknowledged, what="the decision's answer")
        assert "is now **removed**" in " ".join(decision.texts()), decision.texts()
        await bot.wait(lambda: bool(fake.dms_to(FILER)), what="the filer's notice")
        await bot.drained()
        await settle()
        bot.assert_clean()

    resumes = sum(1 for connection in fake.gateway_sessions if connection.resumed)
    identifies = sum(1 for connection in fake.gateway_sessions if connection.identified)
    assert (resumes, identifies) == (2, 2), fake.summary()
    assert len(fake.messages_in(GROUP_CHANNEL)) == 2, "a listener answered twice"
    [notice] = fake.dms_to(FILER)
    assert f"**{takedown_id(1)}**" in notice.content and "**removed**" in notice.content
    async with database(database_url) as sessions, sessions() as session:
        takedown = await session.get(Takedown, 1)
        assert takedown is not None and takedown.status == TakedownStatus.removed
    assert all(m.status == OutboxStatus.delivered for m in await outbox(database_url))
    record("faults survived", "gateway RECONNECT / close 4000 / INVALID_SESSION", 3)
    record("faults survived", "gateway sessions resumed", resumes)
    record("faults survived", "gateway sessions identified again", identifies)
