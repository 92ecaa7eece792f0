"""The digests' figures against a plain-Python oracle, on generated data and on every engine.

The alliance digest reads each figure for all groups with one grouped statement, and a group
digest is the same code for one group: both must give what the definitions below give, group by
group, with the requests and reports at the edges of the period, without a group, in an archived
group, and with values shared across groups (which never link networks across groups). The
aggregate form of the seller-flag rule must flag exactly whom `seller_flags` flags.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert, update

from bot.services.business_time import BusinessCalendar
from bot.services.cases import Totals
from bot.services.digests import ALLIANCE, DigestService, Figures, Schedule
from bot.services.intel import report_id
from bot.services.networks import Correlator
from bot.services.takedowns import flag_tuple, flagged_sellers, seller_flags, takedown_id
from db.engine import SessionFactory, create_engine, create_session_factory
from db.migrate import upgrade
from db.models import (
    CounterState,
    EnforcementCase,
    IntelIndicator,
    IntelReport,
    IntelSighting,
    IpRight,
    Organisation,
    Takedown,
    TakedownStatus,
    Tlp,
    WarninglistEntry,
    WorkingGroup,
)

END = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
START = END - timedelta(days=7)
GROUPS = (1, 2, 3, 4)
ARCHIVED = 4  # no digest row of its own, but its decisions count in the alliance's median
COMMON_CAP = 6  # a value in more live reports than this links nothing
WARNED = ("phone", "+8640000000001")
CALENDAR = BusinessCalendar("Asia/Shanghai", "CN")
Value = tuple[str, str]


@dataclass
class World:
    organisations: list[dict[str, Any]] = field(default_factory=list)
    takedowns: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    values: dict[int, set[Value]] = field(default_factory=dict)
    sightings: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)


def moment(rng: random.Random) -> datetime:
    """Mostly within three weeks around the period, often exactly on its edges."""
    edge = rng.random()
    if edge < 0.06:
        return START
    if edge < 0.12:
        return END
    if edge < 0.16:
        return END - timedelta(microseconds=1)
    return END + timedelta(minutes=rng.randint(-21 * 24 * 60, 2 * 24 * 60))


def takedown(number: int, organisation: int, group: int | None, listing: str, seller: str | None) -> dict[str, Any]:
    return {
        "id": number,
        "organisation_id": organisation,
        "right_id": organisation,
        "working_group_id": group,
        "guild_id": None,
        "filer_id": 1,
        "bulk_id": None,
        "marketplace": "taobao",
        "listing_key": listing,
        "listing_url": f"https://item.taobao.com/item.htm?id={listing[7:]}",
        "submitted_url": f"https://item.taobao.com/item.htm?id={listing[7:]}",
        "reason": "counterfeit",
        "seller_key": seller,
        "seller_text": None,
        "note": "",
        "evidence": [],
        "good_faith_statement": "in good faith",
        "decided_by": None,
        "at_risk_alerted_at": None,
        "breach_alerted_at": None,
        "counter_deadline": None,
        "counter_note": None,
        "review_channel_id": None,
        "review_message_id": None,
    }


def generate(seed: int) -> World:
    rng = random.Random(seed)
    world = World()
    for number in range(1, 13):
        world.organisations.append(
            {
                "id": number,
                "name": f"{rng.choice(('Aurel', 'Kestrel', 'Lumen', 'Orchid'))} {number:02d}",  # one order everywhere
                "name_key": f"brand {number}",
                "working_group_id": rng.choice((*GROUPS, None)),
                "created_at": moment(rng),
            }
        )
    active: set[tuple[int, str]] = set()
    sellers = [f"taobao:shop{n}" for n in range(12)]
    shared_due = END - timedelta(hours=5)  # several overdue requests due at the same instant
    for number in range(1, 361):
        organisation = rng.randint(1, 12)
        listing = f"taobao:{600000 + rng.randrange(40)}"
        row = takedown(number, organisation, rng.choice((*GROUPS, None)), listing, rng.choice((*sellers, None)))
        status = rng.choice(list(TakedownStatus))
        if status in (TakedownStatus.submitted, TakedownStatus.needs_info, TakedownStatus.removed):
            if (organisation, listing) in active:
                status = TakedownStatus.rejected
            active.add((organisation, listing))
        filed = moment(rng)
        due = shared_due if rng.random() < 0.1 else filed + timedelta(hours=rng.choice((1, 24, 30, 72)))
        decided = None
        if status in (TakedownStatus.removed, TakedownStatus.rejected, TakedownStatus.reinstated):
            decided = moment(rng) if rng.random() < 0.5 else filed + timedelta(hours=rng.uniform(0.5, 60))
        counter = None
        if status == TakedownStatus.removed:
            counter = rng.choice((None, None, CounterState.awaiting_filer, CounterState.upheld, CounterState.upheld))
        elif status == TakedownStatus.reinstated:
            counter = CounterState.reinstated
        row |= {
            "status": status,
            "filed_at": filed,
            "due_at": due,
            "at_risk_at": due,
            "decided_at": decided,
            "closed_at": moment(rng) if status not in (TakedownStatus.submitted, TakedownStatus.needs_info) else None,
            "counter_state": counter,
            "counter_filed_at": moment(rng) if counter else None,
        }
        world.takedowns.append(row)
    # Mostly values of the report's own group (networks), sometimes one another group also has.
    pools: dict[int, list[Value]] = {
        group: [("phone", f"+861380013{group}{n:02d}") for n in range(15)]
        + [("wechat", f"lucky_{group}_{n}") for n in range(10)]
        for group in GROUPS
    }
    for number in range(1, 151):
        retracted = rng.random() < 0.1
        created = moment(rng)
        world.reports.append(
            {
                "id": number,
                "author_id": 1,
                "organisation_id": rng.randint(1, 12),
                "working_group_id": rng.choice(GROUPS),
                "guild_id": None,
                "tlp": rng.choice(list(Tlp)),
                "title": f"Lead {number:03d}",
                "body": "seen",
                "unrecognised": [],
                "created_at": created,
                "updated_at": created,
                "retracted_at": created if retracted else None,
                "card_channel_id": None,
                "card_message_id": None,
                "thread_id": None,
            }
        )
        group = world.reports[-1]["working_group_id"]
        values = set(rng.sample(pools[group if rng.random() < 0.8 else rng.choice(GROUPS)], rng.randint(1, 3)))
        if rng.random() < 0.15:
            values.add(WARNED)
        if rng.random() < 0.1:
            values.add(("address", "yiwu international trade city"))  # in more than COMMON_CAP reports
        world.values[number] = values
    users: set[tuple[int, int]] = set()
    for number in range(1, 61):
        report, user = rng.randint(1, 150), rng.randint(1, 6)
        if (report, user) not in users:
            users.add((report, user))
            world.sightings.append(
                {
                    "id": number,
                    "report_id": report,
                    "user_id": user,
                    "organisation_id": None,
                    "note": "",
                    "at": moment(rng),
                }
            )
    for number in range(1, 21):
        world.cases.append(
            {
                "id": number,
                "working_group_id": rng.choice(GROUPS),
                "logged_by": 1,
                "action_date": date(2026, 3, 1),
                "arrests": rng.randint(0, 5),
                "locations": rng.randint(1, 3),
                "seizure_value": Decimal(rng.randint(100, 900_000)) / 100,
                "currency": rng.choice(("CNY", "USD")),
                "summary": "raid",
                "intel_report_id": None,
                "created_at": moment(rng),
            }
        )
    world.takedowns += edges()
    return world


def edges() -> list[dict[str, Any]]:
    """Requests on the rules' edges: a seller at the flag threshold (who filed against group 1 only
    after the period), one a listing short of it (two members reported one of its listings), a
    decision at its due instant, a request due at the period's end."""
    early, hour = START - timedelta(days=1), timedelta(hours=1)
    removed, reinstated, upheld = TakedownStatus.removed, TakedownStatus.reinstated, CounterState.upheld
    rows = [
        (901, 1, 2, "taobao:700001", "taobao:edge", removed, None, early, START + hour, START),
        (902, 2, 2, "taobao:700002", "taobao:edge", reinstated, CounterState.reinstated, early, START, START),
        (903, 3, 2, "taobao:700003", "taobao:edge", removed, None, early, START, START),
        (904, 4, 1, "taobao:700004", "taobao:edge", TakedownStatus.rejected, None, END, END + hour, END),
        (905, 1, 3, "taobao:700011", "taobao:short", removed, upheld, early, START, START),
        (906, 2, 3, "taobao:700011", "taobao:short", removed, upheld, early, START, START),
        (907, 3, 3, "taobao:700012", "taobao:short", removed, upheld, early, START, START),
        (908, 5, 3, "taobao:700021", None, removed, None, early, START + hour, START + hour),
        (909, 5, 3, "taobao:700022", None, TakedownStatus.submitted, None, early, END, None),
    ]
    return [
        takedown(number, organisation, group, listing, seller)
        | {
            "status": status,
            "filed_at": filed,
            "due_at": due,
            "at_risk_at": due,
            "decided_at": decided,
            "closed_at": decided,
            "counter_state": counter,
            "counter_filed_at": START if counter else None,
        }
        for number, organisation, group, listing, seller, status, counter, filed, due, decided in rows
    ]


