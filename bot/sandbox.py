"""Offline sandbox: the real bot against a simulated alliance server, shown in a browser.

`python bot.py` without DISCORD_TOKEN lands here. Nothing is mocked on the bot's side: SimCord
plays Discord, the bot is `create_bot(settings)`, and the demo alliance is wired by the demo
admin through the same slash commands a real admin uses (`/alliance setup`, `group bind`,
`org add`, `org right`, `member link`), and the demo members and reviewer then file and decide a
few takedowns through `/takedown …` and the review cards' buttons, share intel through
`/intel share` and its form, press a card's "Seen it too" and post a listing link the group
answers. A sandbox that starts is therefore also a smoke test of those commands. SimCord's
browser preview is the front end; it shows one channel (`demo.HQ_CHANNEL`), so that channel is
the announcements channel, the review channel and the start group's home at once. It only
listens on 127.0.0.1.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import sys
import textwrap
from collections.abc import Awaitable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from pydantic import SecretStr

from bot import demo
from bot.app import AllianceBot, create_bot, report_error
from bot.errors import AllianceError
from bot.permissions import Caller
from bot.services.intel import parse_report_id
from bot.settings import Settings
from cogs.takedowns import DECISION_STYLE

if TYPE_CHECKING:
    import simcord

    from db.models import WorkingGroup

log = logging.getLogger(__name__)

SANDBOX_DATABASE = Path("sandbox.db")
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
EMPTY_DATABASE_HINT = " (DATABASE_URL is set: the sandbox needs an empty database; unset it for a fresh sandbox.db)"
TIME_STEP = timedelta(hours=6)
WIDTH = 100  # of the printed instructions' paragraphs
INSTALL_HINT = 'The sandbox needs SimCord\'s browser preview: pip install ".[sandbox]"'


class SandboxError(Exception):
    """The sandbox could not be built; the message says which step failed and why."""


@dataclass
class SandboxWorld:
    """Handles on everything the sandbox built, for the preview and for tests."""

    env: simcord.Env
    bot: AllianceBot
    guild: simcord.GuildHandle
    channels: dict[str, simcord.ChannelHandle]  # by name; one channel may play several parts
    admin_role: simcord.RoleHandle
    reviewer_role: simcord.RoleHandle
    group_channels: dict[str, simcord.ChannelHandle]  # by group slug
    member_roles: dict[str, simcord.RoleHandle]
    lead_roles: dict[str, simcord.RoleHandle]
    users: dict[str, simcord.MemberActor]  # by demo username, in `demo.USERS` order
    group_names: dict[str, str]  # by group slug
    takedowns: dict[str, str] = field(default_factory=dict)  # public id (TD-000001) by script label
    intel: dict[str, str] = field(default_factory=dict)  # report id (IN-000001) by script label
    intel_audience: dict[str, list[str]] = field(default_factory=dict)  # who may see it, by script label
    chat_answers: list[discord.Message] = field(default_factory=list)  # the groups' answers to listing links

    @property
    def admin(self) -> simcord.MemberActor:
        return self.users[next(user.username for user in demo.USERS if user.admin)]

    @property
    def reviewer(self) -> simcord.MemberActor:
        return self.users[next(user.username for user in demo.USERS if user.reviewer)]

    @property
    def announcements(self) -> simcord.ChannelHandle:
        return self.channels[demo.ANNOUNCEMENTS_CHANNEL]

    @property
    def review(self) -> simcord.ChannelHandle:
        return self.channels[demo.REVIEW_CHANNEL]

    @property
    def setup_channel(self) -> simcord.ChannelHandle:
        return self.channels[demo.SETUP_CHANNEL]

    @property
    def start_channel(self) -> simcord.ChannelHandle:
        """Where the preview opens (the preview shows one channel; see `demo.START_GROUP`)."""
        return self.group_channels[demo.START_GROUP]

    def card(self, public_id: str) -> discord.Message:
        """The review card of a takedown, as it reads now."""
        return latest_card(self.review, public_id, "review card")

    def intel_card(self, report_id: str, group: str) -> discord.Message:
        """The card of an intel report shared with `group` (a slug), as it reads now."""
        return latest_card(self.group_channels[group], report_id, "intel card")


def latest_card(channel: simcord.ChannelHandle, public_id: str, what: str) -> discord.Message:
    cards = [m for m in channel.history() if m.content.startswith(f"**{public_id}**")]
    if not cards:
        raise SandboxError(f"no {what} for {public_id} was posted in #{channel.name}")
    return cards[-1]


# ------------------------------------------------------------------ the database


def sandbox_settings(settings: Settings, database: Path = SANDBOX_DATABASE) -> Settings:
    """Settings for the sandbox run.

    SimCord invents new snowflakes every run, so channel and role ids stored by an earlier run
    would point nowhere: unless the operator chose DATABASE_URL themselves (environment, `.env`
    or TOML all count), the sandbox starts from a fresh SQLite file. GUILD_IDS is cleared
    because the simulated guild's id is new too; a global sync reaches it at once.
    """
    if "database_url" in settings.model_fields_set:
        url = settings.database_url
    else:
        url = SecretStr(fresh_sqlite_url(database))
    return settings.model_copy(update={"database_url": url, "guild_ids": ()})


def fresh_sqlite_url(path: Path) -> str:
    """Delete `path` and its WAL/SHM/journal companions, and return its aiosqlite URL."""
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)):
        candidate.unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{path.as_posix()}"


# ------------------------------------------------------------------ the server


async def build_sandbox(
    env: simcord.Env,
    script: Sequence[demo.DemoStep] = demo.TAKEDOWN_SCRIPT,
    intel: Sequence[demo.IntelStep] = demo.INTEL_SCRIPT,
) -> SandboxWorld:
    """Arrange the demo server in `env`, wire the alliance through the bot's commands, play the
    takedown `script` (filings and decisions; it takes a few seconds of simulated days), then the
    `intel` script (reports, a sighting, a warninglist entry, a listing link in chat)."""
    bot = env.bot
    if not isinstance(bot, AllianceBot):
        raise SandboxError("the sandbox needs the alliance bot running in the environment")
    groups = await bot.alliance.groups()
    check_demo_data(groups, script, intel)
    world = arrange_server(env, bot, groups)
    await name_the_bot(bot)
    today = env.now().date()
    await wire_alliance(world, groups)
    await register_organisations(world, demo.ORGANISATIONS, today)
    await link_members(world, demo.USERS)
    await grant_group_roles(world, demo.USERS)
    await play_takedowns(world, script)
    await play_intel(world, intel)
    return world


def check_demo_data(
    groups: Sequence[WorkingGroup],
    script: Sequence[demo.DemoStep] = demo.TAKEDOWN_SCRIPT,
    intel: Sequence[demo.IntelStep] = demo.INTEL_SCRIPT,
) -> None:
    """Refuse demo data that names a group, user, right, takedown or report that is not there,
    before touching anything."""
    slugs = {group.slug for group in groups}
    named = {org.group for org in demo.ORGANISATIONS} | {demo.START_GROUP}
    named |= {slug for user in demo.USERS for slug in (*user.groups, *user.leads)}
    named |= {step.group for step in intel if isinstance(step, (demo.ShareIntel, demo.PostInChat))}
    missing = sorted(named - slugs)
    if missing:
        raise SandboxError(f"the demo data names working groups the database does not have: {', '.join(missing)}")
    names = [demo.channel_name(group.slug) for group in groups]
    shared = sorted({name for name in names if names.count(name) > 1})
    if shared:
        raise SandboxError(f"the demo data binds several working groups to one channel: {', '.join(shared)}")
    problems = script_problems(script)
    if problems:
        raise SandboxError(f"the demo takedown script is inconsistent: {'; '.join(problems)}")
    problems = intel_problems(intel, script)
    if script is demo.TAKEDOWN_SCRIPT and intel is demo.INTEL_SCRIPT:
        problems += hint_problems(script, intel)
    if problems:
        raise SandboxError(f"the demo intel script is inconsistent: {'; '.join(problems)}")


def script_problems(script: Sequence[demo.DemoStep]) -> list[str]:
    """What is wrong with a takedown script: unknown filers or rights, labels used before filing,
    decisions without a reviewer."""
    users = {user.username: user for user in demo.USERS}
    rights = {org.name: {right.number for right in org.rights} for org in demo.ORGANISATIONS}
    problems: list[str] = []
    filed: set[str] = set()
    for step in script:
        if isinstance(step, demo.FileTakedown):
            user = users.get(step.filer)
            if user is None or user.organisation is None:
                problems.append(f"{step.filer} files {step.label} but acts for no organisation")
            elif step.right not in rights.get(user.organisation, set()):
                problems.append(f"{user.organisation} has no right {step.right} for {step.label}")
            if step.label in filed:
                problems.append(f"{step.label} is filed twice")
            filed.add(step.label)
        elif isinstance(step, (demo.Review, demo.CounterNotice)) and step.label not in filed:
            problems.append(f"{step.label} is decided before it is filed")
    decides = any(isinstance(step, (demo.Review, demo.CounterNotice)) for step in script)
    if decides and not any(user.reviewer for user in demo.USERS):
        problems.append("no demo user is a reviewer")
    return problems


def intel_problems(intel: Sequence[demo.IntelStep], script: Sequence[demo.DemoStep] = ()) -> list[str]:
    """What is wrong with an intel script: authors who act for no organisation or share with a
    group they are not in, labels used twice or before sharing, a sighting of one's own report,
    a warninglist without an admin, chat in a group the poster is not in."""
    users = {user.username: user for user in demo.USERS}
    filed = {step.label for step in script if isinstance(step, demo.FileTakedown)}
    problems: list[str] = []
    shared: dict[str, str] = {}  # label → author
    for step in intel:
        if isinstance(step, demo.ShareIntel):
            user = users.get(step.author)
            if user is None or user.organisation is None:
                problems.append(f"{step.author} shares {step.label} but acts for no organisation")
            elif step.group not in (*user.groups, *user.leads):
                problems.append(f"{step.author} shares {step.label} with {step.group}, a group they are not in")
            if step.label in shared or step.label in filed:
                problems.append(f"{step.label} names two things")
            shared[step.label] = step.author
        elif isinstance(step, demo.SeenItToo):
            if step.label not in shared:
                problems.append(f"{step.by} sees {step.label} before it is shared")
            elif shared[step.label] == step.by:
                problems.append(f"{step.by} cannot report a sighting of their own {step.label}")
        elif isinstance(step, demo.AddToWarninglist) and not any(user.admin for user in users.values()):
            problems.append("no demo user is an admin to keep the warninglist")
        elif isinstance(step, demo.PostInChat):
            user = users.get(step.author)
            if user is None or step.group not in (*user.groups, *user.leads):
                problems.append(f"{step.author} writes in the channel of {step.group}, a group they are not in")
    return problems


def hint_problems(script: Sequence[demo.DemoStep], intel: Sequence[demo.IntelStep]) -> list[str]:
    """Labels in the instructions' hints and stories that neither script seeds."""
    seeded = {step.label for step in script if isinstance(step, demo.FileTakedown)}
    seeded |= {step.label for step in intel if isinstance(step, demo.ShareIntel)}
    texts = [why for _, why in demo.COMMANDS_TO_TRY]
    texts += [step.story for step in (*script, *intel) if isinstance(step, (demo.FileTakedown, demo.ShareIntel))]
    hinted = {label for text in texts for label in re.findall(r"\{([\w-]+)\}", text)}
    return [f"the instructions name {label}, which is never seeded" for label in sorted(hinted - seeded)]


