"""TLP 2.0 on every intel read path, by generated scenarios.

Hypothesis builds alliances of users (with or without an organisation, in zero to three working
groups, some reviewers or admins), reports at every level with shared indicator values, and then
asks, as every user: show each report, search, walk the network from each report and from each
value, list the links of each report, autocomplete, export, press 'Seen it too' on each report,
and whether a watch notice about each report may reach them; and, for each working group's
channel and digest and the alliance digest, which reports its chat answers and digests name.
Whatever comes back must be allowed by an oracle written from the TLP rules, independently of
`bot.services.tlp` (tests/tlp_oracle.py); a network must be exactly the oracle's, figures and
file included. A leak fails the test with the scenario.
"""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bot.errors import AllianceError, NotFound
from bot.services.business_time import BusinessCalendar
from bot.services.digests import ALLIANCE, DigestService, render_text
from bot.services.intel import ChatService, IntelService
from bot.services.intel_export import export_network_csv
from bot.services.listings import canonicalise
from bot.services.networks import Correlator, Network
from db.engine import SessionFactory, create_engine, create_session_factory
from db.migrate import upgrade
from db.models import (
    GuildSettings,
    IntelIndicator,
    IntelRecipient,
    IntelReport,
    Member,
    Organisation,
    Tlp,
    WorkingGroup,
)
from tests.figures import record
from tests.tlp_oracle import (
    ADMIN_ROLE,
    EXPORTABLE,
    GUILD,
    REVIEWER_ROLE,
    ExpectedNetwork,
    Report,
    User,
    expected_network,
    oracle,
)

GROUPS = (1, 2, 3)  # working group ids; member role = 100 + id
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LISTING = canonicalise("https://item.taobao.com/item.htm?id=612345678901")
VALUES = (
    [("phone", "+861380013800" + str(n)) for n in range(4)]
    + [("wechat", f"lucky{n}") for n in range(3)]
    + [("listing", LISTING.key)]
)
LOOKUP = {LISTING.key: LISTING.url}  # how a member types a listing value
LEVELS = list(Tlp)


users = st.lists(
    st.builds(
        User,
        id=st.just(0),
        organisation=st.one_of(st.none(), st.sampled_from([1, 2, 3])),
        groups=st.frozensets(st.sampled_from(GROUPS), max_size=3),
        reviewer=st.booleans(),
        admin=st.booleans(),
    ),
    min_size=2,
    max_size=6,
).map(lambda found: [User(10 + n, u.organisation, u.groups, u.reviewer, u.admin) for n, u in enumerate(found)])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[User], list[Report]]:
    people = draw(users)
    ids = [u.id for u in people]
    reports = draw(
        st.lists(
            st.builds(
                Report,
                author=st.sampled_from(ids),
                group=st.sampled_from(GROUPS),
                tlp=st.sampled_from(LEVELS),
                recipients=st.frozensets(st.sampled_from(ids), max_size=3),
                values=st.frozensets(st.sampled_from(VALUES), min_size=1, max_size=3),
                retracted=st.booleans().map(lambda b: b and draw(st.booleans())),
            ),
            min_size=1,
            max_size=8,
        )
    )
    return people, reports


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tlp") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        sessions = create_session_factory(engine)
        async with sessions.begin() as session:
            session.add(
                GuildSettings(
                    guild_id=GUILD,
                    announcements_channel_id=1,
                    review_channel_id=2,
                    reviewer_role_id=REVIEWER_ROLE,
                    admin_role_id=ADMIN_ROLE,
                    timezone="Asia/Shanghai",
                    updated_at=NOW,
                )
            )
            for number in (1, 2, 3):
                session.add(
                    Organisation(
                        id=number, name=f"Brand {number}", name_key=f"brand {number}", created_at=NOW, rights=[]
                    )
                )
        await engine.dispose()

    asyncio.run(build())
    return path