async def store(sessions: SessionFactory, world: World) -> None:
    async with sessions.begin() as session:
        await session.execute(update(WorkingGroup).where(WorkingGroup.id == ARCHIVED).values(archived=True))
        await session.execute(insert(Organisation), world.organisations)
        rights = [
            {
                "id": o["id"],
                "organisation_id": o["id"],
                "kind": "trademark",
                "number": f"TM-{o['id']}",
                "jurisdiction": "CN",
                "expires_on": None,
                "created_at": START,
            }
            for o in world.organisations
        ]
        await session.execute(insert(IpRight), rights)
        await session.execute(insert(Takedown), world.takedowns)
        await session.execute(insert(IntelReport), world.reports)
        indicators = [
            {"report_id": number, "type": kind, "value": value, "display": value}
            for number, values in world.values.items()
            for kind, value in sorted(values)
        ]
        await session.execute(insert(IntelIndicator), indicators)
        await session.execute(insert(IntelSighting), world.sightings)
        await session.execute(insert(EnforcementCase), world.cases)
        warned = {"type": WARNED[0], "value": WARNED[1], "display": WARNED[1], "added_by": 1, "added_at": START}
        await session.execute(insert(WarninglistEntry), [warned])


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield create_session_factory(engine)
    await engine.dispose()