def arrange_server(env: simcord.Env, bot: AllianceBot, groups: Sequence[WorkingGroup]) -> SandboxWorld:
    """What exists in Discord before the bot is told about it: guild, channels, roles, people.

    Channels are public so every demo user may open the preview's channel; the reviewer and
    admin roles carry their standing, group roles are handed out later (`grant_group_roles`).
    """
    guild = env.create_guild(demo.GUILD_NAME)
    admin_role = guild.create_role(demo.ADMIN_ROLE, permissions=discord.Permissions(manage_guild=True))
    reviewer_role = guild.create_role(demo.REVIEWER_ROLE)
    channels: dict[str, simcord.ChannelHandle] = {}

    def channel(name: str, topic: str) -> simcord.ChannelHandle:
        if name not in channels:
            channels[name] = guild.create_text_channel(name, topic=demo.CHANNEL_TOPICS.get(name, topic))
        return channels[name]

    channel(demo.SETUP_CHANNEL, "")
    channel(demo.ANNOUNCEMENTS_CHANNEL, "Alliance-wide news")
    channel(demo.REVIEW_CHANNEL, "Takedown review by the IP team")
    world = SandboxWorld(
        env=env,
        bot=bot,
        guild=guild,
        channels=channels,
        admin_role=admin_role,
        reviewer_role=reviewer_role,
        group_channels={g.slug: channel(demo.channel_name(g.slug), g.description) for g in groups},
        member_roles={g.slug: guild.create_role(g.name) for g in groups},
        lead_roles={g.slug: guild.create_role(f"{g.name} Lead") for g in groups},
        users={},
        group_names={g.slug: g.name for g in groups},
    )
    for user in demo.USERS:
        roles = [role for role, held in ((admin_role, user.admin), (reviewer_role, user.reviewer)) if held]
        handle = env.create_user(user.username, global_name=user.display_name)
        world.users[user.username] = guild.add_member(handle, roles=roles)
    return world


