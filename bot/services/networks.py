"""Correlation: reports that share a normalised indicator value are linked (MISP-style exact
matching); a network is a connected set of linked reports.

Values on the warninglist never link; a value found in more than `common_cap` live reports
(default 50) is "common" and stops linking, as MISP's over-correlation limit does. A network is
walked only through reports the viewer may see, so it is never larger than their clearance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.indicators import Indicator
from bot.services.tlp import Viewer, visible_condition
from db.models import IntelIndicator, IntelReport, Takedown, Tlp, WarninglistEntry

Value = tuple[str, str]  # (type, normalised value)
NETWORK_LIMIT = 500  # reports; a bigger network is cut and says so
IN_BATCH = 5000  # ids per IN (...) list


@dataclass(frozen=True)
class Link:
    report: IntelReport
    shared: tuple[Value, ...]


@dataclass
class Correlation:
    visible: list[Link] = field(default_factory=list)
    common: list[Indicator] = field(default_factory=list)
    warned: list[Indicator] = field(default_factory=list)
    foreign_groups: set[int] = field(default_factory=set)  # other groups holding matching AMBER intel


@dataclass
class Network:
    reports: list[IntelReport]
    values: dict[Value, tuple[str, int]]  # value → (display, how many reports in the network have it)
    brands: int
    brand_names: list[str]  # only those in the viewer's own groups
    first_seen: datetime | None
    last_seen: datetime | None
    takedowns: list[Takedown]  # on the network's listings, those the viewer may see
    other_takedowns: int  # on the same listings, by organisations the viewer may not see
    truncated: bool


class Correlator:
    def __init__(self, common_cap: int = 50) -> None:
        self.common_cap = common_cap

    async def _linkable(
        self, session: AsyncSession, values: Iterable[Value]
    ) -> tuple[set[Value], set[Value], set[Value]]:
        """Split values into (linkable, common, warninglisted)."""
        wanted = set(values)
        if not wanted:
            return set(), set(), set()
        warned_rows = await session.execute(
            select(WarninglistEntry.type, WarninglistEntry.value).where(
                tuple_(WarninglistEntry.type, WarninglistEntry.value).in_(wanted)
            )
        )
        warned: set[Value] = {(kind, value) for kind, value in warned_rows}
        counts = await session.execute(
            select(IntelIndicator.type, IntelIndicator.value, func.count(func.distinct(IntelIndicator.report_id)))
            .join(IntelReport, IntelReport.id == IntelIndicator.report_id)
            .where(
                tuple_(IntelIndicator.type, IntelIndicator.value).in_(wanted - warned),
                IntelReport.retracted_at.is_(None),
            )
            .group_by(IntelIndicator.type, IntelIndicator.value)
        )
        common = {(kind, value) for kind, value, count in counts if count > self.common_cap}
        return wanted - warned - common, common, warned

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
        rows = await session.execute(
            select(IntelIndicator.report_id, IntelIndicator.type, IntelIndicator.value)
            .join(IntelReport, IntelReport.id == IntelIndicator.report_id)
            .where(
                tuple_(IntelIndicator.type, IntelIndicator.value).in_(linkable),
                IntelIndicator.report_id != report.id,
                IntelReport.retracted_at.is_(None),
            )
        )
        shared: dict[int, list[Value]] = defaultdict(list)
        for other, kind, value in rows:
            shared[other].append((kind, value))
        if not shared:
            return result
        visible = {
            r.id: r
            for r in await session.scalars(
                select(IntelReport)
                .where(IntelReport.id.in_(shared), visible_condition(viewer))
                .order_by(IntelReport.id)
            )
        }
        result.visible = [Link(visible[number], tuple(sorted(shared[number]))) for number in sorted(visible)]
        hidden = set(shared) - set(visible)
        if hidden:
            result.foreign_groups = set(
                await session.scalars(
                    select(IntelReport.working_group_id).where(
                        IntelReport.id.in_(hidden),
                        IntelReport.tlp == Tlp.AMBER,
                        IntelReport.working_group_id != report.working_group_id,
                    )
                )
            )
        return result

    async def network(self, session: AsyncSession, viewer: Viewer, start: Iterable[int]) -> Network:
        """Walk links breadth-first from `start`, only through reports `viewer` may see."""
        seen: dict[int, IntelReport] = {
            r.id: r
            for r in await session.scalars(
                select(IntelReport).where(IntelReport.id.in_(set(start)), visible_condition(viewer))
            )
        }
        frontier = set(seen)
        truncated = False
        while frontier and not truncated:
            rows = await session.execute(
                select(IntelIndicator.type, IntelIndicator.value).where(IntelIndicator.report_id.in_(frontier))
            )
            values = {(kind, value) for kind, value in rows}
            linkable, _, _ = await self._linkable(session, values)
            if not linkable:
                break
            sharing = select(IntelIndicator.report_id).where(
                tuple_(IntelIndicator.type, IntelIndicator.value).in_(linkable)
            )
            found = list(
                await session.scalars(
                    select(IntelReport)
                    .where(IntelReport.id.in_(sharing), IntelReport.id.not_in(seen), visible_condition(viewer))
                    .order_by(IntelReport.id)
                    .limit(NETWORK_LIMIT)
                )
            )
            frontier = {r.id for r in found}
            for r in found:
                seen[r.id] = r
            truncated = len(seen) >= NETWORK_LIMIT
        return await self._describe(session, viewer, list(seen.values()), truncated)

    async def _describe(
        self, session: AsyncSession, viewer: Viewer, reports: list[IntelReport], truncated: bool
    ) -> Network:
        counts: dict[Value, int] = defaultdict(int)
        display: dict[Value, str] = {}
        for report in reports:
            for i in report.indicators:
                counts[(i.type, i.value)] += 1
                display[(i.type, i.value)] = i.display
        listings = [value for kind, value in counts if kind == "listing"]
        on_listings = (
            list(
                await session.scalars(select(Takedown).where(Takedown.listing_key.in_(listings)).order_by(Takedown.id))
            )
            if listings
            else []
        )
        takedowns = [t for t in on_listings if viewer.sees_all_takedowns or t.organisation_id == viewer.organisation_id]
        own_group_orgs = sorted({r.organisation.name for r in reports if r.working_group_id in viewer.group_ids})
        moments = [r.created_at for r in reports]
        return Network(
            reports=sorted(reports, key=lambda r: r.id),
            values={value: (display[value], count) for value, count in sorted(counts.items())},
            brands=len({r.organisation_id for r in reports}),
            brand_names=own_group_orgs,
            first_seen=min(moments) if moments else None,
            last_seen=max(moments) if moments else None,
            takedowns=takedowns,
            other_takedowns=len(on_listings) - len(takedowns),
            truncated=truncated,
        )

    async def components(self, session: AsyncSession, report_ids: list[int]) -> list[set[int]]:
        """Connected components among `report_ids` (union-find over their linkable values)."""
        if not report_ids:
            return []
        rows: list[tuple[int, str, str]] = []
        for start in range(0, len(report_ids), IN_BATCH):  # SQLite caps bound parameters per statement
            batch = report_ids[start : start + IN_BATCH]
            found = await session.execute(
                select(IntelIndicator.report_id, IntelIndicator.type, IntelIndicator.value).where(
                    IntelIndicator.report_id.in_(batch)
                )
            )
            rows += [(number, kind, value) for number, kind, value in found]
        values = {(kind, value) for _, kind, value in rows}
        linkable: set[Value] = set()
        ordered = sorted(values)
        for start in range(0, len(ordered), IN_BATCH // 2):
            batch_linkable, _, _ = await self._linkable(session, ordered[start : start + IN_BATCH // 2])
            linkable |= batch_linkable
        parent = {number: number for number in report_ids}

        def root(number: int) -> int:
            while parent[number] != number:
                parent[number] = parent[parent[number]]
                number = parent[number]
            return number

        first_with: dict[Value, int] = {}
        for number, kind, value in rows:
            if (kind, value) not in linkable:
                continue
            other = first_with.setdefault((kind, value), number)
            parent[root(number)] = root(other)
        groups: dict[int, set[int]] = defaultdict(set)
        for number in report_ids:
            groups[root(number)].add(number)
        return list(groups.values())
