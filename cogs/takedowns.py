"""`/takedown …`: file, check and follow takedown requests; the review card's buttons."""

from __future__ import annotations

import hashlib
import io
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import report_error
from bot.delivery import ViewKind
from bot.errors import InvalidInput
from bot.rendering import code, escape, link, render, when
from bot.services.intel import report_id
from bot.services.takedown_csv import MAX_BYTES, parse_bulk, write_csv
from bot.services.takedowns import (
    GOOD_FAITH_STATEMENT,
    BulkResult,
    Draft,
    Filed,
    parse_reason,
    parse_takedown_id,
    takedown_id,
)
from cogs._common import Interaction, caller_of, group_autocomplete, home_channel_id, reply
from db.models import Takedown, TakedownReason, TakedownStatus

if TYPE_CHECKING:
    from bot.app import AllianceBot

EVIDENCE_HASH_LIMIT = 25 * 1024 * 1024
CONFIRM_TIMEOUT = 600.0  # the interaction token lasts 15 minutes


async def evidence_of(attachment: discord.Attachment | None) -> list[dict[str, Any]]:
    """Evidence metadata with a SHA-256 of the file, so what was filed can be proven later."""
    if attachment is None:
        return []
    item: dict[str, Any] = {
        "filename": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "url": attachment.url,
    }
    if attachment.size <= EVIDENCE_HASH_LIMIT:
        item["sha256"] = hashlib.sha256(await attachment.read()).hexdigest()
    return [item]


def filed_text(filed: Filed) -> str:
    t = filed.takedown
    if not filed.created:
        text = (
            f"Your organisation already has **{takedown_id(t.id)}** on this listing ({t.status.value}); "
            "nothing new was filed."
        )
    else:
        text = (
            f"Filed **{takedown_id(t.id)}** for {link(t.listing_url)}\n"
            f"Listing: {escape(t.marketplace)} {code(t.listing_key)} · SLA due {when(t.due_at)}"
        )
    if filed.other_members:
        text += f"\nAlso reported by {filed.other_members} other member(s)."
    return text


def state_text(takedown: Takedown) -> str:
    counter = f" (counter-notice: {takedown.counter_state.value})" if takedown.counter_state else ""
    return f"{takedown_id(takedown.id)} is now **{takedown.status.value}**{counter}."


def draft_text(draft: Draft) -> str:
    lines = [
        f"**File a takedown** for {escape(draft.organisation_name)}",
        f"Listing: {escape(draft.listing.marketplace)} {code(draft.listing.key)} — {link(draft.listing.url)}",
        f"Right: {escape(draft.right_label)} · Reason: {draft.reason.value}",
    ]
    if draft.seller_key:
        lines.append(f"Seller: {escape(draft.seller_text or draft.seller_key)}")
    if draft.working_group_name:
        lines.append(f"Working group: {escape(draft.working_group_name)}")
    if draft.note:
        lines.append(f"Note: {escape(draft.note)}")
    if draft.evidence:
        lines.append("Evidence: " + ", ".join(escape(item["filename"]) for item in draft.evidence))
    lines.append(f"\n> {GOOD_FAITH_STATEMENT}\nPress **File takedown** to make this statement and file.")
    return "\n".join(lines)


def bulk_summary(result: BulkResult, *, dry_run: bool) -> str:
    verb = "can be filed" if dry_run else "filed"
    text = (
        f"**{result.count('filed')}** {verb} · **{result.count('duplicate')}** duplicate(s) · "
        f"**{result.count('refused')}** refused (of {len(result.outcomes)} rows)."
    )
    if dry_run and result.count("filed"):
        text += f"\n> {GOOD_FAITH_STATEMENT}\nPress **File all** to make this statement for every row and file them."
    return text


