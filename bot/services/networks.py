"""Correlation: reports that share a normalised indicator value are linked (MISP-style exact
matching); a network is a connected set of linked reports.

Values on the warninglist never link; a value found in more than `common_cap` live reports
(default 50) is "common" and stops linking, as MISP's over-correlation limit does. A network is
walked only through reports the viewer may see, so it is never larger than their clearance.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from bot.services.indicators import Indicator
from bot.services.tlp import EXPORTABLE, Viewer, visible_condition
from db.models import (
    IntelIndicator,
    IntelReport,
    IntelValue,
    Organisation,
    Takedown,
    TakedownStatus,
    Tlp,
    WarninglistEntry,
    WorkingGroup,
)

Value = tuple[str, str]  # (type, normalised value)
# Reports in a network's page and file; a bigger network is cut to its nearest and says so. At
# 1,000,000 indicators most reports form one component, so every walk from it is cut here and the
# limit sets the command's cost: on SQLite p50 23 ms at 50, 26-30 ms at 100, 40 ms at 200, 75-78 ms
# at 500 (bench/measure.py's /intel network; README, "Networks"). At most IN_BATCH (one IN list).
NETWORK_LIMIT = 100
WALK_CHUNK = 8  # the fewest reports one step of a walk expands (see Correlator.walk)
HUBS = 5  # values shown as what binds a network
RECENT = 10  # newest reports named on a network's page
TAKEDOWN_IDS = 5  # a network's takedowns are named, not only counted, up to this many
IN_BATCH = 5000  # ids per IN (...) list: SQLite caps bound parameters per statement (32,766)
COMPONENT_BATCH = 500  # reports per step of a rebuild, so the event loop is never held long
T = TypeVar("T")


def batches(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    """Slices of at most `size`: every IN (...) list stays under the engines' parameter caps."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


Groups = list[tuple[str, list[str]]]  # (type, values of that type)


def value_batches(pairs: Iterable[Value]) -> Iterator[Groups]:
    """Values in batches of at most IN_BATCH, grouped by type, to query with `has_value`."""
    for batch in batches(sorted(set(pairs)), IN_BATCH):
        grouped: dict[str, list[str]] = defaultdict(list)
        for kind, value in batch:
            grouped[kind].append(value)
        yield sorted(grouped.items())


def _joined(model: type[IntelValue | WarninglistEntry]) -> ColumnElement[str]:
    return model.type + ":" + model.value


# A union-find's rows, `type:value` as in `_joined`, read with the database's own driver: at the
# hundreds of thousands of rows a digest's networks read, SQLAlchemy's result rows were a quarter
# of the work (the statement is the same as a Core select of these columns would be).
SQLITE_VALUES = "SELECT report_id, type || ':' || value FROM intel_indicator WHERE report_id IN ({})"
POSTGRESQL_VALUES = "SELECT report_id, type || ':' || value FROM intel_indicator WHERE report_id = ANY($1::integer[])"


async def _values_of(connection: AsyncConnection, reports: Sequence[int]) -> Sequence[tuple[int, str]]:
    """(report, value) for every indicator of `reports`, within the connection's transaction."""
    driver: Any = (await connection.get_raw_connection()).driver_connection
    if connection.dialect.name == "postgresql":
        rows = await driver.fetch(POSTGRESQL_VALUES, list(reports))
    else:
        rows = await driver.execute_fetchall(SQLITE_VALUES.format(", ".join("?" * len(reports))), tuple(reports))
    return cast(Sequence[tuple[int, str]], rows)


def warninglisted(model: Any) -> Any:
    """EXISTS: the value of `model` (IntelIndicator or an alias of it) is on the warninglist."""
    return (
        select(WarninglistEntry.id)
        .where(WarninglistEntry.type == model.type, WarninglistEntry.value == model.value)
        .exists()
    )


def live_reports(model: Any) -> Any:
    """How many live reports hold the value of `model` (IntelIndicator, an alias or a subquery
    with `type` and `value`): a correlated lookup in `intel_value`, one index probe per row."""
    return (
        select(IntelValue.reports)
        .where(IntelValue.type == model.type, IntelValue.value == model.value)
        .scalar_subquery()
    )


