"""`/intel …`: share intel under TLP 2.0, look it up, follow networks; the report card's buttons."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import report_error
from bot.delivery import Undeliverable, ViewKind
from bot.errors import InvalidInput
from bot.permissions import Caller
from bot.rendering import MESSAGE_LIMIT, escape, render
from bot.services.intel import parse_report_id, report_id
from bot.services.intel_export import export_network_csv
from bot.services.networks import HUBS, RECENT, Network
from bot.services.takedowns import takedown_id
from cogs._common import (
    Interaction,
    caller_in_guilds,
    caller_of,
    group_autocomplete,
    home_channel_id,
    reply,
    reply_file,
)
from db.models import OutboxMessage, Tlp

if TYPE_CHECKING:
    from bot.app import AllianceBot

THREAD_ALREADY_CREATED = 160004  # Discord: "A thread has already been created for this message"
TLP_CHOICES = [app_commands.Choice(name=level.value, value=level.value) for level in Tlp]


@dataclass(frozen=True)
class Shown:
    """How many names, hubs and ids a network's page lists."""

    names: int
    groups: int
    hubs: int
    recent: int


# Fewer until the page fits one message: names are up to 120 characters each (twice that once
# escaped), so a viewer in several groups could otherwise overflow it. The last has no names.
PAGE_DETAIL = (Shown(10, 12, HUBS, RECENT), Shown(3, 4, 3, 5), Shown(0, 0, 0, 3))


def network_page(network: Network, origin: str) -> str:
    """`/intel network`'s one page, at most one Discord message whatever the network's size."""
    for shown in PAGE_DETAIL:
        text = render(
            "intel_network.md.j2",
            n=network,
            origin=origin,
            shown=shown,
            recent=[report_id(number) for number in network.recent],
            takedown_ids=[takedown_id(t.id) for t in network.takedown_ids],
        )
        if len(text) <= MESSAGE_LIMIT:
            break
    return text


def network_file(network: Network) -> discord.File | None:
    """The network's reports as CSV (CLEAR, GREEN and AMBER only, as `/intel export`)."""
    if not network.rows:
        return None
    return discord.File(io.BytesIO(export_network_csv(network.rows)), filename="intel-network.csv")


