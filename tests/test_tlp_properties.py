"""TLP 2.0 on every intel read path, by generated scenarios.

Hypothesis builds alliances of users (with or without an organisation, in zero to three working
groups, some reviewers or admins), reports at every level with shared indicator values, and then
asks, as every user: show each report, search, walk the network from each report, and list the
links of each report. Whatever comes back must be allowed by an oracle written here from the
TLP rules, independently of `bot.services.tlp`. A leak fails the test with the scenario.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from bot.errors import NotFound
from bot.permissions import Caller
from bot.services.intel import IntelService
from bot.services.networks import Correlator
from db.engine import create_engine, create_session_factory
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

GUILD = 1
ADMIN_ROLE, REVIEWER_ROLE = 900, 901
GROUPS = (1, 2, 3)  # working group ids; member role = 100 + id
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
VALUES = [("phone", "+861380013800" + str(n)) for n in range(4)] + [("wechat", f"lucky{n}") for n in range(3)]
LEVELS = list(Tlp)


@dataclass(frozen=True)
class User:
    id: int
    organisation: int | None
    groups: frozenset[int]
    reviewer: bool
    admin: bool

    def caller(self) -> Caller:
        roles = (
            {100 + g for g in self.groups}
            | ({REVIEWER_ROLE} if self.reviewer else set())
            | ({ADMIN_ROLE} if self.admin else set())
        )
        return Caller(self.id, GUILD, frozenset(roles), manages_guild=False)


@dataclass(frozen=True)
class Report:
    author: int
    group: int
    tlp: Tlp
    recipients: frozenset[int]
    values: frozenset[tuple[str, str]]
    retracted: bool


def oracle(user: User, report: Report) -> bool:
    """TLP 2.0 as the alliance applies it, written out plainly."""
    if report.retracted:
        return False
    if report.author == user.id:
        return True
    community = user.organisation is not None or user.reviewer or user.admin
    return {
        Tlp.CLEAR: True,
        Tlp.GREEN: community,
        Tlp.AMBER: report.group in user.groups,
        Tlp.AMBER_STRICT: report.group in user.groups,
        Tlp.RED: user.id in report.recipients,
    }[report.tlp]


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
                    title=f"Shared title {report.tlp.value}",
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
                assert {r.id for r in network.reports} <= allowed, f"LEAK via network: {user}"
                record("TLP oracle", "reads", 3)
            found = await service.search(caller, "workshop")
            assert {r.id for r in found} <= allowed, f"LEAK via search: {user}"
            for kind, value in VALUES:
                try:
                    network = await service.network(caller, f"{kind}: {value}")
                except NotFound:
                    continue
                assert {r.id for r in network.reports} <= allowed, f"LEAK via network by value: {user}"
            suggestions = await service.suggest(caller, "")
            assert {r.id for r in suggestions} <= allowed, f"LEAK via autocomplete: {user}"
            record("TLP oracle", "reads", 2 + len(VALUES))
        record("TLP oracle", "scenarios")
    finally:
        await engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_no_read_path_returns_a_report_the_viewer_may_not_see(
    template: Path, tmp_path: Path, scenario: tuple[list[User], list[Report]]
) -> None:
    people, reports = scenario
    path = tmp_path / "scenario.db"
    shutil.copy(template, path)
    asyncio.run(check(path, people, reports))
    path.unlink()
