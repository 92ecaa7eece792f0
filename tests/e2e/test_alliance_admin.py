"""`/alliance …` end to end: the real discord.py client in SimCord, on every database engine."""

from __future__ import annotations

import logging

import pytest
import simcord
from sqlalchemy import func, select

from bot.app import AllianceBot, create_bot
from bot.settings import Settings
from cogs.working_group import WorkingGroupCog, cog_name
from db.models import AuditEntry, GuildSettings, IpRight, Member, Organisation, WorkingGroup
from tests.e2e.world import World, arrange, grant_role, wire


@pytest.fixture
async def world(env: simcord.Env) -> World:
    return await wire(arrange(env))


async def count(bot: AllianceBot, model: type, *where: object) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def audit_actions(bot: AllianceBot) -> list[str]:
    async with bot.sessions() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# ----------------------------------------------------------------------- setup


async def test_first_start_creates_the_twelve_groups_each_with_its_cog(env: simcord.Env, bot: AllianceBot) -> None:
    assert await count(bot, WorkingGroup, WorkingGroup.archived.is_(False)) == 12
    cogs = [cog for cog in bot.cogs.values() if isinstance(cog, WorkingGroupCog)]
    assert sorted(cog.name for cog in cogs)[:3] == [
        "Apparel & Footwear",
        "Automotive & Parts",
        "Beauty & Personal Care",
    ]
    assert len(cogs) == 12


async def test_setup_is_stored_and_answered_ephemerally(env: simcord.Env, bot: AllianceBot) -> None:
    w = arrange(env)
    result = await w.owner.slash(
        w.general,
        "alliance setup",
        announcements=w.announcements,
        review_channel=w.review,
        reviewer_role=w.reviewer_role,
        timezone="Europe/Paris",
    )
    assert result.ephemeral
    assert "Alliance set up" in result.response.content
    assert w.review.mention in result.response.content
    async with bot.sessions() as session:
        stored = await session.get(GuildSettings, w.guild.id)
    assert stored is not None
    assert (stored.review_channel_id, stored.reviewer_role_id, stored.timezone) == (
        w.review.id,
        w.reviewer_role.id,
        "Europe/Paris",
    )
    assert "guild.setup" in await audit_actions(bot)


async def test_setup_refuses_non_admins_and_bad_time_zones_and_writes_nothing(
    env: simcord.Env, bot: AllianceBot
) -> None:
    w = arrange(env)
    refused = await w.outsider.slash(
        w.general,
        "alliance setup",
        announcements=w.announcements,
        review_channel=w.review,
        reviewer_role=w.reviewer_role,
    )
    assert refused.ephemeral
    assert "Manage Server" in refused.response.content
    bad_zone = await w.owner.slash(
        w.general,
        "alliance setup",
        announcements=w.announcements,
        review_channel=w.review,
        reviewer_role=w.reviewer_role,
        timezone="Mars/Olympus",
    )
    assert bad_zone.ephemeral
    assert "not an IANA time zone" in bad_zone.response.content
    assert await count(bot, GuildSettings) == 0
    assert "guild.setup" not in await audit_actions(bot)


async def test_admin_role_grants_admin_after_setup(world: World, bot: AllianceBot) -> None:
    result = await world.admin.slash(world.general, "alliance org add", name="Northwind Apparel")
    assert "is now a member organisation" in result.response.content
    refused = await world.reviewer.slash(world.general, "alliance org add", name="Other")
    assert world.admin_role.mention in refused.response.content
    assert await count(bot, Organisation) == 1 + 1  # Vantor Watches from wire() and Northwind


# ---------------------------------------------------------------------- groups


async def test_group_create_is_live_at_once_and_survives_a_restart(
    world: World, env: simcord.Env, settings: Settings
) -> None:
    w = world
    channel = w.guild.create_text_channel("e-bikes")
    role = w.guild.create_role("E-Bikes WG")
    result = await w.admin.slash(
        w.general, "alliance group create", name="E-Bikes & Scooters", channel=channel, role=role
    )
    assert "e-bikes-scooters" in result.response.content
    assert "home of the **E-Bikes & Scooters** working group" in channel.last_message.content
    assert isinstance(env.bot.get_cog(cog_name("e-bikes-scooters")), WorkingGroupCog)

    listed = await w.alice.slash(w.general, "alliance group list")
    assert "E-Bikes & Scooters" in listed.response.content
    assert channel.mention in listed.response.content

    await env.restart_bot(create_bot(settings))
    cog = env.bot.get_cog(cog_name("e-bikes-scooters"))
    assert isinstance(cog, WorkingGroupCog)
    assert cog.channel_id == channel.id
    again = await w.alice.slash(w.general, "alliance group list")
    assert "E-Bikes & Scooters" in again.response.content