async def show_network(interaction: discord.Interaction[Any], caller: Caller, origin: str) -> None:
    """The page and its file, for the command and the card's **Show network** button. A walk
    is the heaviest read: acknowledge first, so a slow one answers late instead of missing
    Discord's 3-second deadline."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    bot: AllianceBot = interaction.client
    network = await bot.intel.network(caller, origin)
    await reply_file(interaction, network_page(network, origin), network_file(network))


class ShareModal(discord.ui.Modal, title="Share intel"):
    report_title: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Title", max_length=200, custom_id="title")
    observed: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="What was observed", style=discord.TextStyle.paragraph, max_length=4000, custom_id="observed"
    )
    indicators: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Indicators (one per line, type: value)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=4000,
        custom_id="indicators",
        placeholder="https://item.taobao.com/item.htm?id=…\nphone: +86 138 0013 8000\nwechat: lucky_star88",
    )

    def __init__(
        self, bot: AllianceBot, tlp: Tlp, group: str | None, recipients: list[int], *, edit_of: int | None = None
    ) -> None:
        super().__init__(title=f"Edit {report_id(edit_of)}" if edit_of else f"Share intel · TLP:{tlp.value}")
        self.bot, self.tlp, self.group, self.recipients, self.edit_of = bot, tlp, group, recipients, edit_of

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        caller = caller_of(interaction)
        if self.edit_of is not None:
            report = await self.bot.intel.edit(
                caller,
                self.edit_of,
                title=self.report_title.value,
                body=self.observed.value,
                indicator_lines=self.indicators.value,
            )
            self.bot.delivery.kick()
            await reply(
                interaction, f"Updated **{report_id(report.id)}**; it now has {len(report.indicators)} indicator(s)."
            )
            return
        shared = await self.bot.intel.share(
            caller,
            tlp=self.tlp,
            title=self.report_title.value,
            body=self.observed.value,
            indicator_lines=self.indicators.value,
            group=self.group,
            recipients=self.recipients,
            channel_id=home_channel_id(interaction.channel),
        )
        self.bot.delivery.kick()
        report = shared.report
        await reply(
            interaction,
            render(
                "intel_shared.md.j2",
                r=report,
                rid=report_id(report.id),
                group=report.working_group.name,
                recipients=report.recipients,
                indicators=shared.extraction.indicators,
                unrecognised=shared.extraction.unrecognised,
                common={(i.type, i.value) for i in shared.common},
                warned={(i.type, i.value) for i in shared.warned},
                links=shared.links,
                link_ids=[report_id(link.report.id) for link in shared.links],
                foreign=shared.foreign_match,
            ),
        )

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await report_error(interaction, error)


class CardButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"in:(?P<action>seen|net):(?P<number>\d{1,12})"
):
    """**Seen it too** and **Show network** on a report card; the report id is in the custom_id,
    so the buttons keep working after a restart."""

    LABELS: ClassVar[dict[str, tuple[str, discord.ButtonStyle]]] = {
        "seen": ("Seen it too", discord.ButtonStyle.primary),
        "net": ("Show network", discord.ButtonStyle.secondary),
    }

    def __init__(self, action: str, number: int) -> None:
        label, style = self.LABELS[action]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"in:{action}:{number}"))
        self.action, self.number = action, number

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> CardButton:
        return cls(match["action"], int(match["number"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: AllianceBot = interaction.client
        try:
            caller = caller_of(interaction)
            if self.action == "seen":
                count = await bot.intel.sighting(caller, self.number, None)
                await reply(interaction, f"Sighting recorded on {report_id(self.number)}: seen by {count} member(s).")
            else:
                await show_network(interaction, caller, report_id(self.number))
        except Exception as error:  # buttons have no command tree: report like commands do
            await report_error(interaction, error)


def card_view(spec: dict[str, Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in CardButton.LABELS:
        view.add_item(CardButton(action, int(spec["report_id"])))
    return view


class IntelCog(commands.Cog, name="Intel"):
    intel = app_commands.Group(name="intel", description="Share and follow counterfeit-network intel", guild_only=True)
    warninglist = app_commands.Group(
        name="warninglist", description="Known-benign values that never link (admins)", parent=intel
    )

    def __init__(self, bot: AllianceBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(CardButton)
        self.bot.delivery.views["intel_card"] = ViewKind(build=card_view, delivered=self._card_posted)
        self.bot.delivery.views["intel_watch"] = ViewKind(build=lambda _spec: None, audience=self._may_receive)
        self.bot.delivery.views["intel_thread"] = ViewKind(build=lambda _spec: None, act=self._open_thread)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(CardButton)
        for kind in ("intel_card", "intel_watch", "intel_thread"):
            self.bot.delivery.views.pop(kind, None)

    async def _card_posted(self, spec: dict[str, Any], message: discord.Message) -> None:
        await self.bot.intel.record_card(int(spec["report_id"]), message.channel.id, message.id)
        self.bot.delivery.kick()

    async def _open_thread(self, queued: OutboxMessage) -> int:
        """Open the report's discussion thread on its card. A thread started from a message has
        the message's id, so if Discord already made it (a crash before we heard), that is it."""
        spec = queued.view or {}
        number, message_id = int(spec["report_id"]), int(spec["message_id"])
        assert queued.channel_id is not None
        channel = self.bot.get_channel(queued.channel_id) or await self.bot.fetch_channel(queued.channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise Undeliverable(f"channel {queued.channel_id} cannot hold threads")
        card = channel.get_partial_message(message_id)
        # Thread names are plain text and never ping, but keep member text from reading like a mention.
        name = queued.content[:90].replace("@", "@\u200b")
        try:
            thread_id = (await card.create_thread(name=name)).id
        except discord.HTTPException as error:
            if error.code != THREAD_ALREADY_CREATED:
                raise
            thread_id = message_id
        await self.bot.intel.record_thread(number, thread_id)
        return thread_id

    async def _may_receive(self, spec: dict[str, Any], user_id: int) -> bool:
        """A watch notice goes out only if the watcher may see the report with their roles now."""
        caller = caller_in_guilds(self.bot, user_id)
        return caller is not None and await self.bot.intel.may_see(caller, int(spec["report_id"]))

    async def id_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        found = await self.bot.intel.suggest(caller_of(interaction), current)
        return [
            app_commands.Choice(name=f"{report_id(r.id)} · {r.tlp.value} · {r.title}"[:100], value=report_id(r.id))
            for r in found
        ]

    @intel.command(name="share", description="Share intel with your working group under a TLP level")
    @app_commands.describe(
        group="Working group to share with (default: this channel's)",
        tlp="TLP 2.0 level (default AMBER)",
        recipient1="TLP:RED only: who may read it (one to five people)",
    )
    @app_commands.choices(tlp=TLP_CHOICES)
    @app_commands.autocomplete(group=group_autocomplete)
    async def share(
        self,
        interaction: Interaction,
        group: str | None = None,
        tlp: str = Tlp.AMBER.value,
        recipient1: discord.Member | None = None,
        recipient2: discord.Member | None = None,
        recipient3: discord.Member | None = None,
        recipient4: discord.Member | None = None,
        recipient5: discord.Member | None = None,
    ) -> None:
        chosen = [
            m.id for m in (recipient1, recipient2, recipient3, recipient4, recipient5) if m is not None and not m.bot
        ]
        await interaction.response.send_modal(ShareModal(self.bot, Tlp(tlp), group, chosen))

    @intel.command(name="show", description="One intel report, if you may see it")
    async def show(self, interaction: Interaction, id: str) -> None:
        view = await self.bot.intel.show(caller_of(interaction), parse_report_id(id))
        r = view.report
        await reply(
            interaction,
            render(
                "intel_show.md.j2",
                r=r,
                rid=report_id(r.id),
                sightings=view.sightings,
                common=view.common,
                links=view.links,
                link_ids=[report_id(link.report.id) for link in view.links],
            ),
        )

    show.autocomplete("id")(id_autocomplete)

    @intel.command(name="search", description="Full text and exact indicator search over intel you may see")
    async def search(self, interaction: Interaction, query: app_commands.Range[str, 2, 200]) -> None:
        reports = await self.bot.intel.search(caller_of(interaction), query)
        await reply(interaction, render("intel_search.md.j2", reports=reports, ids=[report_id(r.id) for r in reports]))

    @intel.command(name="network", description="The network around a report or an indicator value, as you may see it")
    async def network(self, interaction: Interaction, id: app_commands.Range[str, 1, 300]) -> None:
        await show_network(interaction, caller_of(interaction), id)

    network.autocomplete("id")(id_autocomplete)

    @intel.command(name="sighting", description="I have seen this too (one per member per report)")
    async def sighting(
        self, interaction: Interaction, id: str, note: app_commands.Range[str, 1, 1000] | None = None
    ) -> None:
        number = parse_report_id(id)
        count = await self.bot.intel.sighting(caller_of(interaction), number, note)
        await reply(interaction, f"Sighting recorded on {report_id(number)}: seen by {count} member(s).")

    sighting.autocomplete("id")(id_autocomplete)

    @intel.command(name="watch", description="DM me when a new report I may see contains this indicator")
    async def watch(self, interaction: Interaction, value: app_commands.Range[str, 1, 300]) -> None:
        watch = await self.bot.intel.watch(caller_of(interaction), value)
        await reply(interaction, f"Watching {escape(watch.type)} **{escape(watch.display)}**.")

    @intel.command(name="unwatch", description="Stop watching an indicator")
    async def unwatch(self, interaction: Interaction, value: app_commands.Range[str, 1, 300]) -> None:
        gone = await self.bot.intel.unwatch(caller_of(interaction), value)
        await reply(interaction, f"No longer watching {escape(gone)}.")

    @unwatch.autocomplete("value")
    async def unwatch_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        watches = await self.bot.intel.watches(caller_of(interaction))
        return [
            app_commands.Choice(name=f"{w.type}: {w.display}"[:100], value=f"{w.type}: {w.display}"[:100])
            for w in watches
            if current.lower() in f"{w.type}: {w.display}".lower()
        ][:25]

    @intel.command(name="export", description="Intel you may see (CLEAR, GREEN, AMBER) as STIX 2.1 or CSV")
    @app_commands.choices(
        format=[app_commands.Choice(name="stix", value="stix"), app_commands.Choice(name="csv", value="csv")]
    )
    @app_commands.autocomplete(group=group_autocomplete)
    async def export(self, interaction: Interaction, format: str, group: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        data, count = await self.bot.intel.export(caller_of(interaction), format, group)
        name = "intel-stix-bundle.json" if format == "stix" else "intel.csv"
        await reply_file(
            interaction,
            f"{count} report(s); AMBER+STRICT and RED are never exported.",
            discord.File(io.BytesIO(data), filename=name),
        )

    @intel.command(name="edit", description="Edit your own report")
    async def edit(self, interaction: Interaction, id: str) -> None:
        number = parse_report_id(id)
        title, body, lines = await self.bot.intel.current_text(caller_of(interaction), number)
        modal = ShareModal(self.bot, Tlp.AMBER, None, [], edit_of=number)
        modal.report_title.default, modal.observed.default, modal.indicators.default = title, body, lines[:4000]
        await interaction.response.send_modal(modal)

    edit.autocomplete("id")(id_autocomplete)

    @intel.command(name="retract", description="Retract your own report: it leaves every view and network")
    async def retract(self, interaction: Interaction, id: str) -> None:
        report = await self.bot.intel.retract(caller_of(interaction), parse_report_id(id))
        self.bot.delivery.kick()
        await reply(interaction, f"**{report_id(report.id)}** is retracted.")

    retract.autocomplete("id")(id_autocomplete)

    @intel.command(name="autoreply", description="Turn the group's answers to listing links on or off (group leads)")
    @app_commands.autocomplete(group=group_autocomplete)
    async def autoreply(self, interaction: Interaction, enabled: bool, group: str | None = None) -> None:
        slug = group or await self._channel_group(interaction)
        row = await self.bot.chat.set_enabled(caller_of(interaction), slug, enabled)
        await reply(
            interaction, f"Answers to listing links in {escape(row.name)} are now {'on' if enabled else 'off'}."
        )

    async def _channel_group(self, interaction: Interaction) -> str:
        channel_id = home_channel_id(interaction.channel)
        group = await self.bot.alliance.group_for_channel(channel_id) if channel_id else None
        if group is None:
            raise InvalidInput("Use this in a working group's channel, or name the group.")
        return group.slug

    @warninglist.command(name="add", description="Add a known-benign value; it never links reports (admins)")
    async def warn_add(
        self, interaction: Interaction, value: app_commands.Range[str, 1, 300], note: str | None = None
    ) -> None:
        entry = await self.bot.intel.warn(caller_of(interaction), value, note)
        await reply(interaction, f"On the warninglist: {escape(entry.type)} **{escape(entry.display)}**.")

    @warninglist.command(name="remove", description="Remove a value from the warninglist (admins)")
    async def warn_remove(self, interaction: Interaction, value: app_commands.Range[str, 1, 300]) -> None:
        gone = await self.bot.intel.unwarn(caller_of(interaction), value)
        await reply(interaction, f"Removed from the warninglist: {escape(gone)}.")

    @warninglist.command(name="list", description="The warninglist (admins)")
    async def warn_list(self, interaction: Interaction) -> None:
        entries = await self.bot.intel.warninglist(caller_of(interaction))
        lines = [
            f"- {escape(e.type)}: {escape(e.display)}" + (f" — {escape(e.note)}" if e.note else "") for e in entries
        ]
        await reply(interaction, "\n".join(lines) or "The warninglist is empty.")


async def setup(bot: AllianceBot) -> None:
    await bot.add_cog(IntelCog(bot))