async def name_the_bot(bot: AllianceBot) -> None:
    """SimCord calls every bot "TestBot"; the bot renames itself through the ordinary profile API
    so the page reads like the alliance's server."""
    if bot.user is not None and bot.user.name != demo.BOT_NAME:
        await bot.user.edit(username=demo.BOT_NAME)


async def wire_alliance(world: SandboxWorld, groups: Iterable[WorkingGroup]) -> None:
    """`/alliance setup`, then bind every group to its channel and roles."""
    await as_admin(
        world,
        "alliance setup",
        announcements=world.announcements,
        review_channel=world.review,
        reviewer_role=world.reviewer_role,
        admin_role=world.admin_role,
    )
    for group in groups:
        await as_admin(
            world,
            "alliance group bind",
            group=group.slug,
            channel=world.group_channels[group.slug],
            role=world.member_roles[group.slug],
            lead_role=world.lead_roles[group.slug],
        )


async def register_organisations(world: SandboxWorld, orgs: Iterable[demo.DemoOrg], today: date) -> None:
    """`/alliance org add` and `/alliance org right` for every demo brand."""
    for org in orgs:
        await as_admin(world, "alliance org add", name=org.name, group=org.group)
        for right in org.rights:
            options: dict[str, object] = {"number": right.number, "jurisdiction": right.jurisdiction}
            expires = right.expires(today)
            if expires is not None:
                options["expires"] = expires
            await as_admin(world, "alliance org right", org=org.name, kind=right.kind.value, **options)


