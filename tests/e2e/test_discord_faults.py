"""Discord answers 429, 500, 502 and 503 to every kind of post the bot makes.

SimCord replaces discord.py's HTTP transport, so an injected error reaches the bot as the
`discord.HTTPException` discord.py raises once its own retries are spent; what is tested here is
what the bot does then (the real transport's 429/5xx retries are exercised by the connected
tests against tests/fake_discord.py). For each status and each kind of post:

- the user's action is stored exactly once, and the user is told the truth (never "nothing
  was changed" about something that was saved);
- every notification is delivered exactly once after the fault clears (review cards in a
  channel, decision notices by DM, intel cards in a group channel and their discussion
  threads, digests);
- nothing waits forever: a post that keeps failing ends as a recorded failure after a bounded
  number of attempts, and `/alliance health` shows it.
"""

from __future__ import annotations

import pytest
import simcord
from sqlalchemy import func, select

from bot.app import AllianceBot
from db.models import IntelReport, OutboxMessage, Takedown
from tests.e2e.test_intel import share
from tests.e2e.test_takedowns import file, right_id
from tests.e2e.world import World, arrange, wire

STATUSES = (429, 500, 502, 503)
TIMES = 3  # consecutive failures before Discord recovers
LISTING = "https://www.ebay.com/itm/770001"


@pytest.fixture
async def world(env: simcord.Env) -> World:
    w = await wire(arrange(env))
    await w.owner.slash(
        w.general, "alliance org right", org="Vantor Watches", kind="trademark", number="TM-778812", jurisdiction="CN"
    )
    return w


def posts_starting(channel: simcord.ChannelHandle, prefix: str) -> list[str]:
    return [message.content for message in channel.history() if message.content.startswith(prefix)]


async def outbox_states(bot: AllianceBot) -> dict[str, int]:
    async with bot.sessions() as session:
        rows = await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {str(status): int(count) for status, count in rows}


async def count(bot: AllianceBot, model: type[Takedown] | type[IntelReport]) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("status", STATUSES)
async def test_review_card_in_a_channel(world: World, env: simcord.Env, bot: AllianceBot, status: int) -> None:
    env.inject_error("POST", f"/channels/{world.review.id}/messages", status=status, times=TIMES)
    filed = await file(world, world.alice)
    assert "TD-000001" in filed.response.content
    await env.advance_time(3600)
    assert len(posts_starting(world.review, "**TD-000001")) == 1
    assert await count(bot, Takedown) == 1
    assert await outbox_states(bot) == {"delivered": 1}


@pytest.mark.parametrize("status", STATUSES)
async def test_decision_notice_by_dm(world: World, env: simcord.Env, bot: AllianceBot, status: int) -> None:
    await file(world, world.alice)
    await env.advance_time(60)
    dm = world.alice.user.dm_channel
    env.inject_error("POST", f"/channels/{dm.id}/messages", status=status, times=TIMES)
    decided = await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="removed")
    assert "removed" in decided.response.content
    await env.advance_time(3600)
    notices = [message.content for message in dm.history() if "TD-000001" in message.content]
    assert len(notices) == 1, notices
    assert set(await outbox_states(bot)) == {"delivered"}  # card edit and notice, nothing left over


@pytest.mark.parametrize("status", STATUSES)
async def test_intel_card_in_the_group_channel(world: World, env: simcord.Env, bot: AllianceBot, status: int) -> None:
    env.inject_error("POST", f"/channels/{world.watches.id}/messages", status=status, times=TIMES)
    shared = await share(world, world.alice, world.watches, title="Dial factory", body="Seen in Guangzhou")
    answer = shared.response or shared.followups[0]
    assert "Shared **IN-000001**" in answer.content, answer.content
    await env.advance_time(3600)
    cards = posts_starting(world.watches, "**IN-000001**")
    assert len(cards) == 1 and "Dial factory" in cards[0], cards
    assert await count(bot, IntelReport) == 1
    assert await outbox_states(bot) == {"delivered": 2}  # the card, then its discussion thread


