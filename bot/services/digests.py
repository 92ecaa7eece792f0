"""Weekly digests per working group and alliance-wide: figures, schedules, exactly-once runs.

A run is claimed by inserting a `DigestRun` that is unique on (scope, period end), in the same
transaction that renders the digest and puts its messages in the outbox. So a digest is either
wholly produced once or not at all; a second process, a restart or a retry finds the claim and
stops, and the outbox delivers what was produced even across crashes.

TLP in digests: group digests name CLEAR, GREEN and AMBER titles and count AMBER+STRICT; the
alliance digest names CLEAR and GREEN only; RED is never mentioned. Networks are computed only
from levels that may be named.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import Conflict, InvalidInput, NotFound
from bot.permissions import Caller, require_admin, require_lead, require_member
from bot.rendering import code, escape, render, split_message
from bot.services import audit, outbox
from bot.services.access import find_group, group_ref, load_standing
from bot.services.business_time import BusinessCalendar
from bot.services.cases import Totals, totals_of
from bot.services.charts import ChartWorker
from bot.services.intel import report_id
from bot.services.networks import Correlator
from bot.services.takedowns import seller_flags, takedown_id
from db.engine import SessionFactory
from db.models import (
    CounterState,
    DigestRun,
    DigestRunStatus,
    DigestSchedule,
    DigestSubscription,
    EnforcementCase,
    GuildSettings,
    IntelReport,
    IntelSighting,
    Organisation,
    Takedown,
    TakedownStatus,
    Tlp,
    WorkingGroup,
)

ALLIANCE = "alliance"
DEFAULT_CRON = "0 9 * * 1"  # Mondays 09:00
TITLE_LIMIT = 50  # titles named per level before "…and N more" (the count is always complete)
HISTORY_PERIODS = 8


def group_scope(slug: str) -> str:
    return f"group:{slug}"


def parse_cron(expression: str, timezone: str) -> CronTrigger:
    """A 5-field cron expression in `timezone`, or `InvalidInput` saying what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        raise InvalidInput(
            f"A schedule needs 5 fields (minute hour day month weekday), not {len(fields)}; e.g. `0 9 * * 1`."
        )
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory or over-long name
        raise InvalidInput(f"{code(timezone, 64)} is not an IANA time zone (for example Asia/Shanghai).") from None
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday), timezone=zone
        )
    except ValueError as error:
        raise InvalidInput(f"{code(expression)} is not a valid schedule: {escape(str(error)[:120])}.") from None


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekdays(field: str) -> str:
    """Cron's weekday field (0 or 7 = Sunday, 1 = Monday, names allowed) as APScheduler names.

    APScheduler 3 numbers weekdays from Monday = 0, so `from_crontab("0 9 * * 1")` would fire
    on Tuesdays; expanding to explicit names keeps cron's meaning."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for token in field.lower().split(","):
        span, _, step_text = token.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step in weekday field `{token}`")
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = _day_number(low)
            last = _day_number(high) if high else (6 if step else first)
        if first > last:
            raise ValueError(f"weekday range `{span}` runs backwards")
        days.update(range(first, last + 1, step or 1))
    return ",".join(_DAY_NAMES[day % 7] for day in sorted({day % 7 for day in days}))


def _day_number(text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text)
    if text[:3] in _DAY_NAMES:
        return _DAY_NAMES.index(text[:3])
    raise ValueError(f"`{text}` is not a weekday (0-7 or sun-sat)")


def fires_between(trigger: CronTrigger, start: datetime, end: datetime, limit: int = 10_000) -> list[datetime]:
    """Fire times in (start, end], in order."""
    times: list[datetime] = []
    moment = trigger.get_next_fire_time(None, start + timedelta(microseconds=1))
    while moment is not None and moment <= end and len(times) < limit:
        times.append(moment)
        moment = trigger.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return times


def last_fire(trigger: CronTrigger, at: datetime) -> datetime | None:
    """The latest fire time at or before `at` (looking back at most a year)."""
    span = timedelta(hours=1)
    while span <= timedelta(days=400):
        found = fires_between(trigger, at - span, at, limit=100_000)
        if found:
            return found[-1]
        span *= 4
    return None


@dataclass(frozen=True)
class Schedule:
    scope: str
    cron: str
    timezone: str
    name: str  # "the alliance" or the group's name
    channel_id: int | None
    group_id: int | None

    @property
    def trigger(self) -> CronTrigger:
        return parse_cron(self.cron, self.timezone)


@dataclass
class Figures:
    """One digest's figures. Group digests fill one group's; the alliance digest sums them."""

    name: str
    start: datetime
    end: datetime
    intel_counts: Counter[str] = field(default_factory=Counter)  # by TLP level (RED excluded)
    titles: list[tuple[str, str, str]] = field(default_factory=list)  # (IN id, level, title)
    networks: list[tuple[int, int]] = field(default_factory=list)  # (size, new reports this period)
    sightings: int = 0
    filed: int = 0
    removed: int = 0
    rejected: int = 0
    needs_info: int = 0
    open: int = 0
    decided: int = 0
    on_time: int = 0
    median_hours: float | None = None
    overdue: list[str] = field(default_factory=list)
    counters_filed: int = 0
    counters_upheld: int = 0
    counters_reinstated: int = 0
    flagged: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    cases: Totals = field(default_factory=lambda: Totals(0, 0, 0, {}))
    new_orgs: list[str] = field(default_factory=list)
    groups: list[Figures] = field(default_factory=list)  # alliance digest: one row per group

    @property
    def sla_share(self) -> float | None:
        return self.on_time / self.decided if self.decided else None

    @property
    def empty(self) -> bool:
        return not (
            sum(self.intel_counts.values())
            or self.sightings
            or self.filed
            or self.decided
            or self.open
            or self.counters_filed
            or self.cases.cases
            or self.new_orgs
        )


@dataclass(frozen=True)
class Rendered:
    parts: list[str]
    chart: bytes | None = None


def render_text(schedule: Schedule, figures: Figures) -> list[str]:
    """The digest's message parts (each within Discord's limit), without the chart."""
    template = "digest_alliance.md.j2" if schedule.group_id is None else "digest_group.md.j2"
    return split_message(render(template, f=figures, title_limit=TITLE_LIMIT))


class DigestService:
    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        calendar: BusinessCalendar,
        correlator: Correlator,
        *,
        default_timezone: str,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._calendar = calendar
        self._correlator = correlator
        self._default_timezone = default_timezone
        self._charts = ChartWorker()

    def close(self) -> None:
        """Stop the chart-drawing process, if one was started."""
        self._charts.close()

    # ------------------------------------------------------------ schedules

    async def schedules(self) -> list[Schedule]:
        """Every digest: the alliance's and one per live group, with stored or default schedules."""
        async with self._sessions() as session:
            stored = {row.scope: row for row in await session.scalars(select(DigestSchedule))}
            groups = list(
                await session.scalars(
                    select(WorkingGroup).where(WorkingGroup.archived.is_(False)).order_by(WorkingGroup.name)
                )
            )
            announcements = await session.scalar(select(GuildSettings.announcements_channel_id).limit(1))
        result = [self._schedule(ALLIANCE, "the alliance", announcements, None, stored)]
        result += [self._schedule(group_scope(g.slug), g.name, g.channel_id, g.id, stored) for g in groups]
        return result

    def _schedule(
        self, scope: str, name: str, channel: int | None, group_id: int | None, stored: dict[str, DigestSchedule]
    ) -> Schedule:
        row = stored.get(scope)
        return Schedule(
            scope=scope,
            cron=row.cron if row else DEFAULT_CRON,
            timezone=row.timezone if row else self._default_timezone,
            name=name,
            channel_id=channel,
            group_id=group_id,
        )

    async def schedule_of(self, scope: str) -> Schedule:
        for schedule in await self.schedules():
            if schedule.scope == scope:
                return schedule
        raise NotFound(f"There is no digest {code(scope, 80)}.")

    async def set_schedule(
        self, caller: Caller, *, cron: str, timezone: str | None, group: str | None
    ) -> tuple[Schedule, datetime]:
        """Change a digest's schedule (admins). Returns it with its next run time."""
        zone = (timezone or "").strip() or self._default_timezone
        trigger = parse_cron(cron, zone)
        now = self._clock()
        upcoming = trigger.get_next_fire_time(None, now)
        if upcoming is None:
            raise InvalidInput(f"{code(cron)} never fires (is it a day that does not exist, like 31 February?).")
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            scope = await self._scope(session, group)
            row = await session.get(DigestSchedule, scope)
            if row is None:
                row = DigestSchedule(scope=scope)
                session.add(row)
            row.cron, row.timezone, row.updated_at, row.updated_by = " ".join(cron.split()), zone, now, caller.user_id
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action="digest.scheduled",
                subject=f"digest:{scope}",
                cron=row.cron,
                timezone=zone,
            )
        return await self.schedule_of(scope), upcoming

    async def _scope(self, session: AsyncSession, group: str | None) -> str:
        if not group:
            return ALLIANCE
        return group_scope((await find_group(session, group, live=True)).slug)

    # ------------------------------------------------------------------ runs

    async def run(self, schedule: Schedule, end: datetime, *, start: datetime | None = None) -> DigestRun | None:
        """Produce the digest for the period ending at `end`, once. None: it was already claimed."""
        if start is None:
            start = last_fire(schedule.trigger, end - timedelta(microseconds=1)) or end - timedelta(days=7)
        if schedule.channel_id is None:
            return None
        try:
            async with self._sessions.begin() as session:
                claim = DigestRun(
                    scope=schedule.scope,
                    period_start=start,
                    period_end=end,
                    status=DigestRunStatus.posted,
                    claimed_at=self._clock(),
                )
                session.add(claim)
                await session.flush()  # the unique claim: a second producer stops here
                figures = await self.figures(session, schedule, start, end)
                rendered = await self.render(session, schedule, figures)
                claim.messages = len(rendered.parts)
                await self._enqueue(session, schedule, claim, rendered)
                return claim
        except IntegrityError:
            return None

    async def skip(self, schedule: Schedule, end: datetime) -> bool:
        """Record a run missed by more than the grace, so it is never posted late."""
        start = last_fire(schedule.trigger, end - timedelta(microseconds=1)) or end - timedelta(days=7)
        try:
            async with self._sessions.begin() as session:
                session.add(
                    DigestRun(
                        scope=schedule.scope,
                        period_start=start,
                        period_end=end,
                        status=DigestRunStatus.skipped,
                        claimed_at=self._clock(),
                    )
                )
            return True
        except IntegrityError:
            return False

    async def claimed(self, scope: str, end: datetime) -> bool:
        async with self._sessions() as session:
            return (
                await session.scalar(select(DigestRun.id).where(DigestRun.scope == scope, DigestRun.period_end == end))
                is not None
            )

    async def _enqueue(self, session: AsyncSession, schedule: Schedule, claim: DigestRun, rendered: Rendered) -> None:
        now = self._clock()
        assert schedule.channel_id is not None
        for number, part in enumerate(rendered.parts):
            await outbox.enqueue(
                session,
                dedupe_key=f"digest:{claim.id}:{number}",
                channel_id=schedule.channel_id,
                content=part,
                attachment=rendered.chart if number == 0 else None,
                attachment_name="alliance-digest.png" if number == 0 and rendered.chart else None,
                now=now,
            )
        subscribers = await session.scalars(
            select(DigestSubscription.user_id).where(DigestSubscription.scope == schedule.scope)
        )
        for user_id in subscribers:
            for number, part in enumerate(rendered.parts):
                await outbox.enqueue(
                    session,
                    dedupe_key=f"digest:{claim.id}:{number}:dm:{user_id}",
                    user_id=user_id,
                    content=part,
                    view={"kind": "digest_copy", "scope": schedule.scope},
                    now=now,
                )

    async def send_now(self, caller: Caller, group: str | None) -> DigestRun:
        """Admins: post the current period so far now, through the outbox like a scheduled run."""
        async with self._sessions() as session:
            require_admin(await load_standing(session, caller))
            scope = await self._scope(session, group)
        schedule = await self.schedule_of(scope)
        if schedule.channel_id is None:
            raise Conflict(
                f"The digest of {schedule.name} has no channel to go to (bind the group or run /alliance setup)."
            )
        now = self._clock()
        start = last_fire(schedule.trigger, now) or now - timedelta(days=7)
        claim = await self.run(schedule, now, start=start)
        if claim is None:
            raise Conflict("That digest was just sent; try again in a moment.")
        return claim

    async def preview(self, caller: Caller, group: str | None) -> Rendered:
        """Leads and admins: the current period so far, without posting anything."""
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            scope = await self._scope(session, group)
            schedule = await self.schedule_of(scope)
            if schedule.group_id is None:
                require_admin(standing)
            else:
                row = await session.get(WorkingGroup, schedule.group_id)
                assert row is not None
                require_lead(standing, group_ref(row), row.lead_role_id)
            now = self._clock()
            start = last_fire(schedule.trigger, now) or now - timedelta(days=7)
            figures = await self.figures(session, schedule, start, now)
            return await self.render(session, schedule, figures)

    async def subscribe(self, caller: Caller, group: str | None) -> str:
        async with self._sessions.begin() as session:
            standing = await load_standing(session, caller)
            require_member(standing)
            scope = await self._scope(session, group)
            if scope != ALLIANCE:
                row = await session.scalar(
                    select(WorkingGroup).where(WorkingGroup.slug == scope.removeprefix("group:"))
                )
                if row is None or not standing.in_group(row.id):
                    raise InvalidInput(
                        "You can subscribe only to your own working groups' digests (and the alliance's)."
                    )
            if await session.get(DigestSubscription, (caller.user_id, scope)) is None:
                session.add(DigestSubscription(user_id=caller.user_id, scope=scope, created_at=self._clock()))
            return scope

    async def unsubscribe(self, caller: Caller, group: str | None) -> str:
        async with self._sessions.begin() as session:
            scope = await self._scope(session, group)
            row = await session.get(DigestSubscription, (caller.user_id, scope))
            if row is None:
                raise NotFound("You are not subscribed to that digest.")
            await session.delete(row)
            return scope

    async def may_receive(self, caller: Caller, scope: str) -> bool:
        """A DM copy goes out only if the subscriber may still read that digest."""
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            if standing.organisation is None:
                return False
            if scope == ALLIANCE:
                return True
            row = await session.scalar(select(WorkingGroup).where(WorkingGroup.slug == scope.removeprefix("group:")))
            return row is not None and standing.in_group(row.id)

    async def last_runs(self) -> dict[str, DigestRun]:
        async with self._sessions() as session:
            latest = (
                select(DigestRun.scope, func.max(DigestRun.period_end).label("end"))
                .group_by(DigestRun.scope)
                .subquery()
            )
            rows = await session.scalars(
                select(DigestRun).join(
                    latest, (DigestRun.scope == latest.c.scope) & (DigestRun.period_end == latest.c.end)
                )
            )
            return {row.scope: row for row in rows}

    # --------------------------------------------------------------- figures

    async def figures(self, session: AsyncSession, schedule: Schedule, start: datetime, end: datetime) -> Figures:
        if schedule.group_id is not None:
            return await self._group_figures(session, schedule.group_id, schedule.name, start, end, alliance=False)
        groups = list(
            await session.scalars(
                select(WorkingGroup).where(WorkingGroup.archived.is_(False)).order_by(WorkingGroup.name)
            )
        )
        flags = SellerFlags()  # the groups share most sellers: each is looked up once
        rows = [
            await self._group_figures(session, g.id, g.name, start, end, alliance=True, flags=flags) for g in groups
        ]
        total = Figures(name="the alliance", start=start, end=end, groups=rows)
        for row in rows:
            total.intel_counts.update(row.intel_counts)
            total.titles += row.titles
            total.networks += row.networks
            for name in (
                "sightings",
                "filed",
                "removed",
                "rejected",
                "needs_info",
                "open",
                "decided",
                "on_time",
                "counters_filed",
                "counters_upheld",
                "counters_reinstated",
            ):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.overdue += row.overdue
            total.flagged += row.flagged
            total.new_orgs += row.new_orgs
        total.cases = await totals_of(session, _cases_in(start, end).subquery())
        total.median_hours = await self._median_hours(session, _decided_in(start, end))
        return total

    async def _group_figures(
        self,
        session: AsyncSession,
        group_id: int,
        name: str,
        start: datetime,
        end: datetime,
        *,
        alliance: bool,
        flags: SellerFlags | None = None,
    ) -> Figures:
        figures = Figures(name=name, start=start, end=end)
        named = (Tlp.CLEAR, Tlp.GREEN) if alliance else (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER)
        counted = (*named, Tlp.AMBER_STRICT) if not alliance else named
        reports = list(
            await session.execute(
                select(IntelReport.id, IntelReport.tlp, IntelReport.title)  # not whole reports: only these are shown
                .where(
                    IntelReport.working_group_id == group_id,
                    IntelReport.created_at >= start,
                    IntelReport.created_at < end,
                    IntelReport.retracted_at.is_(None),
                    IntelReport.tlp.in_(counted),
                )
                .order_by(IntelReport.id)
            )
        )
        figures.intel_counts = Counter(r.tlp.value for r in reports)
        figures.titles = [(report_id(r.id), r.tlp.value, r.title) for r in reports if r.tlp in named]
        figures.networks = await self._grown_networks(session, group_id, named, start, end)
        figures.sightings = int(
            await session.scalar(
                select(func.count())
                .select_from(IntelSighting)
                .join(IntelReport, IntelReport.id == IntelSighting.report_id)
                .where(
                    IntelReport.working_group_id == group_id,
                    IntelSighting.at >= start,
                    IntelSighting.at < end,
                    IntelReport.tlp.in_(counted),
                )
            )
            or 0
        )
        in_group = Takedown.working_group_id == group_id
        filed = await session.execute(
            select(Takedown.status, func.count())
            .where(in_group, Takedown.filed_at >= start, Takedown.filed_at < end)
            .group_by(Takedown.status)
        )
        by_status = {status: int(count) for status, count in filed}
        figures.filed = sum(by_status.values())
        figures.removed = by_status.get(TakedownStatus.removed, 0) + by_status.get(TakedownStatus.reinstated, 0)
        figures.rejected = by_status.get(TakedownStatus.rejected, 0)
        figures.needs_info = by_status.get(TakedownStatus.needs_info, 0)
        figures.open = int(
            await session.scalar(
                select(func.count()).where(
                    in_group,
                    Takedown.status.in_((TakedownStatus.submitted, TakedownStatus.needs_info)),
                    Takedown.filed_at < end,
                )
            )
            or 0
        )
        decided = _decided_in(start, end).where(in_group)
        rows = list(await session.execute(decided))
        figures.decided = len(rows)
        figures.on_time = sum(1 for row in rows if row.decided_at <= row.due_at)
        figures.median_hours = await self._median_hours(session, decided)
        figures.overdue = [
            takedown_id(n)
            for n in await session.scalars(
                select(Takedown.id)
                .where(in_group, Takedown.status == TakedownStatus.submitted, Takedown.due_at <= end)
                .order_by(Takedown.due_at)
                .limit(200)
            )
        ]
        figures.counters_filed = int(
            await session.scalar(
                select(func.count()).where(
                    in_group, Takedown.counter_filed_at >= start, Takedown.counter_filed_at < end
                )
            )
            or 0
        )
        ended = await session.execute(
            select(Takedown.counter_state, func.count())
            .where(
                in_group,
                Takedown.closed_at >= start,
                Takedown.closed_at < end,
                Takedown.counter_state.in_((CounterState.upheld, CounterState.reinstated)),
            )
            .group_by(Takedown.counter_state)
        )
        for state, count in ended:
            if state == CounterState.upheld:
                figures.counters_upheld = int(count)
            else:
                figures.counters_reinstated = int(count)
        sellers = list(
            await session.scalars(
                select(Takedown.seller_key)
                .where(in_group, Takedown.seller_key.is_not(None), Takedown.filed_at < end)
                .distinct()
            )
        )
        figures.flagged = sorted((await (flags or SellerFlags()).of(session, sellers)).items())
        figures.cases = await totals_of(
            session, _cases_in(start, end).where(EnforcementCase.working_group_id == group_id).subquery()
        )
        figures.new_orgs = list(
            await session.scalars(
                select(Organisation.name)
                .where(
                    Organisation.working_group_id == group_id,
                    Organisation.created_at >= start,
                    Organisation.created_at < end,
                )
                .order_by(Organisation.name)
            )
        )
        return figures

    async def _grown_networks(
        self, session: AsyncSession, group_id: int, levels: Sequence[Tlp], start: datetime, end: datetime
    ) -> list[tuple[int, int]]:
        """Networks (of the levels this digest may name) that gained reports in the period."""
        rows = list(
            await session.execute(
                select(IntelReport.id, IntelReport.created_at).where(
                    IntelReport.working_group_id == group_id,
                    IntelReport.tlp.in_(levels),
                    IntelReport.retracted_at.is_(None),
                    IntelReport.created_at < end,
                )
            )
        )
        new = {number for number, created in rows if created >= start}
        if not new:
            return []
        grown = []
        for component in await self._correlator.components(session, [number for number, _ in rows]):
            gained = len(component & new)
            if gained and len(component) > 1:
                grown.append((len(component), gained))
        return sorted(grown, reverse=True)

    async def _median_hours(self, session: AsyncSession, decided: Decided) -> float | None:
        rows = list(await session.execute(decided))
        if not rows:
            return None
        spans = [(row.filed_at, row.decided_at) for row in rows]
        return await asyncio.to_thread(self._median_business_hours, spans)  # per-row calendar work: off the loop

    def _median_business_hours(self, spans: list[tuple[datetime, datetime]]) -> float:
        hours = [self._calendar.elapsed(filed, decided).total_seconds() / 3600 for filed, decided in spans]
        return statistics.median(hours)

    # ------------------------------------------------------------- rendering

    async def render(self, session: AsyncSession, schedule: Schedule, figures: Figures) -> Rendered:
        chart = None
        if schedule.group_id is None and not figures.empty:
            chart = await self._chart(session, schedule, figures)
        # Hundreds of escaped titles: a few hundred ms of template work, kept off the event loop.
        return Rendered(await asyncio.to_thread(render_text, schedule, figures), chart)

    async def _chart(self, session: AsyncSession, schedule: Schedule, figures: Figures) -> bytes:
        history: list[tuple[str, float | None]] = []
        end = figures.end
        for _ in range(HISTORY_PERIODS):
            start = last_fire(schedule.trigger, end - timedelta(microseconds=1)) or end - timedelta(days=7)
            rows = list(await session.execute(_decided_in(start, end)))
            share = sum(1 for row in rows if row.decided_at <= row.due_at) / len(rows) if rows else None
            history.append((end.astimezone(ZoneInfo(schedule.timezone)).strftime("%d %b"), share))
            end = start
        groups = [(row.name, row.filed) for row in figures.groups]
        return await self._charts.draw(groups, list(reversed(history)))


Decided = Select[datetime, datetime | None, datetime, int]


class SellerFlags:
    """Seller flags looked up once per seller within one digest run (see `seller_flags`)."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, ...]] = {}
        self._looked_up: set[str] = set()

    async def of(self, session: AsyncSession, sellers: Sequence[str | None]) -> dict[str, tuple[str, ...]]:
        wanted = {seller for seller in sellers if seller}
        missing = wanted - self._looked_up
        if missing:
            self._known |= await seller_flags(session, sorted(missing))
            self._looked_up |= missing
        return {seller: self._known[seller] for seller in wanted if seller in self._known}


def _decided_in(start: datetime, end: datetime) -> Decided:
    return select(Takedown.filed_at, Takedown.decided_at, Takedown.due_at, Takedown.id).where(
        Takedown.decided_at >= start, Takedown.decided_at < end
    )


def _cases_in(start: datetime, end: datetime) -> Select[EnforcementCase]:
    return select(EnforcementCase).where(EnforcementCase.created_at >= start, EnforcementCase.created_at < end)
