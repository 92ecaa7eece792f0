"""The offline sandbox, end to end: the real bot, the demo alliance built through its own
commands, the demo takedowns filed and decided through `/takedown …` and the review cards, the
demo intel shared through `/intel share` and its form, and the browser preview a person would use.

Each test builds the sandbox afresh, so a broken command, a renamed default group or a demo
record the service refuses fails here before anyone runs `python bot.py` and finds a sandbox
that does not start. Tests of the alliance wiring alone use `wired` (well under a second);
tests of the takedowns, the intel and the preview use `world`, the sandbox exactly as it starts,
whose takedown script lets a few simulated days pass (about six seconds in all).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import discord
import pytest
import simcord
from discord import app_commands

from bot import demo, sandbox
from bot.app import create_bot
from bot.errors import AllianceError
from bot.rendering import escape
from bot.sandbox import SandboxWorld, build_sandbox, sandbox_settings
from bot.services.intel import parse_report_id
from bot.settings import Settings
from db.models import IntelReport, RightKind, Tlp


def only_refusals(errors: list[BaseException]) -> list[BaseException]:
    """Errors that are not a refusal the user was shown; each one is a bug."""
    return [
        error
        for error in errors
        if not (isinstance(error, app_commands.CommandInvokeError) and isinstance(error.__cause__, AllianceError))
    ]


@asynccontextmanager
async def sandbox_on(
    tmp_path: Path, script: tuple[demo.DemoStep, ...], intel: tuple[demo.IntelStep, ...]
) -> AsyncIterator[SandboxWorld]:
    """The sandbox on a temporary SQLite file; at the end, any error but a refusal fails.

    `simcord.Env` with `check_errors=False` is what `simcord.run(bot, check_errors=False)`
    wraps; the context manager itself cannot span a fixture, whose set-up and teardown run in
    different contexts (its clock scope is a context variable).
    """
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/sandbox.db", discord_token=None, _env_file=None)
    env = simcord.Env(create_bot(sandbox_settings(settings)), check_errors=False)
    await env.start()
    try:
        yield await build_sandbox(env, script, intel)
    finally:
        await env.shutdown()
        await env.bot.close()
    bugs = only_refusals(env.errors)
    assert not bugs, f"the bot raised unexpected errors: {bugs!r}"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SandboxWorld]:
    """The sandbox as `python bot.py` starts it, demo takedowns and intel included."""
    async with sandbox_on(tmp_path, demo.TAKEDOWN_SCRIPT, demo.INTEL_SCRIPT) as built:
        yield built


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[SandboxWorld]:
    """The sandbox's alliance (server, groups, brands, members) without the demo takedowns or intel."""
    async with sandbox_on(tmp_path, (), ()) as built:
        yield built


def demo_user(username: str) -> demo.DemoUser:
    return next(user for user in demo.USERS if user.username == username)


def newcomer(world: SandboxWorld) -> simcord.MemberActor:
    """The demo user with no organisation and no role at all."""
    user = next(u for u in demo.USERS if not (u.admin or u.reviewer or u.organisation or u.groups or u.leads))
    return world.users[user.username]


def filings() -> list[demo.FileTakedown]:
    return [step for step in demo.TAKEDOWN_SCRIPT if isinstance(step, demo.FileTakedown)]


def filing(label: str) -> demo.FileTakedown:
    return next(step for step in filings() if step.label == label)


def last_decision(label: str) -> str | None:
    decisions = [
        step.decision for step in demo.TAKEDOWN_SCRIPT if isinstance(step, demo.Review) and step.label == label
    ]
    return decisions[-1] if decisions else None


def open_request(world: SandboxWorld) -> str:
    """A seeded request still waiting for a decision (its card still has buttons)."""
    label = next(step.label for step in filings() if last_decision(step.label) is None)
    return world.takedowns[label]


def cards(channel: simcord.ChannelHandle) -> dict[str, discord.Message]:
    """Review cards in `channel` by public id."""
    found = {}
    for message in channel.history():
        match = re.match(r"\*\*(TD-\d+)\*\*", message.content)
        if match:
            found[match.group(1)] = message
    return found


def shares() -> list[demo.ShareIntel]:
    return [step for step in demo.INTEL_SCRIPT if isinstance(step, demo.ShareIntel)]


def share(label: str) -> demo.ShareIntel:
    return next(step for step in shares() if step.label == label)