async def test_group_create_refuses_duplicates_and_taken_channels(world: World, bot: AllianceBot) -> None:
    w = world
    duplicate = await w.owner.slash(
        w.general, "alliance group create", name="watches & JEWELLERY", channel=w.general, role=w.watches_role
    )
    assert "already exists" in duplicate.response.content
    taken = await w.owner.slash(
        w.general, "alliance group create", name="Clocks", channel=w.watches, role=w.watches_role
    )
    assert "already belongs to Watches & Jewellery" in taken.response.content
    assert await count(bot, WorkingGroup) == 12


async def test_group_create_refused_for_members(world: World, bot: AllianceBot) -> None:
    refused = await world.alice.slash(
        world.general, "alliance group create", name="Sneakers", channel=world.general, role=world.watches_role
    )
    assert refused.ephemeral and "admin role" in refused.response.content
    assert bot.get_cog(cog_name("sneakers")) is None


async def test_group_autocomplete_offers_live_groups(world: World) -> None:
    result = await world.alice.autocomplete(world.general, "alliance group bind", "group", "watch")
    assert result == [{"name": "Watches & Jewellery", "value": "watches-jewellery"}]


async def test_archive_unloads_the_cog_and_hides_the_group(world: World, bot: AllianceBot) -> None:
    w = world
    result = await w.owner.slash(w.general, "alliance group archive", group="watches-jewellery")
    assert "is archived" in result.response.content
    assert bot.get_cog(cog_name("watches-jewellery")) is None
    listed = await w.owner.slash(w.general, "alliance group list")
    assert "Watches & Jewellery" not in listed.response.content
    rebind = await w.owner.slash(
        w.general, "alliance group bind", group="watches-jewellery", channel=w.watches, role=w.watches_role
    )
    assert "is archived" in rebind.response.content
    assert "group.archived" in await audit_actions(bot)


async def test_gaining_the_group_role_gets_a_welcome_that_pings_only_them(world: World, env: simcord.Env) -> None:
    newcomer = world.guild.add_member(env.create_user("nina"))
    await grant_role(env, newcomer, world.watches_role)
    message = world.watches.last_message
    assert message is not None
    assert message.content.startswith("Welcome to **Watches & Jewellery**")
    assert [user.id for user in message.mentions] == [newcomer.id]


async def test_deleting_the_group_channel_unbinds_the_group(world: World, env: simcord.Env, bot: AllianceBot) -> None:
    env.backend.delete_channel(world.watches.id)
    await env.settle()
    async with bot.sessions() as session:
        group = await session.scalar(select(WorkingGroup).where(WorkingGroup.slug == "watches-jewellery"))
    assert group is not None and group.channel_id is None
    assert "group.channel_deleted" in await audit_actions(bot)


# --------------------------------------------------------------- organisations


async def test_rights_are_registered_validated_and_unique(world: World, bot: AllianceBot) -> None:
    w = world
    ok = await w.owner.slash(
        w.general,
        "alliance org right",
        org="vantor watches",
        kind="trademark",
        number="TM-778812",
        jurisdiction="cn",
        expires="2031-05-01",
    )
    assert "Registered trademark **TM-778812** (CN, expires 2031-05-01) for **Vantor Watches**" in ok.response.content
    duplicate = await w.owner.slash(
        w.general, "alliance org right", org="Vantor Watches", kind="trademark", number="TM-778812", jurisdiction="CN"
    )
    assert "already registered to Vantor Watches" in duplicate.response.content
    bad_date = await w.owner.slash(
        w.general,
        "alliance org right",
        org="Vantor Watches",
        kind="patent",
        number="ZL2020",
        jurisdiction="CN",
        expires="31/12/2030",
    )
    assert "YYYY-MM-DD" in bad_date.response.content
    expired = await w.owner.slash(
        w.general,
        "alliance org right",
        org="Vantor Watches",
        kind="design",
        number="D-1",
        jurisdiction="EU",
        expires="2020-01-01",
    )
    assert "expired on 2020-01-01" in expired.response.content
    unknown = await w.owner.slash(
        w.general, "alliance org right", org="Nobody Inc", kind="design", number="D-1", jurisdiction="EU"
    )
    assert "no member organisation called" in unknown.response.content
    assert await count(bot, IpRight) == 1


async def test_org_names_are_unique_regardless_of_case(world: World, bot: AllianceBot) -> None:
    result = await world.owner.slash(world.general, "alliance org add", name="  VANTOR   watches ")
    assert "already a member organisation" in result.response.content
    assert await count(bot, Organisation) == 1


# --------------------------------------------------------------------- members