async def link_members(world: SandboxWorld, users: Iterable[demo.DemoUser]) -> None:
    """`/alliance member link` for every demo user who acts for an organisation."""
    for user in users:
        if user.organisation is not None:
            await as_admin(world, "alliance member link", user=world.users[user.username], org=user.organisation)


async def grant_group_roles(world: SandboxWorld, users: Iterable[demo.DemoUser]) -> None:
    """A moderator hands out group roles after the groups are bound, so the bot greets each
    new member in the group's channel, as it would on Discord.

    SimCord has no public builder for a role change yet; `Backend.add_member_role` sends the
    same GUILD_MEMBER_UPDATE Discord would.
    """
    for user in users:
        member = world.users[user.username]
        roles = [world.member_roles[slug] for slug in user.groups] + [world.lead_roles[s] for s in user.leads]
        for role in roles:
            world.env.backend.add_member_role(world.guild.id, member.id, role.id)
            await world.env.settle()


async def as_admin(world: SandboxWorld, command: str, **options: object) -> None:
    """Run `/command` as the demo admin in the setup channel (its replies are private to the
    admin, and would crowd the preview); any refusal or bug stops the build."""
    await act(world, f"/{command}", world.admin.slash(world.setup_channel, command, **options))


async def act(
    world: SandboxWorld, what: str, action: Awaitable[simcord.InteractionResult]
) -> simcord.InteractionResult:
    """Await one demo user's action; any refusal or bug, or no answer at all, stops the build."""
    env = world.env
    cursor = env.error_cursor
    result = await action
    errors = env.errors_since(cursor)
    if errors or (result.response is None and result.modal is None):
        said = result.response.content if result.response is not None else "no answer"
        raise SandboxError(f"{what} failed: {said}") from (errors[0] if errors else None)
    return result


