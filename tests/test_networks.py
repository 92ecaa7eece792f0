"""`Correlator.walk` and `Correlator.describe` on every engine: where a large network is cut, and
how a network's takedowns are counted. (Which reports a network holds for each viewer is checked
against the TLP oracle in tests/test_tlp_properties.py; the page and its file end to end in
tests/e2e/test_intel.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.networks import Correlator, TakedownRef
from bot.services.tlp import Viewer
from db.engine import SessionFactory
from db.models import (
    IntelIndicator,
    IntelReport,
    IpRight,
    Organisation,
    RightKind,
    Takedown,
    TakedownReason,
    TakedownStatus,
    Tlp,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ANYONE = Viewer(user_id=99, community=True, group_ids=frozenset(), organisation_id=1)
REVIEWER = Viewer(user_id=98, community=True, group_ids=frozenset(), sees_all_takedowns=True)


@pytest.fixture
async def sessions(migrated: SessionFactory) -> SessionFactory:
    async with migrated.begin() as session:
        for number in (1, 2):
            session.add(Organisation(id=number, name=f"Brand {number}", name_key=f"brand {number}", created_at=NOW))
            session.add(
                IpRight(
                    id=number,
                    organisation_id=number,
                    kind=RightKind.trademark,
                    number=f"TM-{number}",
                    jurisdiction="CN",
                    created_at=NOW,
                )
            )
    return migrated


async def add_reports(sessions: SessionFactory, values: list[set[tuple[str, str]]]) -> list[int]:
    """CLEAR reports with these values, in this order; their ids."""
    async with sessions.begin() as session:
        rows = [
            IntelReport(
                author_id=1,
                organisation_id=1,
                working_group_id=1,
                tlp=Tlp.CLEAR,
                title=f"report {n}",
                body="seen",
                unrecognised=[],
                created_at=NOW + timedelta(minutes=n),
                updated_at=NOW,
                indicators=[IntelIndicator(type=t, value=v, display=v) for t, v in sorted(held)],
            )
            for n, held in enumerate(values)
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def tree(sessions: SessionFactory) -> tuple[int, list[int], list[int]]:
    """A start report, three reports one link away from it and nine two links away (each of the
    three shares a value with three of them): (start, first ring, second ring)."""
    values = [{("phone", f"+8613800000{a}") for a in range(3)}]
    values += [{("phone", f"+8613800000{a}"), ("qq", f"1000{a}")} for a in range(3)]
    values += [{("qq", f"1000{a}"), ("waybill", f"SF{a}{b}")} for a in range(3) for b in range(3)]
    ids = await add_reports(sessions, values)
    return ids[0], ids[1:4], ids[4:]


@pytest.mark.parametrize("limit", [6, 12])
async def test_a_network_larger_than_the_limit_is_cut_to_its_nearest_reports(
    sessions: SessionFactory, limit: int
) -> None:
    start, ring, outer = await tree(sessions)
    async with sessions() as session:
        walk = await Correlator().walk(session, ANYONE, [start], limit)
    assert walk.truncated and walk.limit == limit and len(walk.ids) == limit
    assert {start, *ring} <= set(walk.ids)  # every report one link away before any two away
    assert len(set(walk.ids) & set(outer)) == limit - 4
    assert walk.ids == sorted(walk.ids)


async def test_a_network_exactly_at_the_limit_is_whole(sessions: SessionFactory) -> None:
    start, ring, outer = await tree(sessions)
    async with sessions() as session:
        walk = await Correlator().walk(session, ANYONE, [outer[0]], 13)
    assert not walk.truncated and set(walk.ids) == {start, *ring, *outer}


async def test_more_starting_reports_than_the_limit_keep_the_lowest_ids(sessions: SessionFactory) -> None:
    start, ring, _outer = await tree(sessions)
    async with sessions() as session:
        walk = await Correlator().walk(session, ANYONE, [*ring, start], 3)
    assert walk.truncated and walk.ids == sorted([start, *ring])[:3]


async def add_takedowns(sessions: SessionFactory, listing: str, filed: list[tuple[int, TakedownStatus]]) -> list[int]:
    async with sessions.begin() as session:
        rows = [
            Takedown(
                organisation_id=organisation,
                right_id=organisation,
                filer_id=organisation,
                marketplace="taobao",
                listing_key=listing,
                listing_url=f"https://item.taobao.com/item.htm?id={listing.split(':')[1]}",
                submitted_url="https://item.taobao.com/",
                reason=TakedownReason.counterfeit,
                good_faith_statement="in good faith",
                status=status,
                filed_at=NOW,
                due_at=NOW + timedelta(days=1),
                at_risk_at=NOW + timedelta(hours=18),
            )
            for organisation, status in filed
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def test_takedowns_on_a_networks_listings_are_counted_by_status_and_named_when_few(
    sessions: SessionFactory,
) -> None:
    listing, other = "taobao:612345678901", "taobao:612345678999"
    [first, second] = await add_reports(sessions, [{("listing", listing), ("qq", "5")}, {("qq", "5")}])
    s, w, x, i = TakedownStatus.submitted, TakedownStatus.withdrawn, TakedownStatus.rejected, TakedownStatus.reinstated
    mine = await add_takedowns(sessions, listing, [(1, s), (1, w), (2, x), (2, s), (2, i)])
    await add_takedowns(sessions, other, [(1, s)])  # on a listing the network does not hold
    async with sessions() as session:
        correlator = Correlator()
        walk = await correlator.walk(session, ANYONE, [second])
        assert walk.ids == [first, second]
        member = await correlator.describe(session, ANYONE, walk)
        reviewer = await correlator.describe(session, REVIEWER, walk)
    assert member.takedowns == {s: 1, w: 1} and member.other_takedowns == 3
    assert member.takedown_ids == [TakedownRef(mine[0], s), TakedownRef(mine[1], w)]
    assert reviewer.takedowns == {s: 2, x: 1, w: 1, i: 1} and reviewer.other_takedowns == 0
    assert [t.id for t in reviewer.takedown_ids] == mine  # five: still named

    await add_takedowns(sessions, listing, [(2, w)])
    async with sessions() as session:
        reviewer = await correlator.describe(session, REVIEWER, walk)
    assert reviewer.takedowns == {s: 2, x: 1, w: 2, i: 1} and reviewer.takedown_ids == []  # six: counted only
