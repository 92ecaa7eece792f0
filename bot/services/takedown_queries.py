"""Reading takedowns: status, check, list, export, SLA figures and good-faith standing.

Members see their own organisation's requests; reviewers and admins see all. A request someone
may not see is reported as not found, so ids cannot be probed.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import NotFound
from bot.permissions import Caller, Standing, require_admin, require_member
from bot.rendering import code
from bot.services import audit
from bot.services.access import find_group, load_standing
from bot.services.business_time import BusinessCalendar
from bot.services.listings import Listing, canonicalise
from bot.services.takedown_csv import write_csv
from bot.services.takedowns import seller_flags, takedown_id, visible_to
from bot.services.tlp import Viewer, visible_condition
from db.engine import SessionFactory
from db.models import (
    AuditEntry,
    CounterState,
    IntelIndicator,
    IntelReport,
    Organisation,
    Takedown,
    TakedownStatus,
)

PAGE_SIZE = 10
EXPORT_LIMIT = 50_000
SHOWN_ON_LISTING = 10  # requests on a listing listed by /takedown check and status; the rest counted
SELLERS_ON_LISTING = 20  # sellers of a listing whose flags are looked up
GOOD_FAITH_REMOVED_MIN = 0.90
GOOD_FAITH_REINSTATED_MAX = 0.05
STANDING_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class StatusView:
    takedown: Takedown
    history: list[AuditEntry]
    linked: list[Takedown]  # the newest other requests on the same listing that the viewer may see
    more_linked: int  # other requests the viewer may see beyond `linked`
    hidden_linked: int  # other organisations' requests the viewer may not see
    flags: tuple[str, ...]
    on_time: bool | None  # None: not decided and not yet due
    intel: list[int]  # intel reports the viewer may see that name this listing


@dataclass(frozen=True)
class CheckView:
    listing: Listing
    requests: list[Takedown]  # newest first, at most SHOWN_ON_LISTING
    more: int  # requests the viewer may see beyond `requests`
    hidden: int
    flags: dict[str, tuple[str, ...]]
    intel: list[int]


@dataclass(frozen=True)
class Page:
    items: list[Takedown]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class SlaWindow:
    days: int
    decided: int
    on_time: int
    median_hours: float | None

    @property
    def share(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


@dataclass(frozen=True)
class SlaView:
    windows: tuple[SlaWindow, ...]
    open: int
    at_risk: list[Takedown]
    overdue: list[Takedown]
    group_name: str | None


@dataclass(frozen=True)
class GoodFaith:
    decided: int
    removed_share: float | None
    reinstated_share: float | None

    @property
    def in_good_standing(self) -> bool:
        removed_ok = self.removed_share is None or self.removed_share >= GOOD_FAITH_REMOVED_MIN
        reinstated_ok = self.reinstated_share is None or self.reinstated_share <= GOOD_FAITH_REINSTATED_MAX
        return removed_ok and reinstated_ok


class TakedownQueries:
    def __init__(self, sessions: SessionFactory, clock: Clock, calendar: BusinessCalendar) -> None:
        self._sessions = sessions
        self._clock = clock
        self._calendar = calendar

    async def status(self, caller: Caller, number: int) -> StatusView:
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            takedown = await session.scalar(select(Takedown).where(Takedown.id == number, visible_to(standing)))
            if takedown is None:
                raise NotFound(f"No takedown {takedown_id(number)} that you can see.")
            history = await audit.entries_for(session, f"takedown:{number}")
            on_listing = await _on_listing(session, standing, takedown.listing_key, besides=takedown.id)
            flags = (await seller_flags(session, [takedown.seller_key])).get(takedown.seller_key or "", ())
            intel = await _intel_on(session, standing, takedown.listing_key)
            return StatusView(
                takedown,
                history,
                on_listing.visible,
                on_listing.more_visible,
                on_listing.hidden_organisations,
                flags,
                self._on_time(takedown),
                intel,
            )

    def _on_time(self, takedown: Takedown) -> bool | None:
        if takedown.decided_at is not None:
            return takedown.decided_at <= takedown.due_at
        if takedown.status in (TakedownStatus.submitted, TakedownStatus.needs_info):
            return None if self._clock() < takedown.due_at else False
        return None

    async def check(self, caller: Caller, url: str) -> CheckView:
        listing = canonicalise(url)
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            if not (standing.is_reviewer or standing.is_admin):
                require_member(standing)
            on_listing = await _on_listing(session, standing, listing.key)
            sellers = [*on_listing.sellers, listing.seller]
            intel = await _intel_on(session, standing, listing.key)
            return CheckView(
                listing,
                on_listing.visible[::-1],
                on_listing.more_visible,
                on_listing.hidden_organisations,
                await seller_flags(session, sellers),
                intel,
            )

    async def page(
        self, caller: Caller, *, status: TakedownStatus | None = None, group: str | None = None, page: int = 1
    ) -> Page:
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            query = await self._scoped(session, standing, status, group)
            total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
            pages = max(1, -(-total // PAGE_SIZE))
            page = min(max(page, 1), pages)
            items = list(
                await session.scalars(
                    query.order_by(Takedown.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
                )
            )
            return Page(items, page, pages, total)

    async def export(self, caller: Caller, *, status: TakedownStatus | None = None) -> tuple[bytes, int]:
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            query = await self._scoped(session, standing, status, None)
            rows = list(await session.scalars(query.order_by(Takedown.id).limit(EXPORT_LIMIT)))
        data = write_csv(
            (
                "id",
                "status",
                "counter_notice",
                "organisation",
                "group",
                "listing_key",
                "listing_url",
                "reason",
                "right",
                "seller",
                "filed_at",
                "due_at",
                "decided_at",
                "on_time",
                "note",
            ),
            (
                (
                    takedown_id(t.id),
                    t.status.value,
                    t.counter_state.value if t.counter_state else "",
                    t.organisation.name,
                    t.working_group.name if t.working_group else "",
                    t.listing_key,
                    t.listing_url,
                    t.reason.value,
                    f"{t.right.kind.value} {t.right.number} ({t.right.jurisdiction})",
                    t.seller_text or t.seller_key or "",
                    _iso(t.filed_at),
                    _iso(t.due_at),
                    _iso(t.decided_at),
                    {True: "yes", False: "no", None: ""}[self._on_time(t)],
                    t.note,
                )
                for t in rows
            ),
        )
        return data, len(rows)

    async def _scoped(
        self, session: AsyncSession, standing: Standing, status: TakedownStatus | None, group: str | None
    ) -> Select[Any]:
        if not (standing.is_reviewer or standing.is_admin):
            require_member(standing)
        query = select(Takedown).where(visible_to(standing))
        if status is not None:
            query = query.where(Takedown.status == status)
        if group:
            query = query.where(Takedown.working_group_id == (await find_group(session, group)).id)
        return query

    async def sla(self, caller: Caller, *, group: str | None = None) -> SlaView:
        """The alliance's promise in figures: share decided within 24 business hours."""
        now = self._clock()
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            if not (standing.is_reviewer or standing.is_admin):
                require_member(standing)
            group_row = None
            conditions: list[Any] = []
            if group:
                group_row = await find_group(session, group)
                conditions.append(Takedown.working_group_id == group_row.id)
            windows = []
            for days in (7, 30):
                decided = list(
                    await session.execute(
                        select(Takedown.filed_at, Takedown.decided_at, Takedown.due_at, Takedown.id).where(
                            Takedown.decided_at >= now - timedelta(days=days), *conditions
                        )
                    )
                )
                pauses = await _pauses(session, [row.id for row in decided])
                hours = [
                    self._calendar.elapsed(row.filed_at, row.decided_at, pauses.get(row.id, ())).total_seconds() / 3600
                    for row in decided
                ]
                windows.append(
                    SlaWindow(
                        days=days,
                        decided=len(decided),
                        on_time=sum(1 for row in decided if row.decided_at <= row.due_at),
                        median_hours=statistics.median(hours) if hours else None,
                    )
                )
            open_query = select(Takedown).where(Takedown.status == TakedownStatus.submitted, *conditions)
            open_count = int(await session.scalar(select(func.count()).select_from(open_query.subquery())) or 0)
            at_risk = list(
                await session.scalars(
                    open_query.where(Takedown.at_risk_at <= now, Takedown.due_at > now)
                    .order_by(Takedown.due_at)
                    .limit(25)
                )
            )
            overdue = list(
                await session.scalars(open_query.where(Takedown.due_at <= now).order_by(Takedown.due_at).limit(25))
            )
            return SlaView(tuple(windows), open_count, at_risk, overdue, group_row.name if group_row else None)

    async def good_faith(self, organisation_id: int) -> GoodFaith:
        """An organisation's standing over 90 days (IPP Good-Faith programme thresholds)."""
        return (await self._good_faith([organisation_id]))[organisation_id]

    async def _good_faith(self, organisation_ids: list[int]) -> dict[int, GoodFaith]:
        """Standing of many organisations in one grouped query."""
        since = self._clock() - STANDING_WINDOW
        removed = Takedown.status.in_((TakedownStatus.removed, TakedownStatus.reinstated))
        decided = removed | (Takedown.status == TakedownStatus.rejected)
        async with self._sessions() as session:
            rows = await session.execute(
                select(
                    Takedown.organisation_id,
                    func.count().filter(decided),
                    func.count().filter(removed),
                    func.count().filter(removed, Takedown.counter_state == CounterState.reinstated),
                )
                .where(Takedown.organisation_id.in_(organisation_ids), Takedown.decided_at >= since)
                .group_by(Takedown.organisation_id)
            )
            counts = {org: (d, r, back) for org, d, r, back in rows.all()}
        result = {}
        for org in organisation_ids:
            n_decided, n_removed, n_back = counts.get(org, (0, 0, 0))
            result[org] = GoodFaith(
                decided=n_decided,
                removed_share=n_removed / n_decided if n_decided else None,
                reinstated_share=n_back / n_removed if n_removed else None,
            )
        return result

    async def standings(self, caller: Caller, *, organisation: str | None = None) -> list[tuple[str, GoodFaith]]:
        """Admins' view of every organisation's standing (or one's), weakest first."""
        async with self._sessions() as session:
            require_admin(await load_standing(session, caller))
            query = select(Organisation).order_by(Organisation.name)
            if organisation:
                query = query.where(Organisation.name_key == " ".join(organisation.split()).casefold())
            orgs = list(await session.scalars(query))
        if organisation and not orgs:
            raise NotFound(f"There is no member organisation called {code(organisation, 80)}.")
        figures = await self._good_faith([org.id for org in orgs])
        rows = [(org.name, figures[org.id]) for org in orgs]
        return sorted(rows, key=lambda row: (row[1].in_good_standing, row[1].removed_share or 1.0))

    async def suggest(self, caller: Caller, text: str) -> list[Takedown]:
        """Autocomplete: the caller's visible requests whose id or listing matches `text`."""
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            if standing.organisation is None and not (standing.is_reviewer or standing.is_admin):
                return []
            query = select(Takedown).where(visible_to(standing))
            digits = "".join(ch for ch in text if ch.isdigit())
            if digits:
                query = query.where(func.cast(Takedown.id, _text_type()).like(f"%{int(digits)}%"))
            elif text.strip():
                query = query.where(Takedown.listing_key.like(f"%{text.strip().lower()}%"))
            return list(await session.scalars(query.order_by(Takedown.id.desc()).limit(25)))

    async def organisation_of(self, caller: Caller) -> Organisation | None:
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            return await session.get(Organisation, standing.organisation.id) if standing.organisation else None