# ------------------------------------------------------------------ takedowns


async def play_takedowns(world: SandboxWorld, script: Iterable[demo.DemoStep]) -> None:
    """Demo members file takedowns and the reviewer decides them, through the commands and
    buttons a person uses, on the simulated clock. Ends with every card and alert posted."""
    for step in script:
        if isinstance(step, demo.FileTakedown):
            world.takedowns[step.label] = await file_takedown(world, step)
        elif isinstance(step, demo.Review):
            await review_takedown(world, step)
        elif isinstance(step, demo.CounterNotice):
            tid = world.takedowns[step.label]
            await act(
                world,
                f"/takedown counter {tid}",
                world.reviewer.slash(world.setup_channel, "takedown counter", id=tid, note=step.note),
            )
        else:
            await pass_time(world, business_seconds(world, step.business_time))
    await world.env.settle()  # the outbox is delivered by the bot's own loop


async def file_takedown(world: SandboxWorld, step: demo.FileTakedown) -> str:
    """`/takedown file` in the start group's channel, confirmed; returns the new public id."""
    member = world.users[step.filer]
    channel = world.start_channel
    choices = await member.autocomplete(channel, "takedown file", "right", step.right)
    right = next((str(c["value"]) for c in choices if step.right in str(c["name"])), None)
    if right is None:
        raise SandboxError(f"/takedown file does not offer {step.filer} the right {step.right}")
    options: dict[str, object] = {"url": step.url, "right": right, "reason": step.reason.value}
    options |= {name: value for name, value in (("seller", step.seller), ("note", step.note)) if value}
    what = f"/takedown file {step.label}"
    draft = await act(world, what, member.slash(channel, "takedown file", **options))
    if draft.response is None or "File takedown" not in str(draft.response.components):
        said = draft.response.content if draft.response is not None else "no answer"
        raise SandboxError(f"{what} was not offered for confirmation: {said}")
    filed = await act(world, what, member.click(draft.response, label="File takedown"))
    found = re.search(r"Filed \*\*(TD-\d+)\*\*", filed.response.content if filed.response else "")
    if found is None:
        raise SandboxError(f"{what} filed nothing")
    return found.group(1)


async def review_takedown(world: SandboxWorld, step: demo.Review) -> None:
    """The reviewer's decision, by the card's button (and the Needs info modal) or by command."""
    tid = world.takedowns[step.label]
    what = f"{step.decision} on {tid}"
    if not step.by_button:
        options = {"note": step.note} if step.note else {}
        command = world.reviewer.slash(
            world.setup_channel, "takedown review", id=tid, decision=step.decision, **options
        )
        await act(world, f"/takedown review {what}", command)
        return
    label = DECISION_STYLE[step.decision][0]
    shown = await act(world, what, world.reviewer.click(world.card(tid), label=label))
    if shown.modal is not None:
        await act(world, what, world.reviewer.submit_modal(shown, {"note": step.note or ""}))


async def pass_time(world: SandboxWorld, seconds: float) -> None:
    """Advance the simulated clock in steps: SimCord gives one `advance_time` a few real seconds
    to settle, and the bot's loop wakes at least hourly on the way (about 50 ms a wake-up)."""
    while seconds > 0:
        step = min(seconds, TIME_STEP.total_seconds())
        await world.env.advance_time(step)
        seconds -= step


def business_seconds(world: SandboxWorld, span: timedelta) -> float:
    """Seconds of simulated time until `span` of business time has passed (holidays wait)."""
    now: datetime = world.env.now()
    return (world.bot.calendar.due(now, (), sla=span) - now).total_seconds()


# ------------------------------------------------------------------ intel


