"""`intel_value` (the live-report count per indicator value behind the over-correlation cap) is
kept by the database through sharing, editing, retracting and deleting, on every engine."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from bot.permissions import Caller
from bot.services.intel import IntelService
from bot.services.networks import Correlator
from db.engine import SessionFactory
from db.models import IntelIndicator, IntelReport, IntelValue, Member, Organisation, Tlp, WorkingGroup

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GUILD = 1
ALICE = Caller(11, GUILD, frozenset({101}), manages_guild=False)
BOB = Caller(12, GUILD, frozenset({101}), manages_guild=False)


@pytest.fixture
async def sessions(migrated: SessionFactory) -> SessionFactory:
    async with migrated.begin() as session:
        await session.execute(update(WorkingGroup).where(WorkingGroup.id == 1).values(member_role_id=101))
        for number, user in ((1, ALICE), (2, BOB)):
            session.add(
                Organisation(
                    id=number, name=f"Brand {number}", name_key=f"brand {number}", working_group_id=1, created_at=NOW
                )
            )
            await session.flush()
            session.add(Member(user_id=user.user_id, organisation_id=number, linked_at=NOW, linked_by=1))
    return migrated


async def counts(sessions: SessionFactory) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """(the kept counts, without zeros; the counts recomputed from the indicators)."""
    async with sessions() as session:
        kept = {
            (t, v): n
            for t, v, n in await session.execute(select(IntelValue.type, IntelValue.value, IntelValue.reports))
            if n
        }
        live = await session.execute(
            select(IntelIndicator.type, IntelIndicator.value)
            .join(IntelReport, IntelReport.id == IntelIndicator.report_id)
            .where(IntelReport.retracted_at.is_(None))
        )
        return kept, dict(Counter((t, v) for t, v in live))


async def test_counts_follow_share_edit_retract_and_delete(sessions: SessionFactory) -> None:
    service = IntelService(sessions, lambda: NOW, Correlator(common_cap=1))
    first = await service.share(
        ALICE,
        tlp=Tlp.GREEN,
        title="one",
        body="seen",
        group="apparel-footwear",
        indicator_lines="phone: +86 138 0013 8000\nwechat: lucky_star88",
    )
    second = await service.share(
        BOB,
        tlp=Tlp.GREEN,
        title="two",
        body="seen",
        group="apparel-footwear",
        indicator_lines="phone: +86 138 0013 8000\nemail: sales@fake.shop",
    )
    kept, recount = await counts(sessions)
    assert kept == recount and kept[("phone", "+8613800138000")] == 2
    # Over the cap of 1: the shared phone is common and links nothing.
    assert {i.value for i in second.common} == {"+8613800138000"} and second.links == []

    await service.edit(
        ALICE,
        first.report.id,
        title="one",
        body="seen",
        indicator_lines="wechat: lucky_star88\ndomain: fake-outlet.shop",
    )
    kept, recount = await counts(sessions)
    assert kept == recount and kept[("phone", "+8613800138000")] == 1 and kept[("domain", "fake-outlet.shop")] == 1
    assert (await service.show(BOB, second.report.id)).common == set()  # back under the cap

    await service.retract(BOB, second.report.id)
    kept, recount = await counts(sessions)
    assert kept == recount and ("phone", "+8613800138000") not in kept and ("email", "sales@fake.shop") not in kept

    async with sessions.begin() as session:  # a deleted live report takes its values' counts with it
        await session.execute(delete(IntelReport).where(IntelReport.id == first.report.id))
    kept, recount = await counts(sessions)
    assert kept == recount == {}