async def test_link_whoami_and_unlink(world: World, env: simcord.Env, bot: AllianceBot) -> None:
    w = world
    me = await w.lead.slash(w.general, "alliance whoami")
    assert me.ephemeral
    text = me.response.content
    assert "**Organisation:** Vantor Watches" in text
    assert "Watches & Jewellery (lead)" in text
    assert "**Roles:** group lead, member" in text
    assert "TLP:AMBER and AMBER+STRICT — reports of Watches & Jewellery" in text
    assert "Takedowns — requests of Vantor Watches" in text

    gone = await w.owner.slash(w.general, "alliance member unlink", user=w.alice)
    assert "no longer acts for **Vantor Watches**" in gone.response.content
    after = await w.alice.slash(w.general, "alliance whoami")
    assert "not linked" in after.response.content
    assert await count(bot, Member, Member.user_id == w.alice.id) == 0
    twice = await w.owner.slash(w.general, "alliance member unlink", user=w.alice)
    assert "is not linked" in twice.response.content


async def test_reviewer_whoami_shows_every_takedown(world: World) -> None:
    me = await world.reviewer.slash(world.general, "alliance whoami")
    assert "**Roles:** reviewer" in me.response.content
    assert "Takedowns — every organisation's requests" in me.response.content


async def test_every_state_change_is_audited(world: World, bot: AllianceBot) -> None:
    actions = await audit_actions(bot)
    for action in ("guild.setup", "group.bound", "org.added", "member.linked"):
        assert action in actions
    assert actions.count("member.linked") == 2


async def test_user_text_is_shown_literally_and_pings_no_one(world: World, bot: AllianceBot) -> None:
    result = await world.owner.slash(world.general, "alliance org add", name="@everyone **Fake** <@&1>")
    content = result.response.content
    assert "@everyone" not in content.replace("@\u200beveryone", "")
    assert "\\*\\*Fake\\*\\*" in content
    assert result.response.message.mentions == [] and not result.response.message.mention_everyone


# ------------------------------------------------------------ error handling


@pytest.mark.allow_bot_errors
async def test_unexpected_errors_show_a_reference_not_the_exception(
    world: World, bot: AllianceBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database password hunter2 leaked")

    monkeypatch.setattr(bot.alliance, "whoami", broken)
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        result = await world.alice.slash(world.general, "alliance whoami")
    assert result.ephemeral
    assert "hunter2" not in result.response.content
    assert "Error reference:" in result.response.content
    reference = result.response.content.split("`")[1]
    assert any(reference in record.getMessage() for record in caplog.records)


async def test_long_group_lists_continue_in_follow_ups(world: World, env: simcord.Env, bot: AllianceBot) -> None:
    from bot.permissions import Caller

    owner = Caller(user_id=world.owner.id, guild_id=world.guild.id, manages_guild=True)
    for number in range(30):
        channel = world.guild.create_text_channel(f"wg-{number}")
        await bot.alliance.create_group(
            owner,
            name=f"Regional Working Group Number {number:02d} of the Alliance",
            channel_id=channel.id,
            member_role_id=world.watches_role.id,
            lead_role_id=None,
        )
    result = await world.alice.slash(world.general, "alliance group list")
    parts = [result.response, *result.followups]
    assert len(parts) >= 2
    assert all(len(part.content) <= 2000 for part in parts)
    text = "\n".join(part.content for part in parts)
    assert all(f"Number {number:02d}" in text for number in range(30))


async def test_health_for_admins(world: World, env: simcord.Env) -> None:
    report = await world.owner.slash(world.general, "alliance health")
    text = report.response.content
    assert report.ephemeral and "**Database:** reachable" in text and "**Scheduler:** running" in text
    assert "pending" in text and "**Last digests:**" in text
    refused = await world.alice.slash(world.general, "alliance health")
    assert "Manage Server" in refused.response.content or "admin role" in refused.response.content


@pytest.mark.allow_bot_errors
async def test_database_unavailable_says_nothing_was_saved(world: World, bot: AllianceBot) -> None:
    """The database goes away: a command answers at once that nothing was saved, without a trace."""
    from db.engine import create_engine

    unreachable = create_engine("postgresql+asyncpg://nobody:secret-pw@127.0.0.1:9/none")
    bot.sessions.configure(bind=unreachable)
    try:
        result = await world.owner.slash(world.general, "alliance org add", name="Ghost Brand")
    finally:
        bot.sessions.configure(bind=bot.engine)
        await unreachable.dispose()
    assert result.ephemeral
    assert "temporarily unavailable, so nothing was saved" in result.response.content
    assert "secret-pw" not in result.response.content
    again = await world.owner.slash(world.general, "alliance org add", name="Ghost Brand")
    assert "is now a member organisation" in again.response.content  # recovered by itself
