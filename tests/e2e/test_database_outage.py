"""PostgreSQL stopped and started under the running bot (a private server, see tests/pg_server.py).

While the server is down, every command answers at once, ephemerally, that the database is
temporarily unavailable and nothing was saved (no hang, no error reference, no password), and
nothing it tried is written; `/alliance health` says the database is unreachable. When the
server is back, the very next commands work without a restart: the connection pool throws away
its dead connections, and the outbox worker delivers the review card of a takedown filed after
the outage. Both a clean shutdown (`fast`) and a crash (`immediate`) are rehearsed.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Literal

import pytest
import simcord
from sqlalchemy import select

from bot.app import AllianceBot
from db.models import Organisation, Takedown
from tests.e2e.test_takedowns import right_id
from tests.e2e.world import World, arrange, wire
from tests.figures import record
from tests.pg_server import PrivatePostgres

UNAVAILABLE = "temporarily unavailable, so nothing was saved"
MODES: tuple[Literal["fast", "immediate"], ...] = ("fast", "immediate")
LISTING = "https://item.taobao.com/item.htm?id={}"


@pytest.fixture
def server() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(password=f"pw-{secrets.token_hex(8)}")
    server.create()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
async def database_url(server: PrivatePostgres) -> AsyncIterator[str]:
    """Replaces the shared engines: this module's bot runs on the private server only."""
    yield server.url


@pytest.fixture
async def world(env: simcord.Env) -> World:
    w = await wire(arrange(env))
    await w.owner.slash(
        w.general, "alliance org right", org="Vantor Watches", kind="trademark", number="TM-778812", jurisdiction="CN"
    )
    return w


async def file(world: World, right: str, url: str) -> simcord.InteractionResult:
    """`/takedown file`, then the good-faith **File takedown** button if the bot got that far."""
    shown = await world.alice.slash(world.watches, "takedown file", url=url, right=right, reason="counterfeit")
    if shown.response is not None and "File takedown" in str(shown.response.components):
        return await world.alice.click(shown.response, label="File takedown")
    return shown


async def organisation_names(bot: AllianceBot) -> set[str]:
    async with bot.sessions() as session:
        return set(await session.scalars(select(Organisation.name)))


@pytest.mark.allow_bot_errors  # the outage's refusals are logged as warnings, not as bugs, but reach on_error
async def test_postgresql_stopped_and_started(world: World, bot: AllianceBot, server: PrivatePostgres) -> None:
    right = await right_id(bot, "TM-778812")
    outages = refused = 0
    for number, mode in enumerate(MODES, start=1):
        await server.stop_async(mode)
        outages += 1
        answers = [
            await world.owner.slash(world.general, "alliance org add", name=f"During outage {number}"),
            await world.alice.slash(world.watches, "takedown list"),
            await file(world, right, url=LISTING.format(700_000_000_000 + number)),
        ]
        for answer in answers:
            assert answer.ephemeral, answer.response.content
            assert UNAVAILABLE in answer.response.content, answer.response.content
            assert server.password not in answer.response.content
            assert "Error reference" not in answer.response.content
        refused += len(answers)
        health = await world.owner.slash(world.general, "alliance health")
        assert health.ephemeral
        assert "**Database:** unreachable" in health.response.content, health.response.content
        assert server.password not in health.response.content
        # The admin role lives in the database; only Manage Server can vouch for a caller now.
        role_only = await world.admin.slash(world.general, "alliance health")
        assert UNAVAILABLE in role_only.response.content, role_only.response.content

        await server.start_async()
        added = await world.owner.slash(world.general, "alliance org add", name=f"After outage {number}")
        assert "is now a member organisation" in added.response.content, added.response.content
        filed = await file(world, right, url=LISTING.format(800_000_000_000 + number))
        assert "TD-" in filed.response.content, filed.response.content
        await world.env.settle()
        cards = [message.content for message in world.review.history() if message.content.startswith("**TD-")]
        assert len(cards) == number, cards  # the outbox worker survived the outage and delivered

    names = await organisation_names(bot)
    assert {f"After outage {n}" for n in range(1, len(MODES) + 1)} <= names
    assert not any(name.startswith("During outage") for name in names), names
    async with bot.sessions() as session:
        listings = [td.listing_url for td in await session.scalars(select(Takedown))]
    assert len(listings) == len(MODES) and all("8000000000" in url for url in listings), listings
    health = await world.owner.slash(world.general, "alliance health")
    assert "**Database:** reachable" in health.response.content
    record("faults survived", "PostgreSQL stopped and started", outages)
    record("faults survived", "commands refused during an outage", refused)