async def play_intel(world: SandboxWorld, steps: Iterable[demo.IntelStep]) -> None:
    """Demo members share intel through `/intel share` and its form, press a card's "Seen it
    too" and post a listing link in their group's channel; the admin keeps the warninglist.
    Ends with every card and notice posted, and who may see each report worked out."""
    groups: dict[str, str] = {}  # the group each report was shared with, by label
    for step in steps:
        if isinstance(step, demo.AddToWarninglist):
            await as_admin(world, "intel warninglist add", value=step.value, note=step.note)
        elif isinstance(step, demo.ShareIntel):
            world.intel[step.label] = await share_intel(world, step)
            groups[step.label] = step.group
        elif isinstance(step, demo.SeenItToo):
            await seen_it_too(world, step, groups[step.label])
        elif isinstance(step, demo.PostInChat):
            world.chat_answers.append(await post_in_chat(world, step))
        else:
            await pass_time(world, business_seconds(world, step.business_time))
    await world.env.settle()  # cards and cross-group notices go out through the outbox
    world.intel_audience = {label: await audience(world, report) for label, report in world.intel.items()}


async def share_intel(world: SandboxWorld, step: demo.ShareIntel) -> str:
    """`/intel share` in the group's channel and its form submitted; returns the new report id."""
    author = world.users[step.author]
    what = f"/intel share {step.label}"
    shown = await act(world, what, author.slash(world.group_channels[step.group], "intel share", tlp=step.tlp.value))
    if shown.modal is None:
        raise SandboxError(f"{what} showed no form")
    form = {"title": step.title, "observed": step.observed, "indicators": "\n".join(step.indicators)}
    shared = await act(world, what, author.submit_modal(shown, form))
    said = shared.response.content if shared.response is not None else ""
    found = re.search(r"Shared \*\*(IN-\d+)\*\*", said)
    if found is None:  # the form answers a refusal itself, so it is not among SimCord's errors
        raise SandboxError(f"{what} shared nothing: {said}")
    return found.group(1)


async def seen_it_too(world: SandboxWorld, step: demo.SeenItToo, group: str) -> None:
    """Press "Seen it too" on the card of a report shared with `group`, as a member who may see it."""
    await world.env.settle()  # the card is posted by the bot's delivery loop
    report = world.intel[step.label]
    what = f"Seen it too on {report}"
    result = await act(world, what, world.users[step.by].click(world.intel_card(report, group), label="Seen it too"))
    said = result.response.content if result.response is not None else ""
    if "Sighting recorded" not in said:
        raise SandboxError(f"{what} failed: {said}")


async def post_in_chat(world: SandboxWorld, step: demo.PostInChat) -> discord.Message:
    """A member's message in the group's channel; returns the group's answer to its listing link."""
    channel = world.group_channels[step.group]
    cursor = world.env.error_cursor
    sent = await world.users[step.author].send(channel, step.content)
    await world.env.settle()
    errors = world.env.errors_since(cursor)
    answers = [m for m in channel.history() if m.reference is not None and m.reference.message_id == sent.id]
    if errors or not answers:
        raise SandboxError(f"the group did not answer {step.content!r} in #{channel.name}") from (
            errors[0] if errors else None
        )
    return answers[-1]


async def audience(world: SandboxWorld, report: str) -> list[str]:
    """The demo users who may see `report` with the roles they hold, as the bot decides it."""
    guild = world.bot.get_guild(world.guild.id)
    if guild is None:
        raise SandboxError("the bot does not see the sandbox's server")
    names = []
    for user in demo.USERS:
        member = guild.get_member(world.users[user.username].id)
        if member is None:
            continue
        roles = frozenset(role.id for role in member.roles)
        caller = Caller(member.id, guild.id, roles, member.guild_permissions.manage_guild)
        if await world.bot.intel.may_see(caller, parse_report_id(report)):
            names.append(first_name(user.username))
    return names


def is_refusal(error: BaseException) -> bool:
    """A refusal (`AllianceError`) is behaviour the user was shown, not a bug."""
    return isinstance(error, app_commands.CommandInvokeError) and isinstance(error.__cause__, AllianceError)


def unexpected_errors(errors: Iterable[BaseException]) -> list[BaseException]:
    return [error for error in errors if not is_refusal(error)]


# ------------------------------------------------------------------ the front end


def missing_preview_requirements() -> list[str]:
    """Distributions of `simcord[preview]` that are not installed (all of them without SimCord)."""
    try:
        requirements = importlib.metadata.requires("simcord") or []
    except importlib.metadata.PackageNotFoundError:
        return ["simcord"]
    missing = []
    for requirement in requirements:
        name, _, marker = requirement.partition(";")
        if not re.search(r"""extra\s*==\s*["']preview["']""", marker):
            continue
        match = re.match(r"[A-Za-z0-9._-]+", name.strip())
        if match is None:
            continue
        try:
            importlib.metadata.version(match.group())
        except importlib.metadata.PackageNotFoundError:
            missing.append(match.group())
    return missing


