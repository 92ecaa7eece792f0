"""`/digest …`: schedules, previews, sending now, and DM subscriptions."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery import ViewKind
from bot.rendering import code, escape, when
from bot.services.digests import ALLIANCE
from cogs._common import Interaction, caller_in_guilds, caller_of, group_autocomplete, reply

if TYPE_CHECKING:
    from bot.app import AllianceBot


class DigestCog(commands.Cog, name="Digests"):
    digest = app_commands.Group(name="digest", description="Weekly digests", guild_only=True)

    def __init__(self, bot: AllianceBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.delivery.views["digest_copy"] = ViewKind(build=lambda _spec: None, audience=self._may_receive)

    async def cog_unload(self) -> None:
        self.bot.delivery.views.pop("digest_copy", None)

    async def _may_receive(self, spec: dict[str, Any], user_id: int) -> bool:
        """A DM copy goes out only if the subscriber may still read that digest (TLP)."""
        caller = caller_in_guilds(self.bot, user_id)
        return caller is not None and await self.bot.digests.may_receive(caller, str(spec["scope"]))

    @digest.command(name="schedule", description="Change when a digest is posted (admins)")
    @app_commands.describe(
        cron="5-field cron: minute hour day month weekday, e.g. `0 9 * * 1` for Mondays 09:00",
        timezone="IANA time zone (default: the alliance's)",
        group="A group's digest (default: the alliance's)",
    )
    @app_commands.autocomplete(group=group_autocomplete)
    async def schedule(
        self,
        interaction: Interaction,
        cron: app_commands.Range[str, 1, 120],
        timezone: str | None = None,
        group: str | None = None,
    ) -> None:
        schedule, upcoming = await self.bot.digests.set_schedule(
            caller_of(interaction), cron=cron, timezone=timezone, group=group
        )
        await self.bot.digest_scheduler.reload(schedule.scope)
        await reply(
            interaction,
            f"The digest of {escape(schedule.name)} now runs {code(schedule.cron)} "
            f"({escape(schedule.timezone)}); next: {when(upcoming)}.",
        )

    @digest.command(name="preview", description="The current period so far (group leads, admins)")
    @app_commands.autocomplete(group=group_autocomplete)
    async def preview(self, interaction: Interaction, group: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        rendered = await self.bot.digests.preview(caller_of(interaction), group)
        for number, part in enumerate(rendered.parts):
            files = []
            if number == 0 and rendered.chart is not None:
                files.append(discord.File(io.BytesIO(rendered.chart), filename="alliance-digest.png"))
            await interaction.followup.send(
                part, ephemeral=True, allowed_mentions=discord.AllowedMentions.none(), files=files
            )

    @digest.command(name="send", description="Post the current period now (admins)")
    @app_commands.autocomplete(group=group_autocomplete)
    async def send(self, interaction: Interaction, group: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        run = await self.bot.digests.send_now(caller_of(interaction), group)
        self.bot.delivery.kick()
        await reply(interaction, f"Posting the digest in {run.messages} message(s).")

    @digest.command(name="subscribe", description="Get a digest by DM too")
    @app_commands.autocomplete(group=group_autocomplete)
    async def subscribe(self, interaction: Interaction, group: str | None = None) -> None:
        scope = await self.bot.digests.subscribe(caller_of(interaction), group)
        name = "alliance" if scope == ALLIANCE else escape(scope.removeprefix("group:"))
        await reply(interaction, f"You will get the {name} digest by DM.")

    @digest.command(name="unsubscribe", description="Stop a digest's DM copy")
    @app_commands.autocomplete(group=group_autocomplete)
    async def unsubscribe(self, interaction: Interaction, group: str | None = None) -> None:
        await self.bot.digests.unsubscribe(caller_of(interaction), group)
        await reply(interaction, "Unsubscribed.")


async def setup(bot: AllianceBot) -> None:
    await bot.add_cog(DigestCog(bot))
