"""Correlation: reports that share a normalised indicator value are linked (MISP-style exact
matching); a network is a connected set of linked reports.

Values on the warninglist never link; a value found in more than `common_cap` live reports
(default 50) is "common" and stops linking, as MISP's over-correlation limit does. A network is
walked only through reports the viewer may see, so it is never larger than their clearance.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.services.indicators import Indicator
from bot.services.tlp import Viewer, visible_condition
from db.models import (
    IntelIndicator,
    IntelReport,
    IntelValue,
    Organisation,
    Takedown,
    TakedownStatus,
    Tlp,
    WarninglistEntry,
)

Value = tuple[str, str]  # (type, normalised value)
NETWORK_LIMIT = 500  # reports; a bigger network is cut and says so
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


def has_value(model: type[IntelIndicator | IntelValue | WarninglistEntry], groups: Groups) -> Any:
    """`(type = ? AND value IN (…)) OR …`: an index lookup per value, and a statement SQLAlchemy
    compiles once. SQLite plans `(type, value) IN (VALUES …)` as a scan of the whole table it
    filters (1M indicators), and a join with a VALUES table costs a fresh compile per call."""
    return or_(*(and_(model.type == kind, model.value.in_(values)) for kind, values in groups))


@dataclass(frozen=True)
class ReportRef:
    """What a link or a network shows of a report: never more than the reply needs."""

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


@dataclass
class Network:
    reports: list[ReportRef]
    values: dict[Value, tuple[str, int]]  # value → (display, how many reports in the network have it)
    brands: int
    brand_names: list[str]  # only those in the viewer's own groups
    first_seen: datetime | None
    last_seen: datetime | None
    takedowns: list[TakedownRef]  # on the network's listings, those the viewer may see
    other_takedowns: int  # on the same listings, by organisations the viewer may not see
    truncated: bool


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

    async def _visible_ids(self, session: AsyncSession, viewer: Viewer, ids: Iterable[int]) -> set[int]:
        found: set[int] = set()
        for batch in batches(sorted(set(ids)), IN_BATCH):
            query = select(IntelReport.id).where(IntelReport.id.in_(batch), visible_condition(viewer))
            found.update(await session.scalars(query))
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

    async def network(self, session: AsyncSession, viewer: Viewer, start: Iterable[int]) -> Network:
        """Walk links breadth-first from `start`, only through reports `viewer` may see. The walk
        moves ids only; the details are loaded once, for the reports the reply names."""
        seen = await self._visible_ids(session, viewer, start)
        frontier = set(seen)
        truncated = False
        while frontier and not truncated:
            values: set[Value] = set()
            for numbers in batches(sorted(frontier), IN_BATCH):
                rows = await session.execute(
                    select(IntelIndicator.type, IntelIndicator.value).where(IntelIndicator.report_id.in_(numbers))
                )
                values.update((kind, value) for kind, value in rows)
            linkable, _, _ = await self._linkable(session, values)
            if not linkable:
                break
            sharing: set[int] = set()
            for groups in value_batches(linkable):
                sharing.update(
                    await session.scalars(select(IntelIndicator.report_id).where(has_value(IntelIndicator, groups)))
                )
            found = sorted(await self._visible_ids(session, viewer, sharing - seen))[:NETWORK_LIMIT]
            frontier = set(found)
            seen |= frontier
            truncated = len(seen) >= NETWORK_LIMIT
        return await self._describe(session, viewer, seen, truncated)

    async def _describe(self, session: AsyncSession, viewer: Viewer, ids: set[int], truncated: bool) -> Network:
        reports = await self._refs(session, ids)
        counts: dict[Value, int] = defaultdict(int)
        display: dict[Value, str] = {}
        for batch in batches(sorted(ids), IN_BATCH):
            rows = await session.execute(
                select(IntelIndicator.type, IntelIndicator.value, IntelIndicator.display)
                .where(IntelIndicator.report_id.in_(batch))
                .order_by(IntelIndicator.report_id, IntelIndicator.id)
            )
            for kind, value, shown in rows:
                counts[(kind, value)] += 1
                display[(kind, value)] = shown
        listings = sorted(value for kind, value in counts if kind == "listing")
        takedowns: list[TakedownRef] = []
        others = 0
        for listing_batch in batches(listings, IN_BATCH):
            found = await session.execute(
                select(Takedown.id, Takedown.status, Takedown.organisation_id)
                .where(Takedown.listing_key.in_(listing_batch))
                .order_by(Takedown.id)
            )
            for number, status, organisation in found:
                if viewer.sees_all_takedowns or organisation == viewer.organisation_id:
                    takedowns.append(TakedownRef(number, status))
                else:
                    others += 1
        own_group_orgs = {r.organisation_id for r in reports if r.working_group_id in viewer.group_ids}
        names = (
            sorted(await session.scalars(select(Organisation.name).where(Organisation.id.in_(own_group_orgs))))
            if own_group_orgs
            else []
        )
        moments = [r.created_at for r in reports]
        return Network(
            reports=reports,
            values={value: (display[value], count) for value, count in sorted(counts.items())},
            brands=len({r.organisation_id for r in reports}),
            brand_names=names,
            first_seen=min(moments) if moments else None,
            last_seen=max(moments) if moments else None,
            takedowns=sorted(takedowns, key=lambda t: t.id),
            other_takedowns=others,
            truncated=truncated,
        )

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