def instructions(world: SandboxWorld, url: str) -> str:
    """What to print once the preview serves: where to go, who is who, what to try."""
    width = max(len(user.display_name) for user in demo.USERS)
    people = [f"  {user.display_name:<{width}}  {user.can}" for user in demo.USERS]
    command_width = max(len(command) for command, _ in demo.COMMANDS_TO_TRY)
    tries = [f"  {command:<{command_width}}  {with_ids(world, why)}" for command, why in demo.COMMANDS_TO_TRY]
    channel = world.start_channel
    roles = ((world.announcements, "announcements"), (world.review, "takedown review"))
    duties = [duty for handle, duty in roles if handle.id == channel.id]
    where = (
        f"The page shows one channel, #{channel.name}: "
        + (f"the alliance's {' and '.join(duties)} channel and " if duties else "")
        + f"the home of the {world.group_names[demo.START_GROUP]} working group. Run commands there (replies "
        "are private to whoever ran them); pick the demo user you act as in the toolbar's 'Viewing as' menu. "
        f"The other {len(world.group_channels) - 1} working groups are bound to channels of their own; "
        f"{len(demo.ORGANISATIONS)} fictional brands are members."
    )
    return "\n".join(
        [
            "",
            f"Alliance sandbox is running: the real bot in a simulated server, {world.guild.name!r}.",
            f"Open {url}",
            "  (a private capability URL on 127.0.0.1 only: whoever has it can act as the demo users)",
            *textwrap.wrap(where, WIDTH),
            "",
            "Demo users:",
            *people,
            *filed_so_far(world),
            *shared_so_far(world),
            "",
            "Commands to try (type / in the message box):",
            *tries,
            *textwrap.wrap(demo.DM_NOTE, WIDTH, initial_indent="  ", subsequent_indent="  "),
            "",
            "Stop with Ctrl-C or the page's 'End preview session'. Nothing leaves this machine.",
            "",
        ]
    )


def filed_so_far(world: SandboxWorld) -> list[str]:
    """The seeded takedowns, each with its story, under a heading with the simulated time."""
    filed = [step for step in demo.TAKEDOWN_SCRIPT if isinstance(step, demo.FileTakedown)]
    filed = [step for step in filed if step.label in world.takedowns]
    if not filed:
        return []
    width = max(len(first_name(step.filer)) for step in filed)
    now = world.env.now().astimezone(world.bot.calendar.zone)
    return [
        "",
        f"Takedowns already filed (the simulated clock reads {now:%A %d %B %Y, %H:%M} {world.bot.calendar.timezone}):",
        *(f"  {world.takedowns[step.label]}  {first_name(step.filer):<{width}}  {step.story}" for step in filed),
    ]


def shared_so_far(world: SandboxWorld) -> list[str]:
    """The seeded intel reports (level, author, group, title; who may see it and its story), the
    chat answer, and what TLP means here."""
    shared = [step for step in demo.INTEL_SCRIPT if isinstance(step, demo.ShareIntel) and step.label in world.intel]
    if not shared:
        return []
    width = max(len(first_name(step.author)) for step in shared)
    level = max(len(step.tlp.value) for step in shared)
    indent = " " * (2 + len(world.intel[shared[0].label]) + 2 + level + 2 + width + 2)
    lines = ["", "Intel already shared (each report's card is in its group's channel):"]
    for step in shared:
        lines += [
            f"  {world.intel[step.label]}  {step.tlp.value:<{level}}  {first_name(step.author):<{width}}  "
            f"{world.group_names[step.group]}: {step.title}",
            f"{indent}seen by {who(world.intel_audience.get(step.label, []))}; {with_ids(world, step.story)}",
        ]
    posts = [step for step in demo.INTEL_SCRIPT if isinstance(step, demo.PostInChat)][: len(world.chat_answers)]
    for post in posts:
        lines.append(
            f"  {first_name(post.author)} posted a known listing link in #{world.group_channels[post.group].name}; "
            "the group answered with what the channel may know of it, and a File takedown button."
        )
    return [*lines, *textwrap.wrap(demo.TLP_NOTE, WIDTH, initial_indent="  ", subsequent_indent="  ")]


