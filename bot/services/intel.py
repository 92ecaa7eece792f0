"""Intel reports: sharing under TLP 2.0, indicators, sightings, watches, edits and retraction.

Correlation (which reports link into networks) lives in `bot.services.networks`; who may see
what lives in `bot.services.tlp`. Every state change is one transaction with its audit entry and
the notices it causes (report card, RED deliveries, watch notices, cross-group notices).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.ids import format_id, parse_id
from bot.permissions import Caller, Standing, require_admin, require_lead, require_member
from bot.rendering import render
from bot.services import audit, outbox
from bot.services.access import find_group, group_ref, load_standing
from bot.services.indicators import Extraction, Indicator, extract, parse_lookup
from bot.services.intel_export import export_csv, export_stix
from bot.services.listings import Listing, canonicalise
from bot.services.networks import NETWORK_LIMIT, Correlator, Link, Network
from bot.services.text import plain_text
from bot.services.tlp import EXPORTABLE, SHAREABLE_BEYOND_AUDIENCE, Viewer, can_see, visible_condition
from db.engine import SessionFactory
from db.models import (
    AuditEntry,
    ChatReply,
    IntelIndicator,
    IntelRecipient,
    IntelReport,
    IntelSighting,
    IntelWatch,
    Organisation,
    Takedown,
    Tlp,
    WarninglistEntry,
    WorkingGroup,
)

TITLE_MAX = 200
BODY_MAX = 4000
MAX_RECIPIENTS = 5
EXPORT_LIMIT = 20_000


def report_id(number: int) -> str:
    return format_id("IN", number)


def parse_report_id(text: str) -> int:
    return parse_id("IN", text)


@dataclass(frozen=True)
class Shared:
    report: IntelReport
    extraction: Extraction
    links: list[Link]  # visible linked reports
    common: list[Indicator]  # values too widespread to link
    warned: list[Indicator]  # values on the warninglist
    foreign_match: bool  # matches AMBER intel of another group the author cannot see


@dataclass(frozen=True)
class ReportView:
    report: IntelReport
    sightings: int
    links: list[Link]
    common: set[tuple[str, str]] = field(default_factory=set)


class IntelService:
    def __init__(
        self, sessions: SessionFactory, clock: Clock, correlator: Correlator, *, default_region: str = "CN"
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.correlator = correlator
        self._region = default_region

    # --------------------------------------------------------------- share

    async def share(
        self,
        caller: Caller,
        *,
        tlp: Tlp,
        title: str,
        body: str,
        indicator_lines: str = "",
        group: str | None = None,
        recipients: Sequence[int] = (),
        channel_id: int | None = None,
    ) -> Shared:
        title, body, extraction = read_report_form(title, body, indicator_lines, self._region)
        wanted = sorted(set(recipients) - {caller.user_id})
        if tlp == Tlp.RED and not 1 <= len(wanted) <= MAX_RECIPIENTS:
            raise InvalidInput("A TLP:RED report needs one to five recipients other than you.")
        if tlp != Tlp.RED and wanted:
            raise InvalidInput("Recipients are only for TLP:RED; other levels go to their audience.")
        async with self._sessions.begin() as session:
            standing = await load_standing(session, caller)
            org_ref = require_member(standing)
            home = await self._group(session, standing, group, channel_id, org_ref.id)
            now = self._clock()
            report = IntelReport(
                author_id=caller.user_id,
                organisation_id=org_ref.id,
                working_group_id=home.id,
                guild_id=caller.guild_id,
                tlp=tlp,
                title=title,
                body=body,
                unrecognised=list(extraction.unrecognised),
                created_at=now,
                updated_at=now,
                indicators=[
                    IntelIndicator(type=i.type, value=i.value, display=i.display) for i in extraction.indicators
                ],
                recipients=[IntelRecipient(user_id=user) for user in wanted],
            )
            session.add(report)
            await session.flush()
            await session.refresh(report, ["organisation", "working_group"])
            viewer = Viewer.of(standing)
            correlation = await self.correlator.links(session, report, viewer)
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action="intel.shared",
                subject=f"intel:{report.id}",
                tlp=tlp.value,
                group=home.slug,
                indicators=len(extraction.indicators),
                recipients=wanted,
                links=len(correlation.visible),
            )
            await self._deliver(session, report, home, now)
            foreign = tlp in SHAREABLE_BEYOND_AUDIENCE and bool(correlation.foreign_groups)
            if foreign:
                await self._cross_group_notices(session, report, home, correlation.foreign_groups, now)
            await self._watch_notices(session, report, now)
            return Shared(report, extraction, correlation.visible, correlation.common, correlation.warned, foreign)

    async def _group(
        self, session: AsyncSession, standing: Standing, slug: str | None, channel_id: int | None, org_id: int
    ) -> WorkingGroup:
        group = None
        if slug:
            group = await find_group(session, slug)
        elif channel_id is not None:
            group = await session.scalar(select(WorkingGroup).where(WorkingGroup.channel_id == channel_id))
        if group is None:
            org = await session.get(Organisation, org_id)
            group = org.working_group if org else None
        if group is None:
            raise InvalidInput("Choose the working group to share with (the `group` option).")
        if group.archived:
            raise Conflict(f"{group.name} is archived.")
        if not (standing.in_group(group.id) or standing.is_admin):
            raise PermissionDenied(f"You can share only with your own working groups; you are not in {group.name}.")
        return group

    async def _deliver(self, session: AsyncSession, report: IntelReport, group: WorkingGroup, now: datetime) -> None:
        """A card in the group's channel, or, for RED, a DM to each named recipient."""
        content = render("intel_card.md.j2", r=report, rid=report_id(report.id), group=group.name)
        if report.tlp == Tlp.RED:
            for recipient in report.recipients:
                await outbox.enqueue(
                    session,
                    dedupe_key=f"intel:{report.id}:red:{recipient.user_id}",
                    user_id=recipient.user_id,
                    content=content,
                    now=now,
                )
            return
        if group.channel_id is None:
            return
        await outbox.enqueue(
            session,
            dedupe_key=f"intel:{report.id}:card",
            channel_id=group.channel_id,
            content=content,
            view={"kind": "intel_card", "report_id": report.id},
            subject=f"intel:{report.id}",
            now=now,
        )

    async def _cross_group_notices(
        self, session: AsyncSession, report: IntelReport, home: WorkingGroup, groups: set[int], now: datetime
    ) -> None:
        """Tell the other groups' leads that their AMBER intel matches a new report, naming only
        the new report's group; admins can then introduce the two."""
        for group in await session.scalars(select(WorkingGroup).where(WorkingGroup.id.in_(groups))):
            if group.channel_id is None or group.archived:
                continue
            await outbox.enqueue(
                session,
                dedupe_key=f"intel:{report.id}:match:{group.id}",
                channel_id=group.channel_id,
                ping_role_id=group.lead_role_id,
                content=render("intel_cross_group.md.j2", lead_role=group.lead_role_id, other=home.name),
                now=now,
            )
        audit.record(
            session,
            at=now,
            actor_id=None,
            action="intel.cross_group_match",
            subject=f"intel:{report.id}",
            groups=sorted(groups),
        )

    async def _watch_notices(self, session: AsyncSession, report: IntelReport, now: datetime) -> None:
        """DM watchers of any of the report's values; whether they may see it is checked at
        delivery, with their roles at that moment (see the `intel_watch` view kind)."""
        values = [(i.type, i.value) for i in report.indicators]
        if not values:
            return
        watches = await session.scalars(
            select(IntelWatch).where(
                tuple_(IntelWatch.type, IntelWatch.value).in_(values), IntelWatch.user_id != report.author_id
            )
        )
        for watch in watches:
            await outbox.enqueue(
                session,
                dedupe_key=f"intel:{report.id}:watch:{watch.user_id}",
                user_id=watch.user_id,
                content=render("intel_watch.md.j2", r=report, rid=report_id(report.id), watch=watch),
                view={"kind": "intel_watch", "report_id": report.id},
                now=now,
            )

    # ---------------------------------------------------------------- read

    async def viewer(self, caller: Caller) -> Viewer:
        async with self._sessions() as session:
            return Viewer.of(await load_standing(session, caller))

    async def may_see(self, caller: Caller, number: int) -> bool:
        async with self._sessions() as session:
            viewer = Viewer.of(await load_standing(session, caller))
            report = await session.get(IntelReport, number)
            return report is not None and can_see(viewer, report)

    async def show(self, caller: Caller, number: int) -> ReportView:
        async with self._sessions() as session:
            viewer = Viewer.of(await load_standing(session, caller))
            report = await self._visible(session, viewer, number)
            sightings = await session.scalar(
                select(func.count()).select_from(IntelSighting).where(IntelSighting.report_id == report.id)
            )
            correlation = await self.correlator.links(session, report, viewer)
            return ReportView(
                report, int(sightings or 0), correlation.visible, {(i.type, i.value) for i in correlation.common}
            )

    async def _visible(self, session: AsyncSession, viewer: Viewer, number: int) -> IntelReport:
        report = await session.scalar(select(IntelReport).where(IntelReport.id == number, visible_condition(viewer)))
        if report is None:
            raise NotFound(f"No intel report {report_id(number)} that you can see.")
        return report

    async def network(self, caller: Caller, text: str) -> Network:
        """The network around a report (`IN-…` or a number) or around every report with a value."""
        async with self._sessions() as session:
            viewer = Viewer.of(await load_standing(session, caller))
            if re.fullmatch(r"\s*(?:IN-?)?\d{1,12}\s*", text, re.IGNORECASE):
                number = parse_report_id(text)
                start = [number]
                missing = f"No intel report {report_id(number)} that you can see."
            else:
                indicator = parse_lookup(text, default_region=self._region)
                start = list(  # a common value is in thousands of reports: one more than a network holds is enough
                    await session.scalars(
                        select(IntelReport.id)
                        .join(IntelIndicator, IntelIndicator.report_id == IntelReport.id)
                        .where(
                            IntelIndicator.type == indicator.type,
                            IntelIndicator.value == indicator.value,
                            visible_condition(viewer),
                        )
                        .order_by(IntelIndicator.report_id)  # the index's order: no sort, stops early
                        .limit(NETWORK_LIMIT + 1)
                    )
                )
                missing = f"No intel you can see contains {indicator.type} {indicator.display}."
            walk = await self.correlator.walk(session, viewer, start)  # only the reports the caller may see
            if not walk.ids:
                raise NotFound(missing)
            return await self.correlator.describe(session, viewer, walk)

    async def search(self, caller: Caller, query: str, limit: int = 20) -> list[IntelReport]:
        """Full text over title and body, plus exact indicator lookup; only visible reports."""
        text = " ".join(query.split())
        if len(text) < 2 or len(text) > 200:
            raise InvalidInput("Search for 2 to 200 characters.")
        async with self._sessions() as session:
            viewer = Viewer.of(await load_standing(session, caller))
            matches = []
            try:
                lookup: Indicator | None = parse_lookup(text, default_region=self._region)
            except InvalidInput:
                lookup = None
            if lookup is not None:  # a subquery: a popular value is in thousands of reports
                matches.append(
                    IntelReport.id.in_(
                        select(IntelIndicator.report_id).where(
                            IntelIndicator.type == lookup.type, IntelIndicator.value == lookup.value
                        )
                    )
                )
            found = await full_text_ids(session, text, limit * 5)
            if found:
                matches.append(IntelReport.id.in_(found))
            if not matches:
                return []
            reports = await session.scalars(
                select(IntelReport)
                .where(or_(*matches), visible_condition(viewer))
                .order_by(IntelReport.created_at.desc())
                .limit(limit)
            )
            return list(reports)

    async def export(self, caller: Caller, fmt: str, group: str | None = None) -> tuple[bytes, int]:
        """What the caller may see at CLEAR, GREEN or AMBER (never AMBER+STRICT or RED), as a
        STIX 2.1 bundle or a CSV. Returns the file and how many reports are in it."""
        if fmt not in ("stix", "csv"):
            raise InvalidInput("The format must be stix or csv.")
        async with self._sessions.begin() as session:
            standing = await load_standing(session, caller)
            if not (standing.is_reviewer or standing.is_admin):
                require_member(standing)
            query = select(IntelReport).where(visible_condition(Viewer.of(standing)), IntelReport.tlp.in_(EXPORTABLE))
            if group:
                query = query.where(IntelReport.working_group_id == (await find_group(session, group)).id)
            reports = list(await session.scalars(query.order_by(IntelReport.id).limit(EXPORT_LIMIT)))
            audit.record(
                session,
                at=self._clock(),
                actor_id=caller.user_id,
                action="intel.exported",
                subject=f"user:{caller.user_id}",
                format=fmt,
                group=group,
                reports=len(reports),
            )
        data = export_stix(reports) if fmt == "stix" else export_csv(reports)
        return data, len(reports)

    async def suggest(self, caller: Caller, text: str) -> list[IntelReport]:
        async with self._sessions() as session:
            viewer = Viewer.of(await load_standing(session, caller))
            query = select(IntelReport).where(visible_condition(viewer))
            digits = "".join(ch for ch in text if ch.isdigit())
            if digits:
                query = query.where(IntelReport.id == int(digits[:12]))
            elif text.strip():
                query = query.where(func.lower(IntelReport.title).like(f"%{text.strip().lower()}%"))
            return list(await session.scalars(query.order_by(IntelReport.id.desc()).limit(25)))

    # ----------------------------------------------------------- sightings

    async def sighting(self, caller: Caller, number: int, note: str | None) -> int:
        """'Seen it too'. Returns how many members have seen it. One per member per report."""
        note_text = _text(note or "", "note", 1000, required=False)
        try:
            async with self._sessions.begin() as session:
                standing = await load_standing(session, caller)
                org = require_member(standing)
                report = await self._visible(session, Viewer.of(standing), number)
                if report.author_id == caller.user_id:
                    raise Conflict("This is your own report; sightings are for other members who saw the same.")
                now = self._clock()
                session.add(
                    IntelSighting(
                        report_id=report.id, user_id=caller.user_id, organisation_id=org.id, note=note_text, at=now
                    )
                )
                await session.flush()
                audit.record(
                    session,
                    at=now,
                    actor_id=caller.user_id,
                    action="intel.sighting",
                    subject=f"intel:{report.id}",
                    note=note_text,
                )
                return int(await session.scalar(select(func.count()).where(IntelSighting.report_id == report.id)) or 0)
        except IntegrityError:
            raise Conflict(f"You already reported a sighting of {report_id(number)}.") from None

    # -------------------------------------------------------------- watches

    async def watch(self, caller: Caller, value: str) -> IntelWatch:
        indicator = parse_lookup(value, default_region=self._region)
        try:
            async with self._sessions.begin() as session:
                require_member(await load_standing(session, caller))
                watch = IntelWatch(
                    user_id=caller.user_id,
                    type=indicator.type,
                    value=indicator.value,
                    display=indicator.display,
                    created_at=self._clock(),
                )
                session.add(watch)
                await session.flush()
                return watch
        except IntegrityError:
            raise Conflict(f"You already watch {indicator.type} {indicator.display}.") from None

    async def unwatch(self, caller: Caller, value: str) -> str:
        indicator = parse_lookup(value, default_region=self._region)
        async with self._sessions.begin() as session:
            result = await session.execute(
                delete(IntelWatch).where(
                    IntelWatch.user_id == caller.user_id,
                    IntelWatch.type == indicator.type,
                    IntelWatch.value == indicator.value,
                )
            )
            if not getattr(result, "rowcount", 0):
                raise NotFound(f"You do not watch {indicator.type} {indicator.display}.")
            return f"{indicator.type} {indicator.display}"

    async def watches(self, caller: Caller) -> list[IntelWatch]:
        async with self._sessions() as session:
            return list(
                await session.scalars(
                    select(IntelWatch).where(IntelWatch.user_id == caller.user_id).order_by(IntelWatch.id)
                )
            )

    # --------------------------------------------------------- warninglist

    async def warn(self, caller: Caller, value: str, note: str | None) -> WarninglistEntry:
        indicator = parse_lookup(value, default_region=self._region)
        try:
            async with self._sessions.begin() as session:
                require_admin(await load_standing(session, caller))
                now = self._clock()
                entry = WarninglistEntry(
                    type=indicator.type,
                    value=indicator.value,
                    display=indicator.display,
                    note=plain_text(note or "")[:500],
                    added_by=caller.user_id,
                    added_at=now,
                )
                session.add(entry)
                await session.flush()
                audit.record(
                    session,
                    at=now,
                    actor_id=caller.user_id,
                    action="intel.warninglist_added",
                    subject=f"warninglist:{indicator.type}",
                    value=indicator.value,
                )
                return entry
        except IntegrityError:
            raise Conflict(f"{indicator.type} {indicator.display} is already on the warninglist.") from None

    async def unwarn(self, caller: Caller, value: str) -> str:
        indicator = parse_lookup(value, default_region=self._region)
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            result = await session.execute(
                delete(WarninglistEntry).where(
                    WarninglistEntry.type == indicator.type, WarninglistEntry.value == indicator.value
                )
            )
            if not getattr(result, "rowcount", 0):
                raise NotFound(f"{indicator.type} {indicator.display} is not on the warninglist.")
            audit.record(
                session,
                at=self._clock(),
                actor_id=caller.user_id,
                action="intel.warninglist_removed",
                subject=f"warninglist:{indicator.type}",
                value=indicator.value,
            )
            return f"{indicator.type} {indicator.display}"

    async def warninglist(self, caller: Caller) -> list[WarninglistEntry]:
        async with self._sessions() as session:
            require_admin(await load_standing(session, caller))
            return list(
                await session.scalars(select(WarninglistEntry).order_by(WarninglistEntry.type, WarninglistEntry.value))
            )

    # ------------------------------------------------------- edit, retract

    async def edit(self, caller: Caller, number: int, *, title: str, body: str, indicator_lines: str) -> IntelReport:
        title, body, extraction = read_report_form(title, body, indicator_lines, self._region)
        async with self._sessions.begin() as session:
            report = await self._own(session, caller, number)
            now = self._clock()
            before = {"title": report.title, "indicators": [(i.type, i.value) for i in report.indicators]}
            report.title, report.body, report.updated_at = title, body, now
            report.unrecognised = _kept(extraction.unrecognised)
            report.indicators = []  # the old rows go first: a kept value would collide with itself
            await session.flush()
            report.indicators = [
                IntelIndicator(type=i.type, value=i.value, display=i.display) for i in extraction.indicators
            ]
            await session.flush()
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action="intel.edited",
                subject=f"intel:{report.id}",
                before=before,
            )
            await self._refresh_card(session, report, now)
            return report

    async def retract(self, caller: Caller, number: int) -> IntelReport:
        async with self._sessions.begin() as session:
            report = await self._own(session, caller, number)
            now = self._clock()
            report.retracted_at = now
            audit.record(
                session, at=now, actor_id=caller.user_id, action="intel.retracted", subject=f"intel:{report.id}"
            )
            await self._refresh_card(session, report, now)
            return report

    async def current_text(self, caller: Caller, number: int) -> tuple[str, str, str]:
        """The report as its author may edit it: title, body, indicator lines."""
        async with self._sessions() as session:
            report = await self._own(session, caller, number)
            lines = [f"{i.type}: {i.display}" for i in report.indicators] + list(report.unrecognised)
            return report.title, report.body, "\n".join(lines)

    async def _own(self, session: AsyncSession, caller: Caller, number: int) -> IntelReport:
        report = await session.get(IntelReport, number)
        if report is None or report.retracted_at is not None or report.author_id != caller.user_id:
            raise NotFound(f"No live intel report {report_id(number)} of yours.")
        return report

    async def _refresh_card(self, session: AsyncSession, report: IntelReport, now: datetime) -> None:
        if report.card_message_id is None or report.card_channel_id is None:
            return
        serial = int(await session.scalar(select(func.count()).where(AuditEntry.subject == f"intel:{report.id}")) or 0)
        content = (
            f"~~{report_id(report.id)}~~ was retracted by its author."
            if report.retracted_at is not None
            else render("intel_card.md.j2", r=report, rid=report_id(report.id), group=report.working_group.name)
        )
        await outbox.enqueue(
            session,
            dedupe_key=f"intel:{report.id}:card_edit:{serial}",
            channel_id=report.card_channel_id,
            edit_message_id=report.card_message_id,
            content=content,
            view=None if report.retracted_at is not None else {"kind": "intel_card", "report_id": report.id},
            now=now,
        )

    async def record_card(self, number: int, channel_id: int, message_id: int) -> None:
        """The card is posted: remember it, and queue its discussion thread (an outbox action, so
        a Discord error when opening it is retried like any post)."""
        async with self._sessions.begin() as session:
            report = await session.get(IntelReport, number)
            if report is None:
                return
            report.card_channel_id, report.card_message_id = channel_id, message_id
            await outbox.enqueue(
                session,
                dedupe_key=f"intel:{number}:thread",
                channel_id=channel_id,
                content=report.title or report_id(number),
                view={"kind": "intel_thread", "report_id": number, "message_id": message_id},
                subject=f"intel:{number}",
                now=self._clock(),
            )

    async def record_thread(self, number: int, thread_id: int) -> None:
        async with self._sessions.begin() as session:
            report = await session.get(IntelReport, number)
            if report is not None:
                report.thread_id = thread_id