async def _intel_on(session: AsyncSession, standing: Standing, listing_key: str) -> list[int]:
    """Intel reports naming this listing that the viewer may see: takedowns and intel link both ways."""
    return list(
        await session.scalars(
            select(IntelReport.id)
            .join(IntelIndicator, IntelIndicator.report_id == IntelReport.id)
            .where(
                IntelIndicator.type == "listing",
                IntelIndicator.value == listing_key,
                visible_condition(Viewer.of(standing)),
            )
            .order_by(IntelIndicator.report_id)  # the index's order: stops at the 20th visible report
            .limit(20)
        )
    )


@dataclass(frozen=True)
class OnListing:
    visible: list[Takedown]  # the newest SHOWN_ON_LISTING the viewer may see, oldest first
    more_visible: int  # requests the viewer may see beyond those
    hidden_organisations: int
    sellers: list[str]  # up to SELLERS_ON_LISTING, whoever filed against them


async def _on_listing(session: AsyncSession, standing: Standing, key: str, besides: int | None = None) -> OnListing:
    """The requests on a listing: the newest few `standing` may see as full rows, the rest only
    counted. A popular listing has thousands of requests (2,974 at full bench scale): reading
    each to count them cost /takedown check 5-10 ms of SQL, and a reviewer got every one of them
    listed, dozens of messages. The counts come from ix_takedown_listing_status alone."""
    on_key = [Takedown.listing_key == key] + ([Takedown.id != besides] if besides is not None else [])
    mine = visible_to(standing)
    seen, hidden = (
        await session.execute(
            select(
                func.count(case((mine, 1))),
                func.count(distinct(case((~mine, Takedown.organisation_id)))),
            ).where(*on_key)
        )
    ).one()
    visible: list[Takedown] = []
    if seen:
        newest = select(Takedown).where(*on_key, mine).order_by(Takedown.id.desc()).limit(SHOWN_ON_LISTING)
        visible = list(await session.scalars(newest))[::-1]
    sellers = await session.scalars(
        select(Takedown.seller_key)
        .distinct()
        .where(*on_key, Takedown.seller_key.is_not(None))
        .order_by(Takedown.seller_key)
        .limit(SELLERS_ON_LISTING)
    )
    return OnListing(visible, int(seen) - len(visible), int(hidden), [seller for seller in sellers if seller])


async def _pauses(session: AsyncSession, ids: list[int]) -> dict[int, list[tuple[datetime, datetime | None]]]:
    from db.models import TakedownPause

    if not ids:
        return {}
    result: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for chunk in range(0, len(ids), 900):
        rows = await session.execute(
            select(TakedownPause.takedown_id, TakedownPause.started_at, TakedownPause.ended_at).where(
                TakedownPause.takedown_id.in_(ids[chunk : chunk + 900])
            )
        )
        for takedown, started, ended in rows.all():
            result.setdefault(takedown, []).append((started, ended))
    return result


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


def _text_type() -> Any:
    from sqlalchemy import String

    return String