def within(moment: datetime | None) -> bool:
    return moment is not None and START <= moment < END


def networks(world: World, group: int, levels: tuple[Tlp, ...]) -> list[tuple[int, int]]:
    """A naive walk: reports of the group at these levels, live, shared before the end, linked by
    a value that is neither warninglisted nor in more than COMMON_CAP live reports (of any group
    and any time: the count the database keeps)."""
    live = [r for r in world.reports if r["retracted_at"] is None]
    carried = Counter(value for r in live for value in world.values[r["id"]])
    linkable = {value for value, count in carried.items() if count <= COMMON_CAP and value != WARNED}
    members = {
        r["id"]: r["created_at"]
        for r in live
        if r["working_group_id"] == group and r["tlp"] in levels and r["created_at"] < END
    }
    found: list[tuple[int, int]] = []
    seen: set[int] = set()
    for first in sorted(members):
        if first in seen:
            continue
        component, frontier = {first}, [first]
        while frontier:
            here = frontier.pop()
            for other in members:
                if other not in component and world.values[here] & world.values[other] & linkable:
                    component.add(other)
                    frontier.append(other)
        seen |= component
        gained = sum(1 for number in component if members[number] >= START)
        if gained and len(component) > 1:
            found.append((len(component), gained))
    return sorted(found, reverse=True)


def median_hours(rows: list[dict[str, Any]]) -> float | None:
    hours = [CALENDAR.elapsed(t["filed_at"], t["decided_at"]).total_seconds() / 3600 for t in rows]
    return statistics.median(hours) if hours else None


async def expected(sessions: SessionFactory, world: World, group: int, name: str, *, alliance: bool) -> Figures:
    named = (Tlp.CLEAR, Tlp.GREEN) if alliance else (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER)
    counted = named if alliance else (*named, Tlp.AMBER_STRICT)
    figures = Figures(name=name, start=START, end=END)
    reports = {r["id"]: r for r in world.reports if r["working_group_id"] == group}
    shown = [
        r
        for number, r in sorted(reports.items())
        if within(r["created_at"]) and r["retracted_at"] is None and r["tlp"] in counted
    ]
    figures.intel_counts = Counter(r["tlp"].value for r in shown)
    figures.titles = [(report_id(r["id"]), r["tlp"].value, r["title"]) for r in shown if r["tlp"] in named]
    figures.networks = networks(world, group, named)
    figures.sightings = sum(
        1
        for s in world.sightings
        if within(s["at"]) and s["report_id"] in reports and reports[s["report_id"]]["tlp"] in counted
    )
    mine = [t for t in world.takedowns if t["working_group_id"] == group]
    filed = Counter(t["status"] for t in mine if within(t["filed_at"]))
    figures.filed = sum(filed.values())
    figures.removed = filed[TakedownStatus.removed] + filed[TakedownStatus.reinstated]
    figures.rejected, figures.needs_info = filed[TakedownStatus.rejected], filed[TakedownStatus.needs_info]
    figures.open = sum(
        1 for t in mine if t["status"] in (TakedownStatus.submitted, TakedownStatus.needs_info) and t["filed_at"] < END
    )
    decided = [t for t in mine if within(t["decided_at"])]
    figures.decided = len(decided)
    figures.on_time = sum(1 for t in decided if t["decided_at"] <= t["due_at"])
    overdue = [t for t in mine if t["status"] == TakedownStatus.submitted and t["due_at"] <= END]
    figures.overdue = [takedown_id(t["id"]) for t in sorted(overdue, key=lambda t: (t["due_at"], t["id"]))][:200]
    figures.counters_filed = sum(1 for t in mine if within(t["counter_filed_at"]))
    ended = Counter(t["counter_state"] for t in mine if within(t["closed_at"]))
    figures.counters_upheld, figures.counters_reinstated = ended[CounterState.upheld], ended[CounterState.reinstated]
    async with sessions() as session:  # the per-seller form of the rule, as before the aggregate
        flags = await seller_flags(session, [t["seller_key"] for t in mine if t["filed_at"] < END])
    figures.flagged = sorted(flags.items())
    figures.new_orgs = sorted(
        o["name"] for o in world.organisations if o["working_group_id"] == group and within(o["created_at"])
    )
    if not alliance:  # only a group digest shows its own median and cases
        figures.median_hours = median_hours(decided)
        cases = [c for c in world.cases if c["working_group_id"] == group and within(c["created_at"])]
        figures.cases = totals(cases)
    return figures