def has_value(model: type[IntelIndicator | IntelValue | WarninglistEntry], groups: Groups) -> Any:
    """`(type = ? AND value IN (…)) OR …`: an index lookup per value, and a statement SQLAlchemy
    compiles once. SQLite plans `(type, value) IN (VALUES …)` as a scan of the whole table it
    filters (1M indicators), and a join with a VALUES table costs a fresh compile per call."""
    return or_(*(and_(model.type == kind, model.value.in_(values)) for kind, values in groups))


@dataclass(frozen=True)
class ReportRef:
    """What a link shows of a report: never more than the reply needs."""

    id: int
    organisation_id: int
    working_group_id: int
    created_at: datetime


@dataclass(frozen=True)
class TakedownRef:
    id: int
    status: TakedownStatus


@dataclass(frozen=True)
class Link:
    report: ReportRef
    shared: tuple[Value, ...]


@dataclass
class Correlation:
    visible: list[Link] = field(default_factory=list)
    common: list[Indicator] = field(default_factory=list)
    warned: list[Indicator] = field(default_factory=list)
    foreign_groups: set[int] = field(default_factory=set)  # other groups holding matching AMBER intel


@dataclass(frozen=True)
class Walk:
    ids: list[int]  # ascending
    truncated: bool  # the network has more than `limit` reports; `ids` holds that many
    limit: int


@dataclass(frozen=True)
class Hub:
    """A value shared by several reports of a network: what binds it."""

    type: str
    value: str
    reports: int


@dataclass(frozen=True)
class NetworkRow:
    """A report of a network as its file lists it (CLEAR, GREEN and AMBER only, as exports)."""

    id: int
    tlp: Tlp
    group: str
    created_at: datetime
    title: str
    linking: tuple[Value, ...]  # its values shared with another report in the file


@dataclass(frozen=True)
class Network:
    """One page about a network as the viewer may see it, and the rows of its file."""

    ids: list[int]  # every report in it, ascending
    truncated: bool
    limit: int
    brands: int
    brand_names: list[str]  # only those with reports in the viewer's own groups
    groups: list[str]  # working groups of its reports
    first_seen: datetime | None
    last_seen: datetime | None
    values_by_type: dict[str, int]  # distinct values per indicator type, most first
    hubs: list[Hub]  # linking values shared by the most reports, most first
    recent: list[int]  # the newest reports, newest first
    takedowns: dict[TakedownStatus, int]  # on its listings, those the viewer may see, by status
    other_takedowns: int  # on the same listings, by organisations the viewer may not see
    takedown_ids: list[TakedownRef]  # the visible takedowns, when there are at most TAKEDOWN_IDS
    rows: list[NetworkRow]
    unexported: int  # AMBER+STRICT and RED reports: counted on the page, never in the file


REPORT_COLUMNS = (IntelReport.id, IntelReport.organisation_id, IntelReport.working_group_id, IntelReport.created_at)