def check_network(network: Network, expected: ExpectedNetwork, user: User) -> None:
    """Exactly the oracle's network: every report the user may reach and no other (a hidden
    report neither shown, nor counted, nor linking two visible ones), the same figures, and a
    file of its CLEAR, GREEN and AMBER reports only, each with the values it shares in the file."""
    assert set(network.ids) == expected.ids, f"network {network.ids} != {sorted(expected.ids)}: {user}"
    assert not network.truncated
    assert network.values_by_type == expected.values_by_type, user
    assert [(h.type, h.value, h.reports) for h in network.hubs] == expected.hubs, user
    assert {row.id: row.linking for row in network.rows} == expected.file, user
    written = list(csv.reader(io.StringIO(export_network_csv(network.rows).decode("utf-8-sig"))))[1:]
    assert {int(line[0][3:]): line[5] for line in written} == {
        number: "; ".join(f"{kind}: {value}" for kind, value in linking) for number, linking in expected.file.items()
    }, f"LEAK or loss via the network's file: {user}"
    assert network.unexported == len(expected.ids) - len(expected.file)


def channel_of_group(group: int, report: Report) -> bool:
    """What everyone in a working group's channel may be shown: its members' common clearance."""
    if report.retracted:
        return False
    in_group = report.tlp in (Tlp.AMBER, Tlp.AMBER_STRICT) and report.group == group
    return report.tlp in (Tlp.CLEAR, Tlp.GREEN) or in_group


def named_in_group_digest(group: int, report: Report) -> bool:
    """A group digest names CLEAR, GREEN and the group's AMBER; AMBER+STRICT is only counted."""
    return channel_of_group(group, report) and report.tlp != Tlp.AMBER_STRICT


async def check_channels_and_digests(sessions: SessionFactory, by_id: dict[int, Report]) -> None:
    """Chat answers in each group's channel name only what the channel's members all may see
    (CLEAR, GREEN, the group's AMBER and AMBER+STRICT); a group digest names CLEAR, GREEN and the
    group's AMBER (AMBER+STRICT only counted); the alliance digest names CLEAR and GREEN only."""
    chat = ChatService(sessions, lambda: NOW, Correlator(common_cap=50))
    calendar = BusinessCalendar("Asia/Shanghai", "CN")
    digests = DigestService(sessions, lambda: NOW, calendar, Correlator(common_cap=50), default_timezone="UTC")
    titles = {number: f"Title-{index:03d}-{report.tlp.value}" for index, (number, report) in enumerate(by_id.items())}
    for group in GROUPS:
        for finding in await chat.findings(group, 10_000 + group, f"seen at {LISTING.url}"):
            shown = {int(text[3:]) for text in finding.report_ids}
            record("TLP oracle", "reports named in chat answers (all allowed)", len(shown))
            assert all(channel_of_group(group, by_id[n]) for n in shown), f"LEAK via chat answer in group {group}"
        record("TLP oracle", "reads")
    for scope, named in [(ALLIANCE, lambda r: not r.retracted and r.tlp in (Tlp.CLEAR, Tlp.GREEN))] + [
        (f"group:{slug}", lambda r, g=group: named_in_group_digest(g, r)) for group, slug in await group_slugs(sessions)
    ]:
        schedule = await digests.schedule_of(scope)
        async with sessions() as session:
            figures = await digests.figures(session, schedule, NOW - timedelta(days=7), NOW + timedelta(hours=1))
            text = "\n".join(render_text(schedule, figures))
        for number, report in by_id.items():
            if titles[number] in text:
                assert named(report), f"LEAK via the {scope} digest: {report}"
                record("TLP oracle", "reports named in digests (all allowed)")
        record("TLP oracle", "reads")