def labels(message: discord.Message) -> list[str | None]:
    return [
        child.label
        for row in message.components
        if isinstance(row, discord.ActionRow)
        for child in row.children
        if isinstance(child, discord.Button)
    ]


# ------------------------------------------------------------------ the alliance


async def test_every_group_is_bound_to_its_own_channel_and_roles(wired: SandboxWorld) -> None:
    world = wired
    groups = await world.bot.alliance.groups()
    assert len(groups) == 12

    result = await newcomer(world).slash(world.start_channel, "alliance group list")

    assert result.response is not None and result.ephemeral
    listing = result.response.content.splitlines()
    assert len({channel.id for channel in world.group_channels.values()}) == len(groups)
    for group in groups:
        channel = world.group_channels[group.slug]
        assert channel.name == demo.channel_name(group.slug)
        assert (
            f"**{escape(group.name)}** (`{group.slug}`) — channel <#{channel.id}>, "
            f"members <@&{world.member_roles[group.slug].id}>, leads <@&{world.lead_roles[group.slug].id}>"
        ) in listing


async def test_the_preview_channel_is_announcements_review_and_the_start_groups_home(wired: SandboxWorld) -> None:
    world = wired
    wiring = await world.bot.alliance.guild_settings(world.guild.id)

    assert wiring is not None
    assert world.start_channel.name == demo.HQ_CHANNEL
    assert wiring.announcements_channel_id == wiring.review_channel_id == world.start_channel.id
    group = await world.bot.alliance.group_for_channel(world.start_channel.id)
    assert group is not None and group.slug == demo.START_GROUP
    others = [channel for slug, channel in world.group_channels.items() if slug != demo.START_GROUP]
    assert all(channel.name != demo.HQ_CHANNEL for channel in others)


async def test_each_bound_group_channel_got_the_bots_announcement(wired: SandboxWorld) -> None:
    world = wired
    for group in await world.bot.alliance.groups():
        contents = [message.content for message in world.group_channels[group.slug].history()]
        assert f"This channel is now the home of the **{escape(group.name)}** working group." in contents


async def test_members_whoami_names_their_organisation_and_groups(wired: SandboxWorld) -> None:
    world = wired
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


async def test_org_rights_are_registered_with_expiry_in_the_future(wired: SandboxWorld) -> None:
    world = wired
    mia = demo_user("mia_northwind")
    org = next(o for o in demo.ORGANISATIONS if o.name == mia.organisation)

    result = await world.users[mia.username].slash(world.start_channel, "alliance whoami")

    assert result.response is not None
    today = world.env.now().date()
    for right in org.rights:
        expiry = f", expires {right.expires(today)}" if right.years_left is not None else ""
        assert f"- {right.kind.value} {right.number} ({right.jurisdiction}){expiry}" in result.response.content


async def test_the_newcomer_is_refused_admin_commands_and_nothing_changes(wired: SandboxWorld) -> None:
    world = wired
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


async def test_the_reviewer_is_a_reviewer_and_not_a_member(wired: SandboxWorld) -> None:
    world = wired
    reviewer = next(user for user in demo.USERS if user.reviewer)

    result = await world.users[reviewer.username].slash(world.start_channel, "alliance whoami")

    assert result.response is not None
    assert "**Roles:** reviewer" in result.response.content
    assert "Takedowns — every organisation's requests" in result.response.content


# ------------------------------------------------------------------ the demo takedowns


def test_the_demo_filers_are_start_group_members_with_trademarks() -> None:
    users = {user.username: user for user in demo.USERS}
    orgs = {org.name: org for org in demo.ORGANISATIONS}
    assert sandbox.script_problems(demo.TAKEDOWN_SCRIPT) == []
    for step in filings():
        filer = users[step.filer]
        assert demo.START_GROUP in filer.groups, f"{filer.username} files but is not in the start group"
        assert filer.organisation is not None
        assert any(right.kind is RightKind.trademark for right in orgs[filer.organisation].rights)
    assert len({users[step.filer].organisation for step in filings()}) >= 2  # one listing, two organisations


