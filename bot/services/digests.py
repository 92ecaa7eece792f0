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
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVarTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import ColumnElement, Integer, Row, Select, case, func, select, true, type_coerce
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
from bot.services.takedowns import flag_tuple, flagged_sellers, takedown_id
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
Ts = TypeVarTuple("Ts")
DEFAULT_CRON = "0 9 * * 1"  # Mondays 09:00
TITLE_LIMIT = 50  # titles named per level before "…and N more" (the count is always complete)
# Overdue ids and flagged sellers named before "…and N more": at full scale the alliance digest
# named 2,400 overdue ids and 26,000 flagged sellers, 1 MB of text over 515 messages a week.
# The counts stay complete; the lists live behind /takedown list and /takedown check.
LIST_LIMIT = 25
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
    """One digest's figures. Group digests fill one group's; the alliance digest sums its groups'
    rows, which carry what it sums or shows per group (not a group's median or cases)."""

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
    return split_message(render(template, f=figures, title_limit=TITLE_LIMIT, list_limit=LIST_LIMIT))


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
        # Digests are produced one at a time. The default schedules fire all thirteen in the same
        # minute; run together they contended for the GIL and the database and each held its
        # union-find in memory at once: 6.2 s for the thirteen at 1M indicators, against 4.9 s
        # one after another.
        self._producing = asyncio.Lock()

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
        # Figures and text are read outside the claim's write transaction: computing them inside
        # held SQLite's write lock for seconds at full scale, longer than busy_timeout, so
        # filings made during a Monday's digests failed. A second producer may compute in vain;
        # only one claim (and its posts) is committed.
        async with self._producing, self._sessions() as session:
            if await self.claimed(schedule.scope, end):
                return None  # another process or run made it (the unique claim below is what decides)
            figures = await self.figures(session, schedule, start, end)
            rendered = await self.render(session, schedule, figures)
        try:
            async with self._sessions.begin() as session:
                claim = DigestRun(
                    scope=schedule.scope,
                    period_start=start,
                    period_end=end,
                    status=DigestRunStatus.posted,
                    claimed_at=self._clock(),
                    messages=len(rendered.parts),
                )
                session.add(claim)
                await session.flush()  # the unique claim: a second producer stops here
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
            group_id = schedule.group_id
            [figures] = await self._group_figures(session, {group_id: schedule.name}, start, end, alliance=False)
            decided = _decided_in(start, end).where(_of_groups([group_id]))
            figures.median_hours = await self._median_hours(session, decided)
            figures.cases = await totals_of(
                session, _cases_in(start, end).where(EnforcementCase.working_group_id == group_id).subquery()
            )
            return figures
        groups = await session.execute(
            select(WorkingGroup.id, WorkingGroup.name)
            .where(WorkingGroup.archived.is_(False))
            .order_by(WorkingGroup.name)
        )
        rows = await self._group_figures(session, {number: name for number, name in groups}, start, end, alliance=True)
        total = Figures(name="the alliance", start=start, end=end, groups=rows)
        for row in rows:
            total.intel_counts.update(row.intel_counts)
            total.titles += row.titles
            total.networks += row.networks
            for name in SUMMED:
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.overdue += row.overdue
            total.flagged += row.flagged
            total.new_orgs += row.new_orgs
        total.cases = await totals_of(session, _cases_in(start, end).subquery())
        total.median_hours = await self._median_hours(session, _decided_in(start, end))
        return total

    async def _group_figures(
        self, session: AsyncSession, groups: dict[int, str], start: datetime, end: datetime, *, alliance: bool
    ) -> list[Figures]:
        """The figures of each group in `groups` (id → name, in the order given), each figure read
        for all of them by one statement grouped by working group: the alliance digest's twelve
        groups cost about what one group's digest does. Without the group's median and cases,
        which only a group digest shows (its caller adds them)."""
        rows = {group_id: Figures(name=name, start=start, end=end) for group_id, name in groups.items()}
        ids = list(rows)
        named = (Tlp.CLEAR, Tlp.GREEN) if alliance else (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER)
        counted = (*named, Tlp.AMBER_STRICT) if not alliance else named
        reports = await session.execute(
            select(IntelReport.working_group_id, IntelReport.id, IntelReport.tlp, IntelReport.title)
            .where(
                IntelReport.working_group_id.in_(ids),
                IntelReport.created_at >= start,
                IntelReport.created_at < end,
                IntelReport.retracted_at.is_(None),
                IntelReport.tlp.in_(counted),
            )
            .order_by(IntelReport.id)
        )
        for group_id, number, tlp, title in reports:  # not whole reports: only these are shown
            rows[group_id].intel_counts[tlp.value] += 1
            if tlp in named:
                rows[group_id].titles.append((report_id(number), tlp.value, title))
        for group_id, grown in (await self._grown_networks(session, ids, named, start, end)).items():
            rows[group_id].networks = grown
        sightings = await session.execute(
            select(IntelReport.working_group_id, func.count())
            .select_from(IntelSighting)
            .join(IntelReport, IntelReport.id == IntelSighting.report_id)
            .where(
                IntelReport.working_group_id.in_(ids),
                IntelSighting.at >= start,
                IntelSighting.at < end,
                IntelReport.tlp.in_(counted),
            )
            .group_by(IntelReport.working_group_id)
        )
        for group_id, count in sightings:
            rows[group_id].sightings = int(count)
        await self._takedown_figures(session, rows, start, end)
        flagged: dict[int, dict[str, set[str]]] = {group_id: defaultdict(set) for group_id in ids}
        async for part in _parts(session, _flagged_in(ids, end)):
            for group_id, seller, flag in part:
                flagged[group_id][seller].add(flag)
        for group_id, sellers in flagged.items():
            rows[group_id].flagged = sorted((seller, flag_tuple(flags)) for seller, flags in sellers.items())
        new_orgs = await session.execute(
            select(ORGANISATION_GROUP, Organisation.name)
            .where(
                Organisation.working_group_id.in_(ids),
                Organisation.created_at >= start,
                Organisation.created_at < end,
            )
            .order_by(Organisation.name)
        )
        for group_id, name in new_orgs:
            rows[group_id].new_orgs.append(name)
        return list(rows.values())

    async def _takedown_figures(
        self, session: AsyncSession, rows: dict[int, Figures], start: datetime, end: datetime
    ) -> None:
        """Filed, open, decided, overdue and counter-notice figures of each group in `rows`."""
        ids = list(rows)
        in_groups = Takedown.working_group_id.in_(ids)
        filed = await session.execute(
            select(TAKEDOWN_GROUP, Takedown.status, func.count())
            .where(in_groups, Takedown.filed_at >= start, Takedown.filed_at < end)
            .group_by(TAKEDOWN_GROUP, Takedown.status)
        )
        by_status: dict[int, Counter[TakedownStatus]] = defaultdict(Counter)
        for group_id, status, count in filed:
            by_status[group_id][status] = int(count)
        for group_id, counts in by_status.items():
            row = rows[group_id]
            row.filed = sum(counts.values())
            row.removed = counts[TakedownStatus.removed] + counts[TakedownStatus.reinstated]
            row.rejected = counts[TakedownStatus.rejected]
            row.needs_info = counts[TakedownStatus.needs_info]
        open_ = await session.execute(
            select(TAKEDOWN_GROUP, func.count())
            .where(
                in_groups,
                Takedown.status.in_((TakedownStatus.submitted, TakedownStatus.needs_info)),
                Takedown.filed_at < end,
            )
            .group_by(TAKEDOWN_GROUP)
        )
        for group_id, count in open_:
            rows[group_id].open = int(count)
        decided = await session.execute(
            select(
                TAKEDOWN_GROUP,
                func.count(),
                func.coalesce(func.sum(ON_TIME), 0),
            )
            .where(_of_groups(ids), Takedown.decided_at >= start, Takedown.decided_at < end)
            .group_by(TAKEDOWN_GROUP)
        )
        for group_id, count, on_time in decided:
            rows[group_id].decided, rows[group_id].on_time = int(count), int(on_time)
        for group_id, row in rows.items():  # the first 200 each: a statement per group
            row.overdue = [
                takedown_id(number)
                for number in await session.scalars(
                    select(Takedown.id)
                    .where(
                        Takedown.working_group_id == group_id,
                        Takedown.status == TakedownStatus.submitted,
                        Takedown.due_at <= end,
                    )
                    .order_by(Takedown.due_at, Takedown.id)
                    .limit(OVERDUE_LIMIT)
                )
            ]
        counters = await session.execute(
            select(TAKEDOWN_GROUP, func.count())
            .where(_of_groups(ids), Takedown.counter_filed_at >= start, Takedown.counter_filed_at < end)
            .group_by(TAKEDOWN_GROUP)
        )
        for group_id, count in counters:
            rows[group_id].counters_filed = int(count)
        ended = await session.execute(
            select(TAKEDOWN_GROUP, Takedown.counter_state, func.count())
            .where(
                _of_groups(ids),
                Takedown.closed_at >= start,
                Takedown.closed_at < end,
                Takedown.counter_state.in_((CounterState.upheld, CounterState.reinstated)),
            )
            .group_by(TAKEDOWN_GROUP, Takedown.counter_state)
        )
        for group_id, state, count in ended:
            if state == CounterState.upheld:
                rows[group_id].counters_upheld = int(count)
            else:
                rows[group_id].counters_reinstated = int(count)

    async def _grown_networks(
        self, session: AsyncSession, groups: Sequence[int], levels: Sequence[Tlp], start: datetime, end: datetime
    ) -> dict[int, list[tuple[int, int]]]:
        """Per group, its networks (of the levels this digest may name, within the group) that
        gained reports in the period: (size, new reports), largest first. A group with no new
        report has none, and its reports are not read."""
        group_of: dict[int, int] = {}
        new: set[int] = set()
        reports = select(IntelReport.id, IntelReport.working_group_id, IntelReport.created_at >= start).where(
            IntelReport.working_group_id.in_(groups),
            IntelReport.tlp.in_(levels),
            IntelReport.retracted_at.is_(None),
            IntelReport.created_at < end,
        )
        async for part in _parts(session, reports):
            for number, group_id, is_new in part:
                group_of[number] = group_id
                if is_new:
                    new.add(number)
        growing = {group_of[number] for number in new}
        group_of = {number: group_id for number, group_id in group_of.items() if group_id in growing}
        grown: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for component in await self._correlator.components(session, list(group_of), part_of=group_of):
            gained = len(component & new)
            if gained and len(component) > 1:
                grown[group_of[next(iter(component))]].append((len(component), gained))
        return {group_id: sorted(found, reverse=True) for group_id, found in grown.items()}

    async def _median_hours(self, session: AsyncSession, decided: Decided) -> float | None:
        spans: list[tuple[datetime, datetime]] = []
        async for part in _parts(session, decided):
            spans += [(filed, at) for filed, at in part if at is not None]
        if not spans:
            return None
        return await asyncio.to_thread(self._median_business_hours, spans)  # per-row calendar work: off the loop

    def _median_business_hours(self, spans: list[tuple[datetime, datetime]]) -> float:
        hours = [self._calendar.elapsed(filed, decided).total_seconds() / 3600 for filed, decided in spans]
        return statistics.median(hours)

    # ------------------------------------------------------------- rendering

    async def render(self, session: AsyncSession, schedule: Schedule, figures: Figures) -> Rendered:
        # Hundreds of escaped titles: a few hundred ms of template work, kept off the event loop,
        # while the chart (alliance digest) is drawn in its own process.
        text = asyncio.ensure_future(asyncio.to_thread(render_text, schedule, figures))
        try:
            chart = None
            if schedule.group_id is None and not figures.empty:
                chart = await self._chart(session, schedule, figures)
            return Rendered(await text, chart)
        finally:
            text.cancel()  # a no-op once it is done; otherwise the failure is the chart's

    async def _chart(self, session: AsyncSession, schedule: Schedule, figures: Figures) -> bytes:
        history: list[tuple[str, float | None]] = []
        end = figures.end
        for _ in range(HISTORY_PERIODS):
            start = last_fire(schedule.trigger, end - timedelta(microseconds=1)) or end - timedelta(days=7)
            decided, on_time = (
                await session.execute(
                    select(func.count(), func.sum(ON_TIME)).where(
                        Takedown.decided_at >= start, Takedown.decided_at < end
                    )
                )
            ).one()
            history.append(
                (end.astimezone(ZoneInfo(schedule.timezone)).strftime("%d %b"), on_time / decided if decided else None)
            )
            end = start
        groups = [(row.name, row.filed) for row in figures.groups]
        return await self._charts.draw(groups, list(reversed(history)))