async def group_slugs(sessions: SessionFactory) -> list[tuple[int, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(WorkingGroup.id, WorkingGroup.slug).where(WorkingGroup.id.in_(GROUPS)).order_by(WorkingGroup.id)
        )
        return [(int(group), str(slug)) for group, slug in rows]


async def check(path: Path, people: list[User], reports: list[Report]) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = create_session_factory(engine)
    try:
        async with sessions.begin() as session:
            for group_id in GROUPS:
                await session.execute(
                    update(WorkingGroup).where(WorkingGroup.id == group_id).values(member_role_id=100 + group_id)
                )
            for user in people:
                if user.organisation is not None:
                    session.add(Member(user_id=user.id, organisation_id=user.organisation, linked_at=NOW, linked_by=1))
            rows = []
            for report in reports:
                author = next(u for u in people if u.id == report.author)
                row = IntelReport(
                    author_id=report.author,
                    organisation_id=author.organisation or 1,
                    working_group_id=report.group,
                    guild_id=GUILD,
                    tlp=report.tlp,
                    title=f"Title-{len(rows):03d}-{report.tlp.value}",
                    body="counterfeit workshop",
                    unrecognised=[],
                    created_at=NOW,
                    updated_at=NOW,
                    retracted_at=NOW if report.retracted else None,
                    indicators=[IntelIndicator(type=t, value=v, display=v) for t, v in sorted(report.values)],
                    recipients=[IntelRecipient(user_id=r) for r in sorted(report.recipients)],
                )
                session.add(row)
                rows.append(row)
            await session.flush()
            numbers = [row.id for row in rows]
        service = IntelService(sessions, lambda: NOW, Correlator(common_cap=50))
        by_id = dict(zip(numbers, reports, strict=True))
        for user in people:
            allowed = {n for n, r in by_id.items() if oracle(user, r)}
            caller = user.caller()
            for number in numbers:
                try:
                    view = await service.show(caller, number)
                except NotFound:
                    assert number not in allowed, f"user {user} was refused report {by_id[number]} they may see"
                    continue
                assert number in allowed, f"LEAK via show: {user} saw {by_id[number]}"
                assert {link.report.id for link in view.links} <= allowed, f"LEAK via links: {user}"
                network = await service.network(caller, f"IN-{number}")
                check_network(network, expected_network(user, by_id, [number]), user)
                record("TLP oracle", "reads", 3)
            found = await service.search(caller, "workshop")
            assert {r.id for r in found} <= allowed, f"LEAK via search: {user}"
            for kind, value in VALUES:
                holders = [n for n, r in by_id.items() if (kind, value) in r.values and n in allowed]
                try:
                    network = await service.network(caller, f"{kind}: {LOOKUP.get(value, value)}")
                except NotFound:
                    assert not holders, f"network by value refused: {user}"
                    continue
                check_network(network, expected_network(user, by_id, holders), user)
            suggestions = await service.suggest(caller, "")
            assert {r.id for r in suggestions} <= allowed, f"LEAK via autocomplete: {user}"
            for number in numbers:  # 'Seen it too' must not confirm a report the user may not see
                try:
                    await service.sighting(caller, number, None)
                except NotFound:
                    assert number not in allowed or user.organisation is None, f"sighting refused: {user}"
                except AllianceError:
                    pass  # not a member, their own report: refusals that name no report
                else:
                    assert number in allowed, f"LEAK via sighting: {user} confirmed {by_id[number]}"
            watched = {number for number in numbers if await service.may_see(caller, number)}
            assert watched == allowed, f"watch notices would go to the wrong people: {user}"
            record("TLP oracle", "reads", 2 + 2 * len(VALUES) + 2 * len(numbers))
            try:
                exported, _count = await service.export(caller, "csv")
            except AllianceError:
                assert user.organisation is None and not (user.reviewer or user.admin)
            else:
                ids = {int(line.split(",", 1)[0][3:]) for line in exported.decode("utf-8-sig").splitlines()[1:]}
                assert ids <= {n for n in allowed if by_id[n].tlp in EXPORTABLE}, f"LEAK via export: {user}"
                record("TLP oracle", "reads")
        await check_channels_and_digests(sessions, by_id)
        record("TLP oracle", "scenarios")
    finally:
        await engine.dispose()


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same scenarios every run, so the figures in TESTING.md are reproducible
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(scenario=scenarios())
def test_no_read_path_returns_a_report_the_viewer_may_not_see(
    template: Path, tmp_path: Path, scenario: tuple[list[User], list[Report]]
) -> None:
    people, reports = scenario
    path = tmp_path / "scenario.db"
    shutil.copy(template, path)
    asyncio.run(check(path, people, reports))
    path.unlink()
