"""Discord's rate limits and server errors, through discord.py's real HTTP client.

SimCord replaces discord.py's transport, so its injected errors test what the bot does once
discord.py gives up (tests/e2e/test_discord_faults.py). Here the real `python bot.py` talks
HTTP to tests/fake_discord.py, which answers with the headers and bodies Discord sends: a route
429 and a global 429 (each with its retry-after), 500, 502 and 503. The bot must wait as told,
retry, and post each message exactly once, then owe Discord nothing; an interaction answer
that meets a 429 and a 500 still reaches the member.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from db.models import OutboxStatus
from tests.e2e.live_alliance import (
    ANNOUNCEMENTS,
    FILER,
    GROUP_CHANNEL,
    GUILD_ID,
    LiveBot,
    alliance_fake,
    outbox,
    settle,
)
from tests.e2e.live_alliance import seed as seed_alliance
from tests.e2e.test_kill import seed_due_digest
from tests.figures import record

RETRY_AFTER = 0.3  # seconds, as Discord would say in Retry-After and the body


async def test_rate_limits_and_server_errors_are_waited_out_and_posted_once(
    tmp_path: Path, database_url: str
) -> None:
    now = datetime.now(UTC)
    await seed_alliance(database_url, now)
    await seed_due_digest(database_url, now)
    posts = f"/channels/{ANNOUNCEMENTS}/messages"
    async with alliance_fake() as fake, AsyncExitStack() as stack:
        # One discord.py request meets 500, 502 (retried by discord.py after 1 s and 3 s), a route
        # 429 and a global 429 (retried after RETRY_AFTER) and a 503 (not retried by discord.py):
        # the outbox records the failed attempt, backs off, meets one more 503, then posts.
        failures = [
            fake.fail("POST", posts, [500, 502, 429], retry_after=RETRY_AFTER),
            fake.fail("POST", posts, [429], retry_after=RETRY_AFTER, global_limit=True),
            fake.fail("POST", posts, [503, 503]),
        ]
        bot = LiveBot(tmp_path, fake, database_url, stack)
        await bot.start()
        await bot.wait(lambda: bool(fake.messages_in(ANNOUNCEMENTS)), what="the digest", within=60)
        await bot.drained()

        fake.fail("POST", r"/interactions/\d+/[^/]+/callback", [429, 500], retry_after=RETRY_AFTER)
        asked = await fake.slash(
            GUILD_ID, GROUP_CHANNEL, FILER, "takedown check", url="https://www.ebay.com/itm/123456"
        )
        await bot.wait(lambda: asked.acknowledged, what="the answer to /takedown check")
        await settle()
        output = bot.current.output()
        bot.assert_clean()

    [digest] = fake.messages_in(ANNOUNCEMENTS)
    assert digest.content.startswith("**Alliance digest**"), digest.content
    answered = [status for failure in failures for status in failure.answered]
    assert answered == [500, 502, 429, 429, 503, 503], answered
    [message] = await outbox(database_url)
    assert (message.status, message.message_id) == (OutboxStatus.delivered, digest.id)
    assert message.attempts == 3, "two outbox attempts ended in 503, the third posted"
    assert "Global rate limit has been hit" in output and "We are being rate limited" in output
    assert len(asked.callbacks) == 1 and "ebay" in " ".join(asked.texts()).lower(), asked.texts()
    engine = make_url(database_url).get_backend_name()
    for status in [*answered, 429, 500]:
        record("faults survived", f"real-transport HTTP {status} answers ({engine})")