def bulk_csv(result: BulkResult) -> discord.File:
    data = write_csv(
        ("line", "url", "outcome", "id", "reason"),
        ((row.line, row.url, row.outcome, row.takedown, row.reason) for row in result.outcomes),
    )
    return discord.File(io.BytesIO(data), filename="takedown-bulk-result.csv")


class OwnerOnlyView(discord.ui.View):
    """A short-lived view only the user who opened it may use; errors go to the central handler."""

    def __init__(self, owner_id: int, timeout: float = CONFIRM_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("These buttons belong to someone else.", ephemeral=True)
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_error(interaction, error)


class ConfirmFiling(OwnerOnlyView):
    def __init__(self, bot: AllianceBot, owner_id: int, draft: Draft) -> None:
        super().__init__(owner_id)
        self.bot = bot
        self.draft = draft

    @discord.ui.button(label="File takedown", style=discord.ButtonStyle.primary)
    async def confirm(self, interaction: Interaction, _button: discord.ui.Button[Any]) -> None:
        self.stop()
        filed = await self.bot.takedowns.file(caller_of(interaction), self.draft)
        self.bot.delivery.kick()
        await interaction.response.edit_message(content=filed_text(filed), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: Interaction, _button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled; nothing was filed.", view=None)


class ConfirmBulk(OwnerOnlyView):
    def __init__(self, bot: AllianceBot, owner_id: int, filename: str, rows: list[Any], channel_id: int | None) -> None:
        super().__init__(owner_id)
        self.bot, self.filename, self.rows, self.channel_id = bot, filename, rows, channel_id

    @discord.ui.button(label="File all", style=discord.ButtonStyle.primary)
    async def confirm(self, interaction: Interaction, _button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Filing…", view=None, attachments=[])

        async def progress(done: int, total: int) -> None:
            await interaction.edit_original_response(content=f"Filing… checked {done:,} of {total:,} rows.")

        result = await self.bot.takedowns.file_bulk(
            caller_of(interaction), self.filename, self.rows, channel_id=self.channel_id, progress=progress
        )
        self.bot.delivery.kick()
        await interaction.edit_original_response(
            content=bulk_summary(result, dry_run=False), attachments=[bulk_csv(result)]
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: Interaction, _button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled; nothing was filed.", view=None, attachments=[])


class Pager(OwnerOnlyView):
    def __init__(
        self, bot: AllianceBot, owner_id: int, status: TakedownStatus | None, group: str | None, page: int, pages: int
    ) -> None:
        super().__init__(owner_id)
        self.bot, self.status, self.group, self.page = bot, status, group, page
        self.previous.disabled = page <= 1
        self.next.disabled = page >= pages

    async def show(self, interaction: Interaction, page: int) -> None:
        listing = await self.bot.takedown_queries.page(
            caller_of(interaction), status=self.status, group=self.group, page=page
        )
        view = Pager(self.bot, self.owner_id, self.status, self.group, listing.page, listing.pages)
        await interaction.response.edit_message(content=list_text(listing), view=view)

    @discord.ui.button(label="◀ Newer", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: Interaction, _button: discord.ui.Button[Any]) -> None:
        await self.show(interaction, self.page - 1)

    @discord.ui.button(label="Older ▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: Interaction, _button: discord.ui.Button[Any]) -> None:
        await self.show(interaction, self.page + 1)


def list_text(listing: Any) -> str:
    return render(
        "takedown_list.md.j2",
        items=listing.items,
        ids=[takedown_id(t.id) for t in listing.items],
        page=listing.page,
        pages=listing.pages,
        total=listing.total,
    )


class PrefilledFiling(discord.ui.Modal, title="File a takedown"):
    """`/takedown file` as a form, opened from a working group's answer to a listing link with
    the URL filled in; it leads to the same good-faith confirmation."""

    url: discord.ui.TextInput[Any] = discord.ui.TextInput(label="Listing URL", max_length=2048, custom_id="url")
    right: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Your right's registration number", max_length=64, custom_id="right"
    )
    reason: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Reason",
        placeholder="counterfeit, trademark, copyright, patent or design",
        default="counterfeit",
        max_length=20,
        custom_id="reason",
    )
    seller: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Seller", required=False, max_length=200, custom_id="seller"
    )
    note: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Note for the reviewers",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=1000,
        custom_id="note",
    )

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url.default = url

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot: AllianceBot = interaction.client
        reason = parse_reason(self.reason.value)
        caller = caller_of(interaction)
        prepared = await bot.takedowns.prepare(
            caller,
            url=self.url.value,
            right=self.right.value,
            reason=reason,
            seller=self.seller.value or None,
            note=self.note.value or None,
            channel_id=home_channel_id(interaction.channel),
        )
        if isinstance(prepared, Filed):
            await reply(interaction, filed_text(prepared))
            return
        await interaction.response.send_message(
            draft_text(prepared), view=ConfirmFiling(bot, caller.user_id, prepared), ephemeral=True
        )

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await report_error(interaction, error)


class NeedsInfoModal(discord.ui.Modal, title="What information is needed?"):
    note: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Tell the filer what to add", style=discord.TextStyle.paragraph, max_length=1000, custom_id="note"
    )

    def __init__(self, bot: AllianceBot, number: int) -> None:
        super().__init__()
        self.bot, self.number = bot, number

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await self.bot.takedowns.review(caller_of(interaction), self.number, "needs_info", self.note.value)
        self.bot.delivery.kick()
        await reply(interaction, f"{takedown_id(self.number)}: asked the filer for more information.")

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await report_error(interaction, error)


