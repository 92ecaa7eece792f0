"""What every cog needs: who is calling, shared autocompletes, and reply helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.permissions import Caller
from bot.rendering import MESSAGE_LIMIT, split_message

if TYPE_CHECKING:
    from bot.app import AllianceBot

    Interaction = discord.Interaction[AllianceBot]
else:
    Interaction = discord.Interaction


def caller_of(interaction: Interaction) -> Caller:
    """The permission-relevant facts about the user behind `interaction`."""
    user = interaction.user
    if isinstance(user, discord.Member):
        return Caller(
            user_id=user.id,
            guild_id=user.guild.id,
            role_ids=frozenset(role.id for role in user.roles),
            manages_guild=user.guild_permissions.manage_guild,
        )
    return Caller(user_id=user.id, guild_id=interaction.guild_id)


def caller_in_guilds(client: discord.Client, user_id: int) -> Caller | None:
    """The caller facts of a user the bot is not in an interaction with (for a DM it is about to
    send): their roles in the first shared guild, or None if it shares none."""
    for guild in client.guilds:
        member = guild.get_member(user_id)
        if member is not None:
            return Caller(
                user_id, guild.id, frozenset(r.id for r in member.roles), member.guild_permissions.manage_guild
            )
    return None


def home_channel_id(
    channel: discord.abc.GuildChannel | discord.Thread | discord.abc.Messageable | None,
) -> int | None:
    """A thread counts as its parent channel: group discussions happen in threads."""
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return getattr(channel, "id", None)


async def group_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    groups = await interaction.client.alliance.suggest_groups(current)
    return [app_commands.Choice(name=group.name, value=group.slug) for group in groups]


async def organisation_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    organisations = await interaction.client.alliance.suggest_organisations(current)
    return [app_commands.Choice(name=org.name, value=org.name) for org in organisations]


async def reply(interaction: Interaction, content: str, *, ephemeral: bool = True) -> None:
    """Answer, whether or not the interaction was deferred, in as many messages as the text
    needs (Discord allows 2,000 characters each); never pings anyone."""
    mentions = discord.AllowedMentions.none()
    for part in split_message(content):
        if interaction.response.is_done():
            await interaction.followup.send(part, ephemeral=ephemeral, allowed_mentions=mentions)
        else:
            await interaction.response.send_message(part, ephemeral=ephemeral, allowed_mentions=mentions)


async def reply_file(interaction: Interaction, content: str, file: discord.File | None) -> None:
    """Answer with one ephemeral message and, if given, one attachment, never pinging anyone.
    For replies designed to fit one page: a `content` over Discord's limit is a bug, not
    something to split (the file would land on one part and the page be torn)."""
    if len(content) > MESSAGE_LIMIT:
        raise ValueError(f"A one-message reply of {len(content)} characters (Discord allows {MESSAGE_LIMIT}).")
    files = [file] if file is not None else []
    mentions = discord.AllowedMentions.none()
    if interaction.response.is_done():
        await interaction.followup.send(content, files=files, ephemeral=True, allowed_mentions=mentions)
    else:
        await interaction.response.send_message(content, files=files, ephemeral=True, allowed_mentions=mentions)