Decided = Select[datetime, datetime | None]
SUMMED = (  # the alliance digest's totals that are sums of its groups' figures
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
)
ON_TIME = case((Takedown.decided_at <= Takedown.due_at, 1), else_=0)  # decided within the SLA
# A request's or organisation's group, typed as never NULL: every digest query filters on its groups.
TAKEDOWN_GROUP = type_coerce(Takedown.working_group_id, Integer)
ORGANISATION_GROUP = type_coerce(Organisation.working_group_id, Integer)
OVERDUE_LIMIT = 200  # overdue requests named per group
PART_ROWS = 2000  # rows handled per step of a long result, so the event loop is never held long


async def _parts(session: AsyncSession, statement: Select[*Ts]) -> AsyncIterator[Sequence[Row[*Ts]]]:
    """The rows of `statement` a part at a time: each part's Python work is short, and the event
    loop runs between parts (the alliance digest reads tens of thousands of rows)."""
    result = await session.stream(statement)
    async for part in result.partitions(PART_ROWS):
        yield part


def _flagged_in(groups: Sequence[int], end: datetime) -> Select[int, str, str]:
    """(group, seller, flag) for the flagged sellers that groups filed against before `end`: the
    flagged sellers of the whole alliance (one aggregate), each probed in ix_takedown_seller_group
    per group, rather than the flags of each of a group's thousands of sellers."""
    flagged = flagged_sellers().subquery()
    filed = (
        select(Takedown.id)
        .where(
            Takedown.seller_key == flagged.c.seller_key,
            Takedown.working_group_id == WorkingGroup.id,
            Takedown.filed_at < end,
        )
        .exists()
    )
    return (
        select(WorkingGroup.id, flagged.c.seller_key, flagged.c.flag)
        .join_from(WorkingGroup, flagged, true())
        .where(WorkingGroup.id.in_(groups), filed)
    )


def _of_groups(groups: Sequence[int]) -> ColumnElement[bool]:
    """Takedowns of these groups, in a query that reads a period's range of another index (the
    decisions or counter-notices of a week): `+ 0` keeps the planner from reading every request
    the group ever had through a group index instead, as SQLite does without ANALYZE statistics."""
    return (Takedown.working_group_id + 0).in_(groups)


def _decided_in(start: datetime, end: datetime) -> Decided:
    return select(Takedown.filed_at, Takedown.decided_at).where(Takedown.decided_at >= start, Takedown.decided_at < end)


def _cases_in(start: datetime, end: datetime) -> Select[EnforcementCase]:
    return select(EnforcementCase).where(EnforcementCase.created_at >= start, EnforcementCase.created_at < end)
