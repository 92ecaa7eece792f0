"""`/case …`: log and read offline enforcement cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from discord import app_commands
from discord.ext import commands

from bot.rendering import render
from bot.services.cases import CURRENCIES, case_id, parse_case_id
from cogs._common import Interaction, caller_of, group_autocomplete, reply

if TYPE_CHECKING:
    from bot.app import AllianceBot


class CaseCog(commands.Cog, name="Cases"):
    case = app_commands.Group(name="case", description="Offline enforcement cases", guild_only=True)

    def __init__(self, bot: AllianceBot) -> None:
        self.bot = bot

    @case.command(name="log", description="Log an enforcement action of a working group (group leads, admins)")
    @app_commands.describe(
        arrests="People arrested",
        locations="Manufacturing or distribution locations shut",
        seizure_value="Value of goods seized",
        currency="Currency of the seizure value (never converted)",
        summary="What was done, where",
        date="When it happened, YYYY-MM-DD (default today)",
        intel="The intel report it came from (IN-…)",
    )
    @app_commands.choices(currency=[app_commands.Choice(name=c, value=c) for c in CURRENCIES])
    @app_commands.autocomplete(group=group_autocomplete)
    async def log(
        self,
        interaction: Interaction,
        group: str,
        arrests: app_commands.Range[int, 0, 100_000],
        locations: app_commands.Range[int, 0, 100_000],
        seizure_value: app_commands.Range[float, 0.0, 1e12],
        currency: str,
        summary: app_commands.Range[str, 10, 1000],
        date: str | None = None,
        intel: str | None = None,
    ) -> None:
        case = await self.bot.cases.log(
            caller_of(interaction),
            group=group,
            arrests=arrests,
            locations=locations,
            seizure_value=f"{seizure_value:.2f}",
            currency=currency,
            summary=summary,
            action_date=date,
            intel=intel,
        )
        await reply(interaction, render("case.md.j2", c=case, cid=case_id(case.id), logged=True), ephemeral=False)

    @case.command(name="list", description="Recent enforcement cases with totals per currency")
    @app_commands.autocomplete(group=group_autocomplete)
    async def list_(self, interaction: Interaction, group: str | None = None) -> None:
        cases, totals = await self.bot.cases.list(caller_of(interaction), group)
        await reply(
            interaction, render("case_list.md.j2", cases=cases, ids=[case_id(c.id) for c in cases], totals=totals)
        )

    @case.command(name="show", description="One enforcement case")
    async def show(self, interaction: Interaction, id: str) -> None:
        case = await self.bot.cases.show(caller_of(interaction), parse_case_id(id))
        await reply(interaction, render("case.md.j2", c=case, cid=case_id(case.id), logged=False))


async def setup(bot: AllianceBot) -> None:
    await bot.add_cog(CaseCog(bot))