async def test_the_seeded_takedowns_are_listed_checked_and_counted(world: SandboxWorld) -> None:
    reviewer, mia = world.reviewer, world.users[filing("lucky-1").filer]
    assert set(world.takedowns) == {step.label for step in filings()}

    everyone = await reviewer.slash(world.start_channel, "takedown list")
    assert everyone.response is not None
    assert f"{len(filings())} request(s)" in everyone.response.content
    assert all(f"**{tid}**" in everyone.response.content for tid in world.takedowns.values())
    own = await mia.slash(world.start_channel, "takedown list")
    assert own.response is not None
    mine = [world.takedowns[step.label] for step in filings() if step.filer == filing("lucky-1").filer]
    assert f"{len(mine)} request(s)" in own.response.content

    flagged = await mia.slash(world.start_channel, "takedown check", url=demo.REPEAT_INFRINGER_LISTING)
    assert flagged.response is not None and "repeat infringer" in flagged.response.content
    shared = await world.users[filing("shared-too").filer].slash(
        world.start_channel, "takedown check", url=filing("shared").url
    )
    assert shared.response is not None and "Also reported by 1 other member(s)" in shared.response.content

    countered = await mia.slash(world.start_channel, "takedown status", id=world.takedowns["lucky-3"])
    assert countered.response is not None and escape("counter-notice: awaiting_filer") in countered.response.content
    sla = await reviewer.slash(world.start_channel, "takedown sla")
    assert sla.response is not None
    assert "100.0 % on time (4 of 4)" in sla.response.content
    assert f"At risk: {world.takedowns['shared']}" in sla.response.content


async def test_the_reviewer_removes_a_request_from_its_card_in_the_preview_channel(world: SandboxWorld) -> None:
    tid = open_request(world)

    decided = await world.reviewer.click(cards(world.start_channel)[tid], label="Removed")

    assert decided.response is not None and decided.ephemeral
    assert f"{tid} is now **removed**" in decided.response.content
    status = await world.reviewer.slash(world.start_channel, "takedown status", id=tid)
    assert status.response is not None and f"**{tid}** · **removed**" in status.response.content
    card = cards(world.start_channel)[tid]
    assert "· removed" in card.content and labels(card) == []


async def test_a_members_filing_in_the_preview_channel_posts_its_card_there(wired: SandboxWorld) -> None:
    world = wired
    mia = world.users[filing("lucky-1").filer]
    [right] = await mia.autocomplete(world.start_channel, "takedown file", "right", filing("lucky-1").right)
    url = "https://item.taobao.com/item.htm?id=990000000999"

    shown = await mia.slash(world.start_channel, "takedown file", url=url, right=right["value"], reason="counterfeit")
    assert shown.response is not None and shown.ephemeral
    filed = await mia.click(shown.response, label="File takedown")

    assert filed.response is not None
    tid = re.search(r"Filed \*\*(TD-\d+)\*\*", filed.response.content)
    assert tid is not None
    card = cards(world.start_channel)[tid.group(1)]
    assert f"in {world.group_names[demo.START_GROUP]}" in card.content
    assert labels(card) == ["Removed", "Rejected", "Needs info"]


# ------------------------------------------------------------------ the demo intel


def test_the_demo_intel_tells_the_stories_the_instructions_promise() -> None:
    users = {user.username: user for user in demo.USERS}
    assert sandbox.intel_problems(demo.INTEL_SCRIPT, demo.TAKEDOWN_SCRIPT) == []
    assert sandbox.hint_problems(demo.TAKEDOWN_SCRIPT, demo.INTEL_SCRIPT) == []
    workshop, reseller = share("workshop"), share("reseller")
    assert workshop.group == reseller.group == demo.START_GROUP
    assert workshop.tlp == reseller.tlp == Tlp.AMBER
    assert users[workshop.author].organisation != users[reseller.author].organisation  # two brands
    assert {step.tlp for step in shares()} >= {Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER}
    assert any(step.tlp == Tlp.AMBER and step.group != demo.START_GROUP for step in shares())
    assert demo.REPEAT_INFRINGER_LISTING in workshop.indicators  # a listing with a seeded takedown
    assert demo.ASKED_LISTING in reseller.indicators  # the link the instructions suggest pasting
    seeded = [step for step in demo.INTEL_SCRIPT if isinstance(step, demo.AddToWarninglist)]
    assert seeded and all(demo.PLATFORM_HOTLINE in step.value for step in seeded)