def totals(cases: list[dict[str, Any]]) -> Totals:
    seizures: dict[str, Decimal] = defaultdict(Decimal)
    for case in cases:
        seizures[case["currency"]] += case["seizure_value"]
    return Totals(
        len(cases),
        sum(c["arrests"] for c in cases),
        sum(c["locations"] for c in cases),
        dict(sorted(seizures.items())),
    )


@pytest.mark.parametrize("seed", [3, 11])
async def test_every_digest_gives_the_definitions_figures(sessions: SessionFactory, seed: int) -> None:
    world = generate(seed)
    await store(sessions, world)
    service = DigestService(
        sessions, lambda: END, CALENDAR, Correlator(common_cap=COMMON_CAP), default_timezone="Asia/Shanghai"
    )
    schedules = await service.schedules()
    groups: list[Schedule] = [s for s in schedules if s.group_id is not None]
    assert {s.group_id for s in groups} >= {1, 2, 3} and ARCHIVED not in {s.group_id for s in groups}
    rows: list[Figures] = []
    for schedule in groups:
        assert schedule.group_id is not None
        async with sessions() as session:
            actual = await service.figures(session, schedule, START, END)
        assert actual == await expected(sessions, world, schedule.group_id, schedule.name, alliance=False)
        rows.append(await expected(sessions, world, schedule.group_id, schedule.name, alliance=True))
    async with sessions() as session:
        alliance = await service.figures(session, await service.schedule_of(ALLIANCE), START, END)
    assert alliance.groups == rows
    total = Figures(name="the alliance", start=START, end=END, groups=rows)
    for row in rows:
        total.intel_counts.update(row.intel_counts)
        total.titles += row.titles
        total.networks += row.networks
        total.overdue += row.overdue
        total.flagged += row.flagged
        total.new_orgs += row.new_orgs
        for name in ("sightings", "filed", "removed", "rejected", "needs_info", "open", "decided", "on_time"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
        for name in ("counters_filed", "counters_upheld", "counters_reinstated"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    total.median_hours = median_hours([t for t in world.takedowns if within(t["decided_at"])])
    total.cases = totals([c for c in world.cases if within(c["created_at"])])
    assert alliance == total
    assert any(row.networks for row in rows) and any(row.flagged for row in rows) and any(row.overdue for row in rows)


async def test_the_aggregate_flags_exactly_whom_seller_flags_flags(sessions: SessionFactory) -> None:
    world = generate(5)
    await store(sessions, world)
    sellers = sorted({t["seller_key"] for t in world.takedowns if t["seller_key"]})
    async with sessions() as session:
        by_seller = await seller_flags(session, sellers)
        rows = (await session.execute(flagged_sellers())).all()
    aggregate: dict[str, set[str]] = defaultdict(set)
    for seller, flag in rows:
        aggregate[seller].add(flag)
    assert {seller: flag_tuple(flags) for seller, flags in aggregate.items()} == by_seller
    assert by_seller["taobao:edge"] == ("repeat infringer",)
    assert by_seller["taobao:short"] == ("counter-notice abuser",)
    assert len(by_seller) >= 3  # the generated sellers are flagged too, not only the edges
