"""`WorkingGroupCog`: one instance per live working group, made from its database row.

Adding a group (`/alliance group create`) starts a new instance at once; archiving stops it.
The instance owns what belongs to its group alone: its channel and the listeners on it. Later
capabilities hang their per-group behaviour here, so no group ever needs code of its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.app import report_error
from bot.rendering import escape, render
from bot.services.digests import group_scope
from bot.services.intel import listings_in
from cogs.takedowns import PrefilledFiling
from db.models import WorkingGroup

if TYPE_CHECKING:
    from bot.app import AllianceBot

log = logging.getLogger(__name__)

COG_PREFIX = "WorkingGroup:"


def cog_name(slug: str) -> str:
    return f"{COG_PREFIX}{slug}"


class WorkingGroupCog(commands.Cog):
    """The live presence of one working group in Discord."""

    def __init__(self, bot: AllianceBot, group: WorkingGroup) -> None:
        self.bot = bot
        self.__cog_name__ = cog_name(group.slug)
        self.group_id = group.id
        self.slug = group.slug
        self.apply(group)

    async def cog_load(self) -> None:
        await self.bot.digest_scheduler.reload(group_scope(self.slug))

    async def cog_unload(self) -> None:
        self.bot.digest_scheduler.remove(group_scope(self.slug))

    def apply(self, group: WorkingGroup) -> None:
        """Take over the group's current wiring (after `/alliance group bind`)."""
        self.name = group.name
        self.channel_id = group.channel_id
        self.member_role_id = group.member_role_id
        self.lead_role_id = group.lead_role_id

    def channel(self) -> discord.TextChannel | None:
        channel = self.bot.get_channel(self.channel_id) if self.channel_id else None
        return channel if isinstance(channel, discord.TextChannel) else None

    async def announce(self) -> None:
        """Say in the group's channel that the bot now serves it."""
        channel = self.channel()
        if channel is not None:
            await channel.send(f"This channel is now the home of the **{escape(self.name)}** working group.")

    @commands.Cog.listener()
    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        """Greet a member who just gained the group's role; the ping is the point."""
        if self.member_role_id is None:
            return
        had = any(role.id == self.member_role_id for role in before.roles)
        has = any(role.id == self.member_role_id for role in after.roles)
        channel = self.channel()
        if has and not had and channel is not None and channel.guild.id == after.guild.id:
            await channel.send(
                render("group_welcome.md.j2", group_name=self.name, user_id=after.id),
                allowed_mentions=discord.AllowedMentions(users=[after]),
            )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A member linked a listing in the group's channel (or one of its threads): if the
        listing is known, say what the channel may know of it, once an hour, pinging no one."""
        if message.author.bot or message.guild is None or self.channel_id is None:
            return
        channel = message.channel
        home = channel.parent_id if isinstance(channel, discord.Thread) else channel.id
        if home != self.channel_id or "http" not in message.content:
            return
        findings = await self.bot.chat.findings(self.group_id, channel.id, message.content)
        if findings:
            await message.reply(
                render("intel_chat.md.j2", findings=findings),
                view=FileTakedownView(),
                mention_author=False,
                allowed_mentions=discord.AllowedMentions.none(),
            )

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """The group's channel was deleted: unbind it so nothing is posted into the void."""
        if channel.id != self.channel_id:
            return
        if await self.bot.alliance.unbind_deleted_channel(self.group_id, channel.id) is not None:
            log.warning("channel of working group %s was deleted; group is unbound", self.slug)
            self.channel_id = None


class FileTakedownView(discord.ui.View):
    """The **File takedown** button under a chat answer. Persistent (one static custom_id): the
    listing is read back from the message the answer replies to."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="File takedown", style=discord.ButtonStyle.primary, custom_id="wg:file-takedown")
    async def file(self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]) -> None:
        reference = interaction.message.reference if interaction.message else None
        original = reference.resolved if reference is not None else None
        if not isinstance(original, discord.Message) and reference is not None and reference.message_id:
            original = await interaction.channel.fetch_message(reference.message_id)  # type: ignore[union-attr]
        listings = listings_in(original.content) if isinstance(original, discord.Message) else []
        await interaction.response.send_modal(PrefilledFiling(listings[0].url if listings else ""))

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_error(interaction, error)


async def start_group(bot: AllianceBot, group: WorkingGroup, *, announce: bool = False) -> WorkingGroupCog:
    """Load (or refresh) the cog of `group`, live."""
    existing = bot.get_cog(cog_name(group.slug))
    if isinstance(existing, WorkingGroupCog):
        existing.apply(group)
        cog = existing
    else:
        cog = WorkingGroupCog(bot, group)
        await bot.add_cog(cog)
    if announce:
        await cog.announce()
    return cog


async def stop_group(bot: AllianceBot, slug: str) -> None:
    await bot.remove_cog(cog_name(slug))


def group_cogs(bot: AllianceBot) -> list[WorkingGroupCog]:
    return [cog for cog in bot.cogs.values() if isinstance(cog, WorkingGroupCog)]
