"""The offline sandbox, end to end: the real bot, the demo alliance built through its own
commands, and the browser preview a person would use.

Each test builds the whole sandbox (it takes well under a second), so a broken command, a
renamed default group or a demo record the service refuses fails here before anyone runs
`python bot.py` and finds a sandbox that does not start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import simcord
from discord import app_commands

from bot import demo, sandbox
from bot.app import create_bot
from bot.errors import AllianceError
from bot.rendering import escape
from bot.sandbox import SandboxWorld, build_sandbox, sandbox_settings
from bot.settings import Settings


def only_refusals(errors: list[BaseException]) -> list[BaseException]:
    """Errors that are not a refusal the user was shown; each one is a bug."""
    return [
        error
        for error in errors
        if not (isinstance(error, app_commands.CommandInvokeError) and isinstance(error.__cause__, AllianceError))
    ]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SandboxWorld]:
    """The sandbox on a temporary SQLite file; at the end, any error but a refusal fails.

    `simcord.Env` with `check_errors=False` is what `simcord.run(bot, check_errors=False)`
    wraps; the context manager itself cannot span a fixture, whose set-up and teardown run in
    different contexts (its clock scope is a context variable).
    """
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/sandbox.db", discord_token=None, _env_file=None)
    env = simcord.Env(create_bot(sandbox_settings(settings)), check_errors=False)
    await env.start()
    try:
        yield await build_sandbox(env)
    finally:
        await env.shutdown()
        await env.bot.close()
    bugs = only_refusals(env.errors)
    assert not bugs, f"the bot raised unexpected errors: {bugs!r}"


def demo_user(username: str) -> demo.DemoUser:
    return next(user for user in demo.USERS if user.username == username)


def newcomer(world: SandboxWorld) -> simcord.MemberActor:
    """The demo user with no organisation and no role at all."""
    user = next(u for u in demo.USERS if not (u.admin or u.reviewer or u.organisation or u.groups or u.leads))
    return world.users[user.username]


async def test_every_group_is_bound_to_its_own_channel_and_roles(world: SandboxWorld) -> None:
    groups = await world.bot.alliance.groups()
    assert len(groups) == 12

    result = await newcomer(world).slash(world.start_channel, "alliance group list")

    assert result.response is not None and result.ephemeral
    listing = result.response.content.splitlines()
    for group in groups:
        channel = world.group_channels[group.slug]
        assert channel.name == group.slug
        assert (
            f"**{escape(group.name)}** (`{group.slug}`) — channel <#{channel.id}>, "
            f"members <@&{world.member_roles[group.slug].id}>, leads <@&{world.lead_roles[group.slug].id}>"
        ) in listing


async def test_each_bound_group_channel_got_the_bots_announcement(world: SandboxWorld) -> None:
    for group in await world.bot.alliance.groups():
        contents = [message.content for message in world.group_channels[group.slug].history()]
        assert f"This channel is now the home of the **{escape(group.name)}** working group." in contents


async def test_members_whoami_names_their_organisation_and_groups(world: SandboxWorld) -> None:
    names = {group.slug: group.name for group in await world.bot.alliance.groups()}
    members = [user for user in demo.USERS if user.organisation is not None]
    assert members

    for user in members:
        result = await world.users[user.username].slash(world.start_channel, "alliance whoami")

        assert result.response is not None and result.ephemeral
        text = result.response.content
        assert f"**Organisation:** {user.organisation}" in text
        for slug in user.groups:
            assert names[slug] in text
        for slug in user.leads:
            assert f"{names[slug]} (lead)" in text


async def test_org_rights_are_registered_with_expiry_in_the_future(world: SandboxWorld) -> None:
    mia = demo_user("mia_northwind")
    org = next(o for o in demo.ORGANISATIONS if o.name == mia.organisation)

    result = await world.users[mia.username].slash(world.start_channel, "alliance whoami")

    assert result.response is not None
    today = world.env.now().date()
    for right in org.rights:
        expiry = f", expires {right.expires(today)}" if right.years_left is not None else ""
        assert f"- {right.kind.value} {right.number} ({right.jurisdiction}){expiry}" in result.response.content


async def test_the_newcomer_is_refused_admin_commands_and_nothing_changes(world: SandboxWorld) -> None:
    cursor = world.env.error_cursor

    result = await newcomer(world).slash(
        world.start_channel,
        "alliance setup",
        announcements=world.start_channel,
        review_channel=world.start_channel,
        reviewer_role=world.admin_role,
    )

    assert result.response is not None and result.ephemeral
    assert "Manage Server" in result.response.content
    refusals = world.env.errors_since(cursor)
    assert len(refusals) == 1 and not only_refusals(list(refusals))
    wiring = await world.bot.alliance.guild_settings(world.guild.id)
    assert wiring is not None
    assert wiring.announcements_channel_id == world.announcements.id
    assert wiring.reviewer_role_id == world.reviewer_role.id


async def test_the_reviewer_is_a_reviewer_and_not_a_member(world: SandboxWorld) -> None:
    reviewer = next(user for user in demo.USERS if user.reviewer)

    result = await world.users[reviewer.username].slash(world.start_channel, "alliance whoami")

    assert result.response is not None
    assert "**Roles:** reviewer" in result.response.content
    assert "Takedowns — every organisation's requests" in result.response.content


async def test_the_preview_serves_the_start_channel_to_every_demo_user(world: SandboxWorld) -> None:
    viewers = list(world.users.values())
    async with world.env.preview(world.start_channel, viewers=viewers, layout="channel", port=0) as preview:
        snapshot = await preview.snapshot()
        async with aiohttp.ClientSession() as http, http.get(preview.url.split("#")[0]) as page:
            assert page.status == 200 and page.content_type == "text/html"
        url = preview.url

    assert url.startswith("http://127.0.0.1:")
    assert snapshot["channel"]["name"] == demo.START_GROUP
    assert [viewer["name"] for viewer in snapshot["viewers"]] == [user.display_name for user in demo.USERS]
    contents = [message["content"] for message in snapshot["messages"].values()]
    assert any("This channel is now the home of the" in content for content in contents)
    welcomed = [user for user in demo.USERS if demo.START_GROUP in user.groups]
    assert welcomed
    for user in welcomed:
        assert any(f"<@{world.users[user.username].id}>" in content for content in contents)
    text = sandbox.instructions(world, url)
    assert url in text
    assert all(user.display_name in text for user in demo.USERS)
    assert all(command in text for command, _ in demo.COMMANDS_TO_TRY)


async def test_the_sandbox_page_answers_refusals_without_recording_them(world: SandboxWorld) -> None:
    sandbox.answer_refusals_quietly(world.bot)
    cursor = world.env.error_cursor

    result = await newcomer(world).slash(world.start_channel, "alliance org add", name="Ferngrove Tea")

    assert result.response is not None and result.ephemeral
    assert "Manage Server" in result.response.content
    assert world.env.errors_since(cursor) == ()


def test_a_fresh_sandbox_database_replaces_the_last_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("ALLIANCE_CONFIG", raising=False)
    database = tmp_path / "sandbox.db"
    leftovers = [database, tmp_path / "sandbox.db-wal", tmp_path / "sandbox.db-shm"]
    for leftover in leftovers:
        leftover.write_text("stale")

    chosen = sandbox_settings(Settings(guild_ids="123", _env_file=None), database)

    assert chosen.database_url.get_secret_value() == f"sqlite+aiosqlite:///{database}"
    assert not any(leftover.exists() for leftover in leftovers)
    assert chosen.guild_ids == ()


def test_an_operator_chosen_database_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/mine.db"
    monkeypatch.setenv("DATABASE_URL", url)
    database = tmp_path / "sandbox.db"
    database.write_text("not touched")

    chosen = sandbox_settings(Settings(_env_file=None), database)

    assert chosen.database_url.get_secret_value() == url
    assert database.read_text() == "not touched"


async def test_without_the_preview_extra_the_sandbox_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sandbox, "missing_preview_requirements", lambda: ["aiohttp"])

    with pytest.raises(SystemExit) as exit_:
        await sandbox.run_sandbox(Settings(_env_file=None))

    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and 'pip install ".[sandbox]"' in err


def test_the_preview_extra_is_installed_here() -> None:
    assert sandbox.missing_preview_requirements() == []
