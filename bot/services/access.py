"""Resolve a `Caller` into a `Standing` (their alliance roles) from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound
from bot.permissions import Caller, GroupRef, OrgRef, Standing
from bot.rendering import code
from db.models import GuildSettings, IpRight, Member, WorkingGroup


async def find_group(session: AsyncSession, slug: str, *, live: bool = False) -> WorkingGroup:
    """The working group a `group` option names (by slug, as autocomplete fills it), or a
    refusal saying there is none; `live` also refuses archived groups."""
    group = await session.scalar(select(WorkingGroup).where(WorkingGroup.slug == slug.strip().lower()))
    if group is None or (live and group.archived):
        kind = "live working group" if live else "working group"
        raise NotFound(f"There is no {kind} {code(slug, 64)}.")
    return group


async def rights_of(session: AsyncSession, organisation_id: int) -> list[IpRight]:
    """An organisation's registered rights, oldest first (asked for where needed: they are not
    loaded with every organisation a command touches)."""
    return list(
        await session.scalars(select(IpRight).where(IpRight.organisation_id == organisation_id).order_by(IpRight.id))
    )


def group_ref(group: WorkingGroup) -> GroupRef:
    return GroupRef(id=group.id, slug=group.slug, name=group.name)


async def load_standing(session: AsyncSession, caller: Caller) -> Standing:
    """Everything needed to decide what `caller` may do, in three small queries."""
    settings = await session.get(GuildSettings, caller.guild_id) if caller.guild_id else None
    member = await session.get(Member, caller.user_id)
    groups: list[WorkingGroup] = []
    if caller.role_ids:
        result = await session.scalars(
            select(WorkingGroup)
            .where(
                WorkingGroup.archived.is_(False),
                WorkingGroup.member_role_id.in_(caller.role_ids) | WorkingGroup.lead_role_id.in_(caller.role_ids),
            )
            .order_by(WorkingGroup.name)
        )
        groups = list(result)
    admin_role = settings.admin_role_id if settings else None
    reviewer_role = settings.reviewer_role_id if settings else None
    member_of = tuple(group_ref(g) for g in groups if g.member_role_id in caller.role_ids)
    leads = tuple(group_ref(g) for g in groups if g.lead_role_id is not None and g.lead_role_id in caller.role_ids)
    return Standing(
        caller=caller,
        is_admin=caller.manages_guild or (admin_role is not None and admin_role in caller.role_ids),
        is_reviewer=reviewer_role is not None and reviewer_role in caller.role_ids,
        organisation=OrgRef(member.organisation.id, member.organisation.name) if member else None,
        groups=member_of,
        leads=leads,
        admin_role_id=admin_role,
        reviewer_role_id=reviewer_role,
        setup_done=settings is not None,
        _group_ids=frozenset(g.id for g in member_of) | frozenset(g.id for g in leads),
    )