DECISION_STYLE = {
    "removed": ("Removed", discord.ButtonStyle.success),
    "rejected": ("Rejected", discord.ButtonStyle.danger),
    "needs_info": ("Needs info", discord.ButtonStyle.secondary),
}


class ReviewButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"td:review:(?P<number>\d{1,12}):(?P<decision>removed|rejected|needs_info)",
):
    """A decision button on a review card. The takedown id lives in the custom_id, so the
    buttons keep working after a restart."""

    def __init__(self, number: int, decision: str) -> None:
        label, style = DECISION_STYLE[decision]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"td:review:{number}:{decision}"))
        self.number, self.decision = number, decision

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReviewButton:
        return cls(int(match["number"]), match["decision"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: AllianceBot = interaction.client
        try:
            if self.decision == "needs_info":
                await bot.takedowns.check_can_review(caller_of(interaction), self.number)
                await interaction.response.send_modal(NeedsInfoModal(bot, self.number))
                return
            takedown = await bot.takedowns.review(caller_of(interaction), self.number, self.decision)
            bot.delivery.kick()
            await reply(interaction, state_text(takedown))
        except Exception as error:  # buttons have no command tree: report like commands do
            await report_error(interaction, error)


def review_view(spec: dict[str, Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for decision in DECISION_STYLE:
        view.add_item(ReviewButton(int(spec["takedown_id"]), decision))
    return view


class TakedownCog(commands.Cog, name="Takedowns"):
    takedown = app_commands.Group(name="takedown", description="File and follow takedown requests", guild_only=True)

    def __init__(self, bot: AllianceBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ReviewButton)
        self.bot.delivery.views["takedown_review"] = ViewKind(build=review_view, delivered=self._card_posted)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ReviewButton)
        self.bot.delivery.views.pop("takedown_review", None)

    async def _card_posted(self, spec: dict[str, Any], message: discord.Message) -> None:
        await self.bot.takedowns.record_card(int(spec["takedown_id"]), message.channel.id, message.id)

    async def right_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        rights = await self.bot.takedowns.suggest_rights(caller_of(interaction), current)
        return [
            app_commands.Choice(name=f"{r.kind.value} {r.number} ({r.jurisdiction})"[:100], value=str(r.id))
            for r in rights
        ]

    async def id_autocomplete(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        found = await self.bot.takedown_queries.suggest(caller_of(interaction), current)
        return [
            app_commands.Choice(
                name=f"{takedown_id(t.id)} · {t.status.value} · {t.listing_key}"[:100], value=takedown_id(t.id)
            )
            for t in found
        ]

    @takedown.command(name="file", description="File a takedown request for an infringing listing")
    @app_commands.describe(
        url="The listing's URL",
        right="One of your organisation's registered rights",
        reason="Why it infringes",
        seller="The seller's shop name or id (platform:id)",
        evidence="A screenshot or document",
        note="For the reviewers",
    )
    async def file(
        self,
        interaction: Interaction,
        url: app_commands.Range[str, 1, 2048],
        right: str,
        reason: TakedownReason,
        seller: app_commands.Range[str, 1, 200] | None = None,
        evidence: discord.Attachment | None = None,
        note: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        caller = caller_of(interaction)
        prepared = await self.bot.takedowns.prepare(
            caller,
            url=url,
            right=right,
            reason=reason,
            seller=seller,
            note=note,
            evidence=await evidence_of(evidence),
            channel_id=_home(interaction),
        )
        if isinstance(prepared, Filed):
            await reply(interaction, filed_text(prepared))
            return
        await interaction.response.send_message(
            draft_text(prepared), view=ConfirmFiling(self.bot, caller.user_id, prepared), ephemeral=True
        )

    file.autocomplete("right")(right_autocomplete)

    @takedown.command(name="bulk", description="File many takedowns from a CSV (url,right,reason,seller,note)")
    async def bulk(self, interaction: Interaction, csv: discord.Attachment) -> None:
        if csv.size > MAX_BYTES:
            raise InvalidInput(f"The file is {csv.size / 1_048_576:.1f} MB; at most 5 MB are accepted.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        rows = parse_bulk(await csv.read())

        async def progress(done: int, total: int) -> None:
            await interaction.edit_original_response(content=f"Checking… {done:,} of {total:,} rows.")

        caller = caller_of(interaction)
        result, drafts = await self.bot.takedowns.validate_bulk(
            caller, rows, channel_id=_home(interaction), progress=progress
        )
        view = ConfirmBulk(self.bot, caller.user_id, csv.filename, rows, _home(interaction)) if drafts else None
        content = bulk_summary(result, dry_run=True)
        if not drafts:
            content += "\nNo row can be filed, so nothing will be filed."
        await interaction.edit_original_response(content=content, attachments=[bulk_csv(result)], view=view)

    @takedown.command(name="status", description="Status, history and SLA of a takedown")
    async def status(self, interaction: Interaction, id: str) -> None:
        view = await self.bot.takedown_queries.status(caller_of(interaction), parse_takedown_id(id))
        t = view.takedown
        await reply(
            interaction,
            render(
                "takedown_status.md.j2",
                t=t,
                tid=takedown_id(t.id),
                history=view.history,
                linked=view.linked,
                other_ids=[takedown_id(o.id) for o in view.linked],
                more_linked=view.more_linked,
                hidden_linked=view.hidden_linked,
                flags=view.flags,
                on_time=view.on_time,
                intel_ids=[report_id(n) for n in view.intel],
            ),
        )

    status.autocomplete("id")(id_autocomplete)

    @takedown.command(name="check", description="Is this listing known? Requests on it and seller flags")
    async def check(self, interaction: Interaction, url: app_commands.Range[str, 1, 2048]) -> None:
        view = await self.bot.takedown_queries.check(caller_of(interaction), url)
        await reply(
            interaction,
            render(
                "takedown_check.md.j2",
                listing=view.listing,
                requests=view.requests,
                ids=[takedown_id(t.id) for t in view.requests],
                more=view.more,
                hidden=view.hidden,
                flags=view.flags,
                intel_ids=[report_id(n) for n in view.intel],
            ),
        )

    @takedown.command(name="list", description="Your organisation's takedowns (reviewers: everyone's), newest first")
    @app_commands.autocomplete(group=group_autocomplete)
    async def list_(
        self, interaction: Interaction, status: TakedownStatus | None = None, group: str | None = None
    ) -> None:
        caller = caller_of(interaction)
        listing = await self.bot.takedown_queries.page(caller, status=status, group=group)
        await interaction.response.send_message(
            list_text(listing),
            view=Pager(self.bot, caller.user_id, status, group, listing.page, listing.pages),
            ephemeral=True,
        )

    @takedown.command(name="export", description="CSV of what /takedown list shows")
    async def export(self, interaction: Interaction, status: TakedownStatus | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        data, count = await self.bot.takedown_queries.export(caller_of(interaction), status=status)
        await interaction.followup.send(
            f"{count} takedown(s).", file=discord.File(io.BytesIO(data), filename="takedowns.csv"), ephemeral=True
        )

    @takedown.command(name="review", description="Decide a takedown (reviewers)")
    @app_commands.choices(
        decision=[
            app_commands.Choice(name=d, value=d) for d in ("removed", "rejected", "needs_info", "upheld", "reinstated")
        ]
    )
    async def review(
        self, interaction: Interaction, id: str, decision: str, note: app_commands.Range[str, 1, 1000] | None = None
    ) -> None:
        takedown = await self.bot.takedowns.review(caller_of(interaction), parse_takedown_id(id), decision, note)
        self.bot.delivery.kick()
        await reply(interaction, state_text(takedown))

    review.autocomplete("id")(id_autocomplete)

    @takedown.command(name="respond", description="Answer about your takedown: provide info, withdraw, or uphold")
    @app_commands.choices(action=[app_commands.Choice(name=a, value=a) for a in ("provide_info", "withdraw", "uphold")])
    async def respond(
        self,
        interaction: Interaction,
        id: str,
        action: str,
        note: app_commands.Range[str, 1, 1000] | None = None,
        evidence: discord.Attachment | None = None,
    ) -> None:
        takedown = await self.bot.takedowns.respond(
            caller_of(interaction), parse_takedown_id(id), action, note, await evidence_of(evidence)
        )
        self.bot.delivery.kick()
        await reply(interaction, state_text(takedown))

    respond.autocomplete("id")(id_autocomplete)

    @takedown.command(name="counter", description="Record a seller's counter-notice on a removed listing (reviewers)")
    async def counter(
        self, interaction: Interaction, id: str, note: app_commands.Range[str, 1, 1000] | None = None
    ) -> None:
        takedown = await self.bot.takedowns.counter_notice(caller_of(interaction), parse_takedown_id(id), note)
        self.bot.delivery.kick()
        assert takedown.counter_deadline is not None
        await reply(
            interaction,
            f"Counter-notice recorded on {takedown_id(takedown.id)}; the filer must answer by "
            f"{when(takedown.counter_deadline)}.",
        )

    counter.autocomplete("id")(id_autocomplete)

    @takedown.command(name="sla", description="Share decided within 24 business hours; what is open and at risk")
    @app_commands.autocomplete(group=group_autocomplete)
    async def sla(self, interaction: Interaction, group: str | None = None) -> None:
        view = await self.bot.takedown_queries.sla(caller_of(interaction), group=group)
        await reply(
            interaction,
            render(
                "takedown_sla.md.j2",
                windows=view.windows,
                open=view.open,
                at_risk=view.at_risk,
                overdue=view.overdue,
                at_risk_ids=[takedown_id(t.id) for t in view.at_risk],
                overdue_ids=[takedown_id(t.id) for t in view.overdue],
                group_name=view.group_name,
            ),
        )


def _home(interaction: Interaction) -> int | None:
    return home_channel_id(interaction.channel)


async def setup(bot: AllianceBot) -> None:
    await bot.add_cog(TakedownCog(bot))