@pytest.mark.parametrize("status", STATUSES)
async def test_discussion_thread_on_the_card(world: World, env: simcord.Env, bot: AllianceBot, status: int) -> None:
    env.inject_error("POST", f"/channels/{world.watches.id}/messages/*/threads", status=status, times=TIMES)
    await share(world, world.alice, world.watches, title="Strap workshop", body="Seen in Putian")
    await env.advance_time(3600)
    assert [thread.name for thread in world.watches.threads] == ["Strap workshop"]
    async with bot.sessions() as session:
        report = await session.scalar(select(IntelReport))
    assert report is not None and report.thread_id == world.watches.threads[0].id
    assert await outbox_states(bot) == {"delivered": 2}


@pytest.mark.parametrize("status", STATUSES)
async def test_digest_sent_by_an_admin(world: World, env: simcord.Env, status: int) -> None:
    env.inject_error("POST", f"/channels/{world.watches.id}/messages", status=status, times=TIMES)
    sent = await world.owner.slash(world.general, "digest send", group="watches-jewellery")
    assert sent.ephemeral
    await env.advance_time(3600)
    assert len(posts_starting(world.watches, "**Weekly digest")) == 1


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.allow_bot_errors  # the refused reply reaches the error handler, which is the point
async def test_interaction_reply_refused_after_the_action_committed(
    world: World, env: simcord.Env, bot: AllianceBot, status: int
) -> None:
    """The takedown is saved, then Discord refuses the reply: the user is told it may be saved,
    a second try is recognised as the same request, and the review card goes out once."""
    right = await right_id(bot, "TM-778812")
    shown = await world.alice.slash(world.watches, "takedown file", url=LISTING, right=right, reason="counterfeit")
    env.inject_error("POST", "/interactions/*/callback", status=status, times=1)
    pressed = await world.alice.click(shown.response, label="File takedown")
    told = pressed.response.content if pressed.response else pressed.followups[0].content
    assert "may already be saved" in told and "nothing was changed" not in told, told
    assert await count(bot, Takedown) == 1
    again = await file(world, world.alice, url=LISTING)
    assert "already has **TD-000001**" in again.response.content, again.response.content
    await env.advance_time(3600)
    assert await count(bot, Takedown) == 1
    assert len(posts_starting(world.review, "**TD-000001")) == 1


async def test_a_post_that_keeps_failing_ends_as_a_recorded_failure(
    world: World, env: simcord.Env, bot: AllianceBot
) -> None:
    env.inject_error("POST", f"/channels/{world.review.id}/messages", status=503, times=None)
    await file(world, world.alice)
    for _ in range(6):  # well past the outbox's bounded backoff (about two hours in all)
        await env.advance_time(3600)
    assert posts_starting(world.review, "**TD-000001") == []
    assert await outbox_states(bot) == {"failed": 1}
    health = await world.owner.slash(world.general, "alliance health")
    assert "1 failed" in health.response.content and "HTTP 503" in health.response.content, health.response.content



@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.allow_bot_errors  # the refused edit reaches the error handler, which is the point
async def test_deferred_answer_refused(world: World, env: simcord.Env, bot: AllianceBot, status: int) -> None:
    """`/takedown bulk` defers, then edits its answer in (a webhook call, like every follow-up):
    if Discord refuses that edit, the member is still told, by a follow-up, and nothing is filed
    until they confirm a dry run they have seen."""
    upload = ("takedowns.csv", b"url,right,reason\nhttps://www.ebay.com/itm/880001,TM-778812,counterfeit\n")
    env.inject_error("PATCH", "/webhooks/*/*/messages/@original", status=status, times=1)
    refused = await world.alice.slash(world.watches, "takedown bulk", csv=upload)
    # after a deferral, SimCord shows the first follow-up as the response
    told = [message.content for message in (refused.response, *refused.followups) if message is not None]
    assert any("Discord did not accept part of my answer" in text for text in told), told
    assert await count(bot, Takedown) == 0
    again = await world.alice.slash(world.watches, "takedown bulk", csv=upload)
    done = await world.alice.click(again.response, label="File all")
    assert "**1** filed" in done.response.content
    assert await count(bot, Takedown) == 1