async def test_the_seeded_intel_was_shared_through_the_form_with_its_groups(world: SandboxWorld) -> None:
    assert list(world.intel) == [step.label for step in shares()]
    async with world.bot.sessions() as session:
        for step in shares():
            report = await session.get(IntelReport, parse_report_id(world.intel[step.label]))
            assert report is not None and report.retracted_at is None
            await session.refresh(report, ["working_group", "indicators"])
            assert (report.title, report.tlp, report.working_group.slug) == (step.title, step.tlp, step.group)
            assert report.author_id == world.users[step.author].id
            kept = [line for line in step.indicators if line in report.unrecognised]
            assert len(report.indicators) + len(kept) == len(step.indicators)
    mia = world.users[share("workshop").author]
    shown = await mia.slash(world.start_channel, "intel show", id=world.intel["workshop"])
    assert shown.response is not None and shown.ephemeral
    text = shown.response.content
    assert "**Other notes:** ships in unbranded boxes" in text  # the line the bot did not understand
    assert "seen by 1 other member(s)" in text  # Leo's "Seen it too" on the card
    assert f"**Linked:** {world.intel['reseller']}" in text

    hq_cards = [m for m in world.start_channel.history() if m.content.startswith("**IN-")]
    assert [m.content.split("**")[1] for m in hq_cards] == [
        world.intel[step.label] for step in shares() if step.group == demo.START_GROUP
    ]
    assert all(labels(card) == ["Seen it too", "Show network"] for card in hq_cards)
    notices = [m for m in world.start_channel.history() if "matches intel your group holds" in m.content]
    assert len(notices) == 1  # Watches' report matches Apparel's AMBER intel: Apparel's leads are told
    [notice] = notices
    assert f"**{escape(world.group_names[share('dials').group])}**" in notice.content
    assert [role.id for role in notice.role_mentions] == [world.lead_roles[demo.START_GROUP].id]
    assert share("dials").title not in notice.content and share("workshop").title not in notice.content
    listed = await world.admin.slash(world.setup_channel, "intel warninglist list")
    assert listed.response is not None and demo.PLATFORM_HOTLINE in listed.response.content.replace("\\", "")


async def test_the_seeded_network_and_who_may_see_the_seeded_intel(world: SandboxWorld) -> None:
    mia = world.users[share("workshop").author]
    leo = world.users[share("reseller").author]

    mine = await mia.slash(world.start_channel, "intel network", id=world.intel["workshop"])

    assert mine.response is not None and mine.ephemeral
    text = mine.response.content
    assert text.startswith(f"**Network** of 2 report(s) around `{world.intel['workshop']}`\n**Brands:** 2 (")
    assert f"**Newest:** {world.intel['reseller']}, {world.intel['workshop']}" in text
    assert len(mine.response.attachments) == 1  # the two reports as CSV
    assert f"{world.takedowns['lucky-2']} removed" in text  # Mia's own takedown on the report's listing
    assert f"{world.takedowns['shared']} submitted" in text
    theirs = await leo.slash(world.start_channel, "intel network", id=world.intel["workshop"])
    assert theirs.response is not None
    assert theirs.response.content.startswith("**Network** of 2 report(s)")
    assert "**Brands:** 2 " in theirs.response.content
    assert world.takedowns["lucky-2"] not in theirs.response.content  # Northwind's, not Stridewell's
    assert f"{world.takedowns['shared-too']} submitted; 2 by other members" in theirs.response.content
    # the warninglisted hotline is in the GREEN report too, yet it links nothing
    assert world.intel["invoices"] not in theirs.response.content

    # AMBER stays in its group: another group's member, the reviewer, the admin and Nina are refused
    amber = world.intel["workshop"]
    kenji = world.users[share("dials").author]
    for user in (kenji, world.reviewer, world.admin, newcomer(world)):
        refused = await user.slash(world.start_channel, "intel show", id=amber)
        assert refused.response is not None and refused.ephemeral
        assert f"No intel report {amber} that you can see." in refused.response.content

    expected = {
        "workshop": ["Leo", "Mia"],
        "dials": ["Kenji", "Priya"],
        "phishing": [sandbox.first_name(u.username) for u in demo.USERS],
    }
    for label, names in expected.items():
        assert world.intel_audience[label] == names
    assert "Nina" not in world.intel_audience["invoices"]
    own = await kenji.slash(world.start_channel, "intel network", id=world.intel["dials"])
    assert own.response is not None and "**Network** of 1 report(s)" in own.response.content
    clear = await newcomer(world).slash(world.start_channel, "intel show", id=world.intel["phishing"])
    assert clear.response is not None and share("phishing").title in clear.response.content