@dataclass(frozen=True)
class ChatFinding:
    key: str
    url: str
    takedowns: int
    latest_status: str | None
    network: int
    network_cut: bool  # the walk stopped at its limit: the network is larger than `network`
    report_ids: list[str]


CHAT_QUIET = timedelta(hours=1)


class ChatService:
    """What a working group's cog says when a member posts a listing link in its channel."""

    def __init__(self, sessions: SessionFactory, clock: Clock, correlator: Correlator) -> None:
        self._sessions = sessions
        self._clock = clock
        self._correlator = correlator

    async def findings(self, group_id: int, channel_id: int, text: str) -> list[ChatFinding]:
        """Known listings linked in `text` not answered in this channel within the hour; marks
        them answered.

        Only what the whole channel may see is used: intel at CLEAR, GREEN, or the group's own
        AMBER levels; takedowns as counts and a status, never whose they are."""
        listings = listings_in(text)
        if not listings:
            return []
        now = self._clock()
        unique = listings[:5]
        async with self._sessions.begin() as session:
            group = await session.get(WorkingGroup, group_id)
            if group is None or not group.chat_replies or group.archived:
                return []
            viewer = Viewer.channel_of_group(group_id)
            found = []
            for listing in unique:
                last = await session.get(ChatReply, (channel_id, listing.key))
                if last is not None and now - last.replied_at < CHAT_QUIET:
                    continue
                finding = await self._finding(session, viewer, listing)
                if finding is None:
                    continue
                if last is None:
                    session.add(ChatReply(channel_id=channel_id, listing_key=listing.key, replied_at=now))
                else:
                    last.replied_at = now
                found.append(finding)
            return found

    async def _finding(self, session: AsyncSession, viewer: Viewer, listing: Listing) -> ChatFinding | None:
        statuses = list(
            await session.scalars(
                select(Takedown.status).where(Takedown.listing_key == listing.key).order_by(Takedown.id.desc())
            )
        )
        starts = list(
            await session.scalars(
                select(IntelIndicator.report_id).where(
                    IntelIndicator.type == "listing", IntelIndicator.value == listing.key
                )
            )
        )
        walk = await self._correlator.walk(session, viewer, starts) if starts else None
        size = len(walk.ids) if walk else 0
        if not statuses and not size:
            return None
        return ChatFinding(
            key=listing.key,
            url=listing.url,
            takedowns=len(statuses),
            latest_status=statuses[0].value if statuses else None,
            network=size,
            network_cut=bool(walk and walk.truncated),
            report_ids=[report_id(number) for number in walk.ids[:10]] if walk else [],
        )

    async def set_enabled(self, caller: Caller, group: str, enabled: bool) -> WorkingGroup:
        async with self._sessions.begin() as session:
            standing = await load_standing(session, caller)
            row = await find_group(session, group, live=True)
            require_lead(standing, group_ref(row), row.lead_role_id)
            row.chat_replies = enabled
            audit.record(
                session,
                at=self._clock(),
                actor_id=caller.user_id,
                action="group.chat_replies",
                subject=f"group:{row.slug}",
                enabled=enabled,
            )
            return row


