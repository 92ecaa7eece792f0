"""`/alliance …`: server set-up, working groups, organisations, rights and members."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.permissions import clearance
from bot.rendering import channel_mention, escape, render, role_mention, user_mention
from cogs import working_group
from cogs._common import Interaction, caller_of, group_autocomplete, organisation_autocomplete, reply
from db.models import RightKind

if TYPE_CHECKING:
    from bot.app import AllianceBot


class AdminCog(commands.Cog, name="Alliance"):
    """Thin adapter over `AllianceService`; every rule lives in the service."""

    alliance = app_commands.Group(name="alliance", description="Set up and inspect the alliance", guild_only=True)
    group = app_commands.Group(name="group", description="Industry working groups", parent=alliance)
    org = app_commands.Group(name="org", description="Member organisations and their IP rights", parent=alliance)
    member = app_commands.Group(name="member", description="Link Discord users to organisations", parent=alliance)

    def __init__(self, bot: AllianceBot) -> None:
        self.bot = bot

    # ---------------------------------------------------------------- setup

    @alliance.command(name="setup", description="Wire the alliance to this server (admins)")
    @app_commands.describe(
        announcements="Channel for alliance-wide announcements and digests",
        review_channel="Channel where the platform's IP team reviews takedowns",
        reviewer_role="Role of the platform's IP protection team",
        admin_role="Role of alliance admins (besides Manage Server)",
        timezone="IANA time zone for business time, e.g. Asia/Shanghai",
    )
    async def setup(
        self,
        interaction: Interaction,
        announcements: discord.TextChannel,
        review_channel: discord.TextChannel,
        reviewer_role: discord.Role,
        admin_role: discord.Role | None = None,
        timezone: str | None = None,
    ) -> None:
        settings = await self.bot.alliance.setup(
            caller_of(interaction),
            announcements_channel_id=announcements.id,
            review_channel_id=review_channel.id,
            reviewer_role_id=reviewer_role.id,
            admin_role_id=admin_role.id if admin_role else None,
            timezone=timezone,
            default_timezone=self.bot.settings.alliance_timezone,
        )
        await reply(
            interaction,
            "Alliance set up.\n"
            f"Announcements: {channel_mention(settings.announcements_channel_id)}\n"
            f"Reviews: {channel_mention(settings.review_channel_id)} by {role_mention(settings.reviewer_role_id)}\n"
            f"Admins: Manage Server{' and ' + role_mention(settings.admin_role_id) if settings.admin_role_id else ''}\n"
            f"Time zone: {escape(settings.timezone)}",
        )

    @alliance.command(name="whoami", description="My organisation, working groups, roles and what I may see")
    async def whoami(self, interaction: Interaction) -> None:
        info = await self.bot.alliance.whoami(caller_of(interaction))
        standing = info.standing
        good_faith = (
            await self.bot.takedown_queries.good_faith(standing.organisation.id) if standing.organisation else None
        )
        await reply(
            interaction,
            render(
                "whoami.md.j2",
                org_name=standing.organisation.name if standing.organisation else None,
                rights=info.rights,
                groups=sorted({*standing.groups, *standing.leads}, key=lambda g: g.name),
                lead_ids={g.id for g in standing.leads},
                roles=standing.role_names,
                clearance=clearance(standing),
                good_faith=good_faith,
            ),
        )

    @alliance.command(name="health", description="Database, scheduler, outbox and digests at a glance (admins)")
    async def health(self, interaction: Interaction) -> None:
        report = await self.bot.health.check(caller_of(interaction))
        next_runs = sorted(self.bot.digest_scheduler.next_runs().items(), key=lambda item: item[1])
        await reply(
            interaction,
            render(
                "health.md.j2",
                h=report,
                version=self.bot.version,
                engine=self.bot.database_backend,
                scheduler_running=self.bot.digest_scheduler.scheduler.running,
                next_runs=next_runs,
            ),
        )

    # --------------------------------------------------------------- groups

    @group.command(name="create", description="Create a working group; it is live at once (admins)")
    @app_commands.describe(
        name="Name, e.g. Outdoor Power Equipment",
        channel="The group's channel",
        role="Role that makes a user a member of the group",
        lead_role="Role of the group's leads",
        description="The industry the group covers",
    )
    async def group_create(
        self,
        interaction: Interaction,
        name: app_commands.Range[str, 1, 100],
        channel: discord.TextChannel,
        role: discord.Role,
        lead_role: discord.Role | None = None,
        description: app_commands.Range[str, 0, 300] = "",
    ) -> None:
        created = await self.bot.alliance.create_group(
            caller_of(interaction),
            name=name,
            channel_id=channel.id,
            member_role_id=role.id,
            lead_role_id=lead_role.id if lead_role else None,
            description=description,
        )
        await working_group.start_group(self.bot, created, announce=True)
        await reply(
            interaction,
            f"Working group **{escape(created.name)}** (`{created.slug}`) is live in {channel.mention}.",
        )

    @group.command(name="bind", description="Point a working group at a channel and roles (admins)")
    @app_commands.autocomplete(group=group_autocomplete)
    async def group_bind(
        self,
        interaction: Interaction,
        group: str,
        channel: discord.TextChannel,
        role: discord.Role,
        lead_role: discord.Role | None = None,
    ) -> None:
        bound = await self.bot.alliance.bind_group(
            caller_of(interaction),
            group=group,
            channel_id=channel.id,
            member_role_id=role.id,
            lead_role_id=lead_role.id if lead_role else None,
        )
        await working_group.start_group(self.bot, bound, announce=True)
        await reply(interaction, f"**{escape(bound.name)}** now lives in {channel.mention} for {role.mention}.")

    @group.command(name="list", description="Every working group and where it lives")
    async def group_list(self, interaction: Interaction) -> None:
        groups = await self.bot.alliance.groups()
        await reply(interaction, render("group_list.md.j2", groups=groups))

    @group.command(name="archive", description="Archive a working group; its history is kept (admins)")
    @app_commands.autocomplete(group=group_autocomplete)
    async def group_archive(self, interaction: Interaction, group: str) -> None:
        archived = await self.bot.alliance.archive_group(caller_of(interaction), group=group)
        await working_group.stop_group(self.bot, archived.slug)
        await reply(interaction, f"**{escape(archived.name)}** is archived. Its history is kept.")

    # -------------------------------------------------------- organisations

    @org.command(name="add", description="Add a member organisation (admins)")
    @app_commands.describe(name="The brand owner's name", group="Its home working group")
    @app_commands.autocomplete(group=group_autocomplete)
    async def org_add(
        self, interaction: Interaction, name: app_commands.Range[str, 1, 120], group: str | None = None
    ) -> None:
        organisation = await self.bot.alliance.add_organisation(caller_of(interaction), name=name, group=group)
        home = f" in {escape(organisation.working_group.name)}" if organisation.working_group else ""
        await reply(interaction, f"**{escape(organisation.name)}** is now a member organisation{home}.")

    @org.command(name="right", description="Register an IP right of an organisation (admins)")
    @app_commands.describe(
        org="The organisation that owns the right",
        kind="Kind of right",
        number="Registration number",
        jurisdiction="Where it is registered, e.g. CN, EU, US",
        expires="Expiry date, YYYY-MM-DD",
    )
    @app_commands.autocomplete(org=organisation_autocomplete)
    async def org_right(
        self,
        interaction: Interaction,
        org: str,
        kind: RightKind,
        number: app_commands.Range[str, 1, 64],
        jurisdiction: app_commands.Range[str, 1, 32],
        expires: str | None = None,
    ) -> None:
        right = await self.bot.alliance.add_right(
            caller_of(interaction),
            organisation=org,
            kind=kind,
            number=number,
            jurisdiction=jurisdiction,
            expires=expires,
        )
        expiry = f", expires {right.expires_on.isoformat()}" if right.expires_on else ""
        await reply(
            interaction,
            f"Registered {right.kind.value} **{escape(right.number)}** ({escape(right.jurisdiction)}{expiry}) "
            f"for **{escape(right.organisation.name)}**.",
        )

    @org.command(name="standing", description="Good-faith takedown standing over 90 days (admins)")
    @app_commands.describe(org="One organisation; leave empty for every organisation, weakest first")
    @app_commands.autocomplete(org=organisation_autocomplete)
    async def org_standing(self, interaction: Interaction, org: str | None = None) -> None:
        rows = await self.bot.takedown_queries.standings(caller_of(interaction), organisation=org)
        await reply(interaction, render("good_faith.md.j2", rows=rows))

    # -------------------------------------------------------------- members

    @member.command(name="link", description="Link a user to the organisation they act for (admins)")
    @app_commands.autocomplete(org=organisation_autocomplete)
    async def member_link(self, interaction: Interaction, user: discord.Member, org: str) -> None:
        linked = await self.bot.alliance.link_member(caller_of(interaction), user_id=user.id, organisation=org)
        await reply(
            interaction,
            f"{user_mention(linked.user_id)} now acts for **{escape(linked.organisation.name)}**.",
        )

    @member.command(name="unlink", description="Remove a user's organisation link (admins)")
    async def member_unlink(self, interaction: Interaction, user: discord.User) -> None:
        organisation = await self.bot.alliance.unlink_member(caller_of(interaction), user_id=user.id)
        await reply(interaction, f"{user_mention(user.id)} no longer acts for **{escape(organisation)}**.")


async def setup(bot: AllianceBot) -> None:
    await bot.add_cog(AdminCog(bot))