async def test_a_known_listing_link_in_the_preview_channel_is_answered(world: SandboxWorld) -> None:
    [answer] = world.chat_answers
    asked = next(step for step in demo.INTEL_SCRIPT if isinstance(step, demo.PostInChat))

    assert answer.channel.id == world.start_channel.id
    assert answer.reference is not None
    question = next(m for m in world.start_channel.history() if m.id == answer.reference.message_id)
    assert question.content == asked.content and question.author.id == world.users[asked.author].id
    assert "`taobao:990000000102`: 1 takedown request(s), latest removed" in answer.content
    assert f"intel network of 2 report(s) this channel can see ({world.intel['workshop']}, " in answer.content
    assert labels(answer) == ["File takedown"] and not answer.mentions

    # the link the instructions suggest a visitor post gets its own answer
    leo = world.users[share("reseller").author]
    await leo.send(world.start_channel, f"seen this? {demo.ASKED_LISTING}")
    latest = world.start_channel.last_message
    assert latest is not None and latest.author.bot
    assert "2 takedown request(s), latest submitted; part of an intel network of 2 report(s)" in latest.content


# ------------------------------------------------------------------ the preview


async def test_the_preview_serves_the_start_channel_to_every_demo_user(world: SandboxWorld) -> None:
    viewers = list(world.users.values())
    async with world.env.preview(world.start_channel, viewers=viewers, layout="channel", port=0) as preview:
        snapshot = await preview.snapshot()
        async with aiohttp.ClientSession() as http, http.get(preview.url.split("#")[0]) as page:
            assert page.status == 200 and page.content_type == "text/html"
        url = preview.url

    assert url.startswith("http://127.0.0.1:")
    assert snapshot["channel"]["name"] == demo.HQ_CHANNEL
    assert [viewer["name"] for viewer in snapshot["viewers"]] == [user.display_name for user in demo.USERS]
    messages = list(snapshot["messages"].values())
    contents = [message["content"] for message in messages]
    assert any("This channel is now the home of the" in content for content in contents)
    welcomed = [user for user in demo.USERS if demo.START_GROUP in user.groups]
    assert welcomed
    for user in welcomed:
        assert any(f"<@{world.users[user.username].id}>" in content for content in contents)
    shown_cards = {m["content"].split("**")[1]: m for m in messages if m["content"].startswith("**TD-")}
    assert set(shown_cards) == set(world.takedowns.values())
    for step in filings():
        card = shown_cards[world.takedowns[step.label]]
        decision = last_decision(step.label)
        assert card["content"].startswith(f"**{world.takedowns[step.label]}** · {escape(decision or 'submitted')}")
        buttons = [button["label"] for row in card["components"] for button in row["components"]]
        assert buttons == ([] if decision else ["Removed", "Rejected", "Needs info"])
    assert "Also reported by 1 other member(s)." in shown_cards[world.takedowns["shared-too"]]["content"]
    alerts = [content for content in contents if content.startswith("**SLA at risk:**")]
    assert len(alerts) == 1 and world.takedowns["shared"] in alerts[0]
    intel_cards = {m["content"].split("**")[1] for m in messages if m["content"].startswith("**IN-")}
    assert intel_cards == {world.intel[step.label] for step in shares() if step.group == demo.START_GROUP}
    assert any("matches intel your group holds" in content for content in contents)
    assert world.chat_answers[0].content in contents

    text = sandbox.instructions(world, url)
    assert url in text and f"#{demo.HQ_CHANNEL}" in text
    assert all(user.display_name in text for user in demo.USERS)
    assert all(command in text for command, _ in demo.COMMANDS_TO_TRY)
    assert all(tid in text for tid in world.takedowns.values())
    assert all(f"{world.intel[step.label]}  {step.tlp.value}" in text for step in shares())
    assert "seen by Leo, Mia;" in text and "seen by everyone;" in text and "seen by everyone but Nina;" in text
    assert "TLP 2.0" in text and "posted a known listing link" in text
    assert "url,right,reason,seller,note" in text and "by DM" in text
    assert not re.search(r"\{[\w-]+\}", text)  # every hint's takedown label became an id


async def test_the_sandbox_page_answers_refusals_without_recording_them(wired: SandboxWorld) -> None:
    world = wired
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