def listings_in(text: str) -> list[Listing]:
    """Marketplace listings linked in a chat message, each once, in order."""
    found: dict[str, Listing] = {}
    try:
        indicators = extract(text[:4000]).indicators
    except InvalidInput:  # a message with hundreds of links is not a question about one listing
        return []
    for indicator in indicators:
        if indicator.type == "listing" and indicator.value not in found:
            found[indicator.value] = canonicalise(indicator.display)
    return list(found.values())


async def full_text_ids(session: AsyncSession, text: str, limit: int) -> list[int]:
    """Report ids whose title or body match `text`: SQLite FTS5 (trigram) or PostgreSQL tsvector."""
    from sqlalchemy import text as sql

    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        rows = await session.execute(
            sql("SELECT id FROM intel_report WHERE search @@ websearch_to_tsquery('simple', :q) LIMIT :n"),
            {"q": text, "n": limit},
        )
        return [row[0] for row in rows]
    if len(text) < 3:  # the trigram tokenizer needs three characters
        return []
    quoted = '"' + text.replace('"', '""') + '"'
    rows = await session.execute(
        sql("SELECT rowid FROM intel_fts WHERE intel_fts MATCH :q LIMIT :n"), {"q": quoted, "n": limit}
    )
    return [row[0] for row in rows]


def _kept(lines: Sequence[str]) -> list[str]:
    """Lines not understood as indicators are kept as text, within the modal's own bounds."""
    return [line[:300] for line in lines[:50]]


def read_report_form(title: str, body: str, indicator_lines: str, region: str) -> tuple[str, str, Extraction]:
    """The Share intel (and Edit) form's three fields, checked before any database work: a
    refusal here leaves nothing to undo."""
    title, body = _text(title, "title", TITLE_MAX), _text(body, "observation", BODY_MAX)
    return title, body, extract(body, indicator_lines, default_region=region)


def _text(value: str, what: str, limit: int, *, required: bool = True) -> str:
    cleaned = plain_text(value)
    if required and not cleaned:
        raise InvalidInput(f"The {what} cannot be empty.")
    if len(cleaned) > limit:
        raise InvalidInput(f"The {what} is {len(cleaned)} characters long; at most {limit} are allowed.")
    return cleaned