def who(names: Sequence[str]) -> str:
    """ "Leo, Mia"; "everyone"; "everyone but Nina" (names are demo users' first names)."""
    everyone = [first_name(user.username) for user in demo.USERS]
    left_out = [name for name in everyone if name not in names]
    if not names:
        return "no one"
    if len(left_out) <= 2:
        return "everyone" + (f" but {', '.join(left_out)}" if left_out else "")
    return ", ".join(names)


def with_ids(world: SandboxWorld, text: str) -> str:
    """`{label}` in the demo's hints becomes the id the seeded takedown or intel report got."""
    ids = world.takedowns | world.intel
    return re.sub(r"\{([\w-]+)\}", lambda found: ids.get(found[1], found[0]), text)


def first_name(username: str) -> str:
    """ "Mia" for "Mia (Northwind Apparel)"."""
    return next(user.display_name for user in demo.USERS if user.username == username).partition(" (")[0]


def answer_refusals_quietly(bot: AllianceBot) -> None:
    """Keep refusals out of SimCord's error log while a person uses the page.

    SimCord records every error that reaches the tree's `on_error`, and the preview marks an
    action with a recorded error as "The bot action failed". A refusal is not a failure: it is
    answered by the bot's own handler, exactly as before, just without the recording. Anything
    else still goes through SimCord's recorder (and into `report_bugs`).
    """
    recorder = bot.tree.on_error

    async def on_error(interaction: discord.Interaction[AllianceBot], error: app_commands.AppCommandError) -> None:
        if is_refusal(error):
            await report_error(interaction, error)
        else:
            await recorder(interaction, error)

    bot.tree.on_error = on_error  # type: ignore[method-assign]


async def serve_preview(world: SandboxWorld, port: int | None) -> None:
    """Serve the preview of the start channel to every demo user until it is closed."""
    import simcord

    viewers = list(world.users.values())
    try:
        preview = world.env.preview(world.start_channel, viewers=viewers, layout="channel", port=port)
        async with preview:
            print(instructions(world, preview.url), flush=True)
            await preview.wait_closed()
    except simcord.SetupError as error:
        raise SandboxError(f"the browser preview could not start: {error}") from error


async def run_sandbox(settings: Settings, *, port: int | None = None) -> None:
    """Entry point of `python bot.py` without a token (and of `alliance-bot sandbox`).

    Exits with status 2 (like a configuration error) when the preview extra is missing or the
    sandbox cannot be built; returns once the preview is closed.
    """
    missing = missing_preview_requirements()
    if missing:
        print(f"{INSTALL_HINT} (missing: {', '.join(missing)})", file=sys.stderr, flush=True)
        raise SystemExit(2)
    with quiet_logger("discord.state"):  # SimCord's import-time probe warns about a Client without intents
        import simcord

    bot = create_bot(sandbox_settings(settings))
    print(
        f"Building the sandbox on {bot.database_backend}: the alliance, a few simulated days of takedowns, intel …",
        flush=True,
    )
    failure: SandboxError | None = None
    try:
        async with simcord.run(bot, check_errors=False) as env:
            try:
                world = await build_sandbox(env)
                answer_refusals_quietly(bot)
                await serve_preview(world, port)
            except SandboxError as error:
                failure = error
            finally:
                report_bugs(env.errors)
    finally:
        await bot.close()  # SimCord detaches the bot but leaves closing it (and its database) to us
    if failure is not None:
        hint = EMPTY_DATABASE_HINT if "database_url" in settings.model_fields_set else ""
        print(f"Sandbox stopped: {failure}{hint}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    print("Sandbox closed.", flush=True)


@contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Silence one logger's warnings for a moment (restoring its level afterwards)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def report_bugs(errors: Iterable[BaseException]) -> None:
    """Refusals were shown to the demo user; anything else is a bug worth a line in the log."""
    bugs = unexpected_errors(errors)
    if bugs:
        log.error("the bot raised %d unexpected error(s) in the sandbox; see the log above", len(bugs))