class Correlator:
    def __init__(self, common_cap: int = 50) -> None:
        self.common_cap = common_cap

    async def _linkable(
        self, session: AsyncSession, values: Iterable[Value]
    ) -> tuple[set[Value], set[Value], set[Value]]:
        """Split values into (linkable, common, warninglisted). The live-report count per value
        is kept in `intel_value` by the database (migration 0007), so this is index lookups."""
        wanted = set(values)
        warned: set[Value] = set()
        counted: set[Value] = set()
        for groups in value_batches(wanted):
            warned.update(
                (kind, value)
                for kind, value in await session.execute(
                    select(WarninglistEntry.type, WarninglistEntry.value).where(has_value(WarninglistEntry, groups))
                )
            )
            counted.update(
                (kind, value)
                for kind, value in await session.execute(
                    select(IntelValue.type, IntelValue.value).where(
                        has_value(IntelValue, groups), IntelValue.reports > self.common_cap
                    )
                )
            )
        common = counted - warned
        return wanted - warned - common, common, warned

    @staticmethod
    def _visible_query(viewer: Viewer) -> Select[int]:
        """Which of the reports bound as `ids` `viewer` may see; built once, run per batch."""
        return select(IntelReport.id).where(
            IntelReport.id.in_(bindparam("ids", expanding=True)), visible_condition(viewer)
        )

    async def _visible_ids(
        self, session: AsyncSession, viewer: Viewer, ids: Iterable[int], query: Select[int] | None = None
    ) -> set[int]:
        query = self._visible_query(viewer) if query is None else query
        found: set[int] = set()
        for batch in batches(sorted(set(ids)), IN_BATCH):
            found.update(await session.scalars(query, {"ids": list(batch)}))
        return found

    async def _refs(self, session: AsyncSession, ids: Iterable[int]) -> list[ReportRef]:
        refs: list[ReportRef] = []
        for batch in batches(sorted(set(ids)), IN_BATCH):
            rows = await session.execute(select(*REPORT_COLUMNS).where(IntelReport.id.in_(batch)))
            refs += [ReportRef(number, org, group, created) for number, org, group, created in rows]
        return sorted(refs, key=lambda r: r.id)

    async def links(self, session: AsyncSession, report: IntelReport, viewer: Viewer) -> Correlation:
        """The reports directly linked to `report`, as `viewer` may see them."""
        own = {(i.type, i.value): i.display for i in report.indicators}
        linkable, common, warned = await self._linkable(session, own)
        result = Correlation(
            common=[Indicator(t, v, own[(t, v)]) for t, v in sorted(common)],
            warned=[Indicator(t, v, own[(t, v)]) for t, v in sorted(warned)],
        )
        if not linkable:
            return result
        shared: dict[int, list[Value]] = defaultdict(list)
        for groups in value_batches(linkable):
            rows = await session.execute(
                select(IntelIndicator.report_id, IntelIndicator.type, IntelIndicator.value)
                .join(IntelReport, IntelReport.id == IntelIndicator.report_id)
                .where(
                    has_value(IntelIndicator, groups),
                    IntelIndicator.report_id != report.id,
                    IntelReport.retracted_at.is_(None),
                )
            )
            for other, kind, value in rows:
                shared[other].append((kind, value))
        if not shared:
            return result
        visible = await self._visible_ids(session, viewer, shared)
        result.visible = [Link(ref, tuple(sorted(shared[ref.id]))) for ref in await self._refs(session, visible)]
        hidden = sorted(set(shared) - visible)
        for hidden_batch in batches(hidden, IN_BATCH):
            result.foreign_groups.update(
                await session.scalars(
                    select(IntelReport.working_group_id).where(
                        IntelReport.id.in_(hidden_batch),
                        IntelReport.tlp == Tlp.AMBER,
                        IntelReport.working_group_id != report.working_group_id,
                    )
                )
            )
        return result

    def _sharing(self) -> Select[int]:
        """The reports that share a linkable value with one of the reports bound as `numbers`
        (these included), whoever may see them: the walk filters them next (`_visible_ids`),
        so a hidden report never links two visible ones. Index-only on both engines.

        A value links when it is in at most `common_cap` live reports (`intel_value`, kept by
        triggers) and is not on the warninglist. The count is read by a correlated subquery
        rather than a join so that PostgreSQL looks each value up instead of hashing the whole
        `intel_value` table once a step has a few hundred reports (90 ms at 1,000,000 indicators)."""
        mine, other = aliased(IntelIndicator), aliased(IntelIndicator)
        return (
            select(other.report_id)
            .distinct()
            .select_from(mine)
            .join(other, and_(other.type == mine.type, other.value == mine.value))
            .where(
                mine.report_id.in_(bindparam("numbers", expanding=True)),
                live_reports(mine) <= self.common_cap,
                ~warninglisted(mine),
            )
        )

    async def walk(
        self, session: AsyncSession, viewer: Viewer, start: Iterable[int], limit: int = NETWORK_LIMIT
    ) -> Walk:
        """The network around `start`, breadth-first, only through reports `viewer` may see,
        stopping as soon as it holds more than `limit` reports (then cut to `limit`).

        Each step expands a chunk of the current level: one statement finds the reports sharing
        a linkable value with it, a second keeps the new ones `viewer` may see. In a large
        network the last level is much bigger than what still fits (at 1,000,000 indicators a
        level of 342 reports leads to 5,695 more), so a chunk is sized from the yield of the
        step before: enough reports to fill the room left, not the whole level. Which
        reports a cut network keeps is decided by the data alone (ids in ascending order,
        chunk sizes from earlier yields), the same on every engine."""
        visible = self._visible_query(viewer)
        starts = sorted(await self._visible_ids(session, viewer, start, visible))
        if len(starts) > limit:
            return Walk(starts[:limit], truncated=True, limit=limit)
        seen = set(starts)
        frontier = starts
        sharing = self._sharing()
        per_report: float | None = None  # new reports found per report expanded, so far
        while frontier:
            level: list[int] = []
            position = 0
            while position < len(frontier):
                room = limit + 1 - len(seen)  # one more than fits: finding it proves the cut
                wanted = len(frontier) if per_report is None else max(WALK_CHUNK, math.ceil(room / per_report))
                chunk = frontier[position : position + min(wanted, IN_BATCH)]
                position += len(chunk)
                found = set(await session.scalars(sharing, {"numbers": chunk})) - seen
                new = sorted(await self._visible_ids(session, viewer, found, visible))
                per_report = max(len(new), 1) / len(chunk)
                if len(new) >= room:
                    seen.update(new[: room - 1])
                    return Walk(sorted(seen), truncated=True, limit=limit)
                seen.update(new)
                level += new
            frontier = sorted(level)
        return Walk(sorted(seen), truncated=False, limit=limit)

    async def describe(self, session: AsyncSession, viewer: Viewer, walk: Walk) -> Network:
        """A walked network as `viewer` may see it: its one-page figures and the rows of its
        file, in a fixed number of statements whatever its size. Only the network's own
        reports are read, so a hidden report is never counted."""
        ids = walk.ids
        reports = list(
            await session.execute(
                select(
                    IntelReport.id,
                    IntelReport.organisation_id,
                    Organisation.name.label("organisation"),
                    IntelReport.working_group_id,
                    WorkingGroup.name.label("group"),
                    IntelReport.tlp,
                    IntelReport.created_at,
                    IntelReport.title,
                )
                .join(Organisation, Organisation.id == IntelReport.organisation_id)
                .join(WorkingGroup, WorkingGroup.id == IntelReport.working_group_id)
                .where(IntelReport.id.in_(ids))
                .order_by(IntelReport.id)
            )
        )
        values = list(
            await session.execute(
                select(IntelIndicator.report_id, IntelIndicator.type, IntelIndicator.value).where(
                    IntelIndicator.report_id.in_(ids)
                )
            )
        )
        shared = await self._shared(session, ids)
        takedowns, other_takedowns, takedown_ids = await self._takedowns(session, viewer, ids)
        exported = {row.id for row in reports if row.tlp in EXPORTABLE}
        linking: dict[int, list[Value]] = defaultdict(list)  # exported report → its shared linkable values
        for number, kind, value in values:
            if number in exported and (kind, value) in shared:
                linking[number].append((kind, value))
        in_file = Counter(pair for pairs in linking.values() for pair in pairs)
        by_type = Counter(kind for kind, _value in {(kind, value) for _number, kind, value in values})
        newest = sorted(reports, key=lambda row: (row.created_at, row.id), reverse=True)
        return Network(
            ids=ids,
            truncated=walk.truncated,
            limit=walk.limit,
            brands=len({row.organisation_id for row in reports}),
            brand_names=sorted({row.organisation for row in reports if row.working_group_id in viewer.group_ids}),
            groups=sorted({row.group for row in reports}),
            first_seen=newest[-1].created_at if newest else None,
            last_seen=newest[0].created_at if newest else None,
            values_by_type=dict(sorted(by_type.items(), key=lambda item: (-item[1], item[0]))),
            hubs=[
                Hub(kind, value, count)
                for (kind, value), count in sorted(shared.items(), key=lambda item: (-item[1], item[0]))[:HUBS]
            ],
            recent=[row.id for row in newest[:RECENT]],
            takedowns=takedowns,
            other_takedowns=other_takedowns,
            takedown_ids=takedown_ids,
            rows=[
                NetworkRow(
                    id=row.id,
                    tlp=Tlp(row.tlp),
                    group=row.group,
                    created_at=row.created_at,
                    title=row.title,
                    linking=tuple(sorted(pair for pair in linking[row.id] if in_file[pair] > 1)),
                )
                for row in reports
                if row.id in exported
            ],
            unexported=len(reports) - len(exported),
        )

    async def _shared(self, session: AsyncSession, ids: Sequence[int]) -> dict[Value, int]:
        """The values that link reports of the network (`ids`), with how many of them hold each:
        values in two or more of them that are neither common nor warninglisted. Grouped by the
        database first, so only the few hundred shared values are checked, not every value."""
        held = (
            select(IntelIndicator.type, IntelIndicator.value, func.count().label("reports"))
            .where(IntelIndicator.report_id.in_(ids))
            .group_by(IntelIndicator.type, IntelIndicator.value)
            .having(func.count() > 1)
            .subquery()
        )
        rows = await session.execute(
            select(held.c.type, held.c.value, held.c.reports).where(
                live_reports(held.c) <= self.common_cap, ~warninglisted(held.c)
            )
        )
        return {(kind, value): count for kind, value, count in rows}

    async def _takedowns(
        self, session: AsyncSession, viewer: Viewer, ids: Sequence[int]
    ) -> tuple[dict[TakedownStatus, int], int, list[TakedownRef]]:
        """Takedowns on the network's listings: how many of those `viewer` may see are in each
        status (their organisation's; every one for reviewers and admins), how many others
        there are, and the ids of the visible ones when there are few enough to name.

        One aggregate over the (listing_key, status, organisation_id) index: a large network's
        listings carry tens of thousands of takedowns, too many to load as rows."""
        listings = select(IntelIndicator.value).where(
            IntelIndicator.type == "listing", IntelIndicator.report_id.in_(ids)
        )
        mine: ColumnElement[bool] = (
            true() if viewer.sees_all_takedowns else Takedown.organisation_id == viewer.organisation_id
        )
        counts: dict[TakedownStatus, int] = {}
        others = 0
        rows = await session.execute(
            select(Takedown.status, func.count(), func.sum(case((mine, 1), else_=0)))
            .where(Takedown.listing_key.in_(listings))
            .group_by(Takedown.status)
        )
        for status, count, visible in rows:
            counts[TakedownStatus(status)] = int(visible)
            others += count - int(visible)
        named: list[TakedownRef] = []
        if 0 < sum(counts.values()) <= TAKEDOWN_IDS:
            query = select(Takedown.id, Takedown.status).where(Takedown.listing_key.in_(listings), mine)
            rows = await session.execute(query.order_by(Takedown.id))
            named = [TakedownRef(number, TakedownStatus(status)) for number, status in rows]
        ordered = {status: counts[status] for status in TakedownStatus if counts.get(status)}
        return ordered, others, named

    async def components(
        self, session: AsyncSession, report_ids: Sequence[int], *, part_of: Mapping[int, int] | None = None
    ) -> list[set[int]]:
        """Connected components among `report_ids` (union-find over their linkable values); with
        `part_of`, reports of different parts never link (a digest's networks stay in one group).

        Reads the reports' values a batch at a time (a covering-index range of intel_indicator),
        so neither memory nor the event loop holds every row at once; the values that do not
        link (common or warninglisted: a few thousand at most) are read once and skipped. Plain
        Core rows and one dictionary step per row: a digest reads hundreds of thousands."""
        parent = {number: number for number in report_ids}

        def root(number: int) -> int:
            while parent[number] != number:
                parent[number] = parent[parent[number]]
                number = parent[number]
            return number

        # A value as one string, `type:value` (no type has a colon): one object per row, not three.
        unlinkable: set[str] = set(
            await session.scalars(select(_joined(IntelValue)).where(IntelValue.reports > self.common_cap))
        )
        unlinkable.update(await session.scalars(select(_joined(WarninglistEntry))))
        parts: dict[int | None, list[int]] = defaultdict(list)
        for number in sorted(parent):
            parts[part_of[number] if part_of is not None else None].append(number)
        connection = await session.connection()
        for numbers in parts.values():
            first_with: dict[str, int] = {}
            for batch in batches(numbers, COMPONENT_BATCH):
                for number, value in await _values_of(connection, batch):
                    if value in unlinkable:
                        continue
                    other = first_with.setdefault(value, number)
                    if other != number:
                        mine, theirs = root(number), root(other)
                        if mine != theirs:
                            parent[mine] = theirs
        groups: dict[int, set[int]] = defaultdict(set)
        for index, number in enumerate(parent, start=1):
            groups[root(number)].add(number)
            if index % (COMPONENT_BATCH * 10) == 0:
                await asyncio.sleep(0)  # tens of thousands of reports: let the event loop run between
        return list(groups.values())
