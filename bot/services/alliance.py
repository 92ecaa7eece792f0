"""Setting the alliance up: server wiring, working groups, organisations, rights and members."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import Conflict, InvalidInput, NotFound
from bot.permissions import Caller, Standing, require_admin
from bot.rendering import code
from bot.services import audit
from bot.services.access import load_standing, rights_of
from bot.services.text import plain_text
from db.engine import SessionFactory
from db.models import GuildSettings, IpRight, Member, Organisation, RightKind, WorkingGroup

NAME_MAX = 100
AUTOCOMPLETE_LIMIT = 25  # Discord shows at most 25 choices


def slugify(name: str) -> str:
    """`Food, Beverage & Pet` → `food-beverage-pet`: stable, ASCII, URL- and custom_id-safe."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:64]


def clean_name(name: str, what: str, limit: int = NAME_MAX) -> str:
    """Collapse white space and refuse empty, over-long or control-character names."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput(f"The {what} cannot be empty.")
    if len(cleaned) > limit:
        raise InvalidInput(f"The {what} is {len(cleaned)} characters long; at most {limit} are allowed.")
    if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in cleaned):
        raise InvalidInput(f"The {what} contains control or invisible characters.")
    return cleaned


@dataclass(frozen=True)
class Whoami:
    standing: Standing
    rights: tuple[IpRight, ...]


class AllianceService:
    """Admin and membership actions. Each method is one transaction with its audit entry."""

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    # ----------------------------------------------------------------- reads

    async def standing(self, caller: Caller) -> Standing:
        async with self._sessions() as session:
            return await load_standing(session, caller)

    async def whoami(self, caller: Caller) -> Whoami:
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            rights: tuple[IpRight, ...] = ()
            if standing.organisation is not None:
                rights = tuple(await rights_of(session, standing.organisation.id))
            return Whoami(standing, rights)

    async def groups(self, *, include_archived: bool = False) -> list[WorkingGroup]:
        async with self._sessions() as session:
            query = select(WorkingGroup).order_by(WorkingGroup.name)
            if not include_archived:
                query = query.where(WorkingGroup.archived.is_(False))
            return list(await session.scalars(query))

    async def group_for_channel(self, channel_id: int) -> WorkingGroup | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(WorkingGroup).where(WorkingGroup.channel_id == channel_id, WorkingGroup.archived.is_(False))
            )

    async def suggest_groups(self, text: str) -> list[WorkingGroup]:
        """Live groups whose name or slug contains `text`, for autocomplete."""
        needle = f"%{text.strip().lower()}%"
        async with self._sessions() as session:
            result = await session.scalars(
                select(WorkingGroup)
                .where(
                    WorkingGroup.archived.is_(False),
                    func.lower(WorkingGroup.name).like(needle) | WorkingGroup.slug.like(needle),
                )
                .order_by(WorkingGroup.name)
                .limit(AUTOCOMPLETE_LIMIT)
            )
            return list(result)

    async def suggest_organisations(self, text: str) -> list[Organisation]:
        needle = f"%{text.strip().casefold()}%"
        async with self._sessions() as session:
            result = await session.scalars(
                select(Organisation)
                .where(Organisation.name_key.like(needle))
                .order_by(Organisation.name)
                .limit(AUTOCOMPLETE_LIMIT)
            )
            return list(result)

    # ------------------------------------------------------------- settings

    async def setup(
        self,
        caller: Caller,
        *,
        announcements_channel_id: int,
        review_channel_id: int,
        reviewer_role_id: int,
        admin_role_id: int | None,
        timezone: str | None,
        default_timezone: str,
    ) -> GuildSettings:
        if caller.guild_id is None:
            raise InvalidInput("Run `/alliance setup` in the alliance server, not in a DM.")
        zone = (timezone or "").strip() or default_timezone
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory or over-long name
            raise InvalidInput(f"{code(zone, 64)} is not an IANA time zone (for example Asia/Shanghai).") from None
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            settings = await session.get(GuildSettings, caller.guild_id)
            if settings is None:
                settings = GuildSettings(guild_id=caller.guild_id)
                session.add(settings)
            settings.announcements_channel_id = announcements_channel_id
            settings.review_channel_id = review_channel_id
            settings.reviewer_role_id = reviewer_role_id
            settings.admin_role_id = admin_role_id
            settings.timezone = zone
            settings.updated_at = self._clock()
            audit.record(
                session,
                at=settings.updated_at,
                actor_id=caller.user_id,
                action="guild.setup",
                subject=f"guild:{caller.guild_id}",
                announcements_channel_id=announcements_channel_id,
                review_channel_id=review_channel_id,
                reviewer_role_id=reviewer_role_id,
                admin_role_id=admin_role_id,
                timezone=zone,
            )
            return settings

    async def guild_settings(self, guild_id: int) -> GuildSettings | None:
        async with self._sessions() as session:
            return await session.get(GuildSettings, guild_id)

    # --------------------------------------------------------------- groups

    async def create_group(
        self,
        caller: Caller,
        *,
        name: str,
        channel_id: int,
        member_role_id: int,
        lead_role_id: int | None,
        description: str = "",
    ) -> WorkingGroup:
        name = clean_name(name, "group name")
        slug = slugify(name)
        if not slug:
            raise InvalidInput("The group name needs at least one letter or digit.")
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            clash = await session.scalar(
                select(WorkingGroup).where(
                    (func.lower(WorkingGroup.name) == name.lower()) | (WorkingGroup.slug == slug)
                )
            )
            if clash is not None:
                state = " (archived)" if clash.archived else ""
                raise Conflict(f"A working group called {clash.name}{state} already exists.")
            await self._ensure_channel_free(session, channel_id, None)
            group = WorkingGroup(
                slug=slug,
                name=name,
                description=plain_text(description),
                channel_id=channel_id,
                member_role_id=member_role_id,
                lead_role_id=lead_role_id,
                archived=False,
                created_at=self._clock(),
            )
            session.add(group)
            await session.flush()
            audit.record(
                session,
                at=group.created_at,
                actor_id=caller.user_id,
                action="group.created",
                subject=f"group:{slug}",
                name=name,
                channel_id=channel_id,
                member_role_id=member_role_id,
                lead_role_id=lead_role_id,
            )
            return group

    async def bind_group(
        self, caller: Caller, *, group: str, channel_id: int, member_role_id: int, lead_role_id: int | None
    ) -> WorkingGroup:
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            row = await self._live_group(session, group)
            await self._ensure_channel_free(session, channel_id, row.id)
            before = {
                "channel_id": row.channel_id,
                "member_role_id": row.member_role_id,
                "lead_role_id": row.lead_role_id,
            }
            row.channel_id = channel_id
            row.member_role_id = member_role_id
            row.lead_role_id = lead_role_id
            audit.record(
                session,
                at=self._clock(),
                actor_id=caller.user_id,
                action="group.bound",
                subject=f"group:{row.slug}",
                before=before,
                channel_id=channel_id,
                member_role_id=member_role_id,
                lead_role_id=lead_role_id,
            )
            return row

    async def archive_group(self, caller: Caller, *, group: str) -> WorkingGroup:
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            row = await self._live_group(session, group)
            row.archived = True
            released_channel = row.channel_id
            row.channel_id = None  # a new group may take the channel over
            audit.record(
                session,
                at=self._clock(),
                actor_id=caller.user_id,
                action="group.archived",
                subject=f"group:{row.slug}",
                channel_id=released_channel,
            )
            return row

    async def unbind_deleted_channel(self, group_id: int, channel_id: int) -> WorkingGroup | None:
        """The group's channel was deleted in Discord: forget it so nothing posts into the void."""
        async with self._sessions.begin() as session:
            row = await session.get(WorkingGroup, group_id)
            if row is None or row.channel_id != channel_id:
                return None
            row.channel_id = None
            audit.record(
                session,
                at=self._clock(),
                actor_id=None,
                action="group.channel_deleted",
                subject=f"group:{row.slug}",
                channel_id=channel_id,
            )
            return row

    async def _live_group(self, session: AsyncSession, text: str) -> WorkingGroup:
        key = text.strip()
        row = await session.scalar(
            select(WorkingGroup).where(
                (WorkingGroup.slug == key.lower()) | (func.lower(WorkingGroup.name) == key.lower())
            )
        )
        if row is None:
            raise NotFound(f"There is no working group {code(key, 64)}; pick one from the list.")
        if row.archived:
            raise Conflict(f"{row.name} is archived.")
        return row

    async def _ensure_channel_free(self, session: AsyncSession, channel_id: int, group_id: int | None) -> None:
        owner = await session.scalar(select(WorkingGroup).where(WorkingGroup.channel_id == channel_id))
        if owner is not None and owner.id != group_id:
            raise Conflict(f"That channel already belongs to {owner.name}; one channel serves one group.")

    # -------------------------------------------------------- organisations

    async def add_organisation(self, caller: Caller, *, name: str, group: str | None = None) -> Organisation:
        name = clean_name(name, "organisation name", 120)
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            if await session.scalar(select(Organisation).where(Organisation.name_key == name.casefold())):
                raise Conflict(f"{name} is already a member organisation.")
            home = await self._live_group(session, group) if group else None
            org = Organisation(
                name=name, name_key=name.casefold(), working_group=home, created_at=self._clock(), rights=[]
            )
            session.add(org)
            await session.flush()
            audit.record(
                session,
                at=org.created_at,
                actor_id=caller.user_id,
                action="org.added",
                subject=f"org:{org.id}",
                name=name,
                group=home.slug if home else None,
            )
            return org

    async def add_right(
        self,
        caller: Caller,
        *,
        organisation: str,
        kind: RightKind,
        number: str,
        jurisdiction: str,
        expires: str | None,
    ) -> IpRight:
        number = clean_name(number, "registration number", 64)
        jurisdiction = clean_name(jurisdiction, "jurisdiction", 32).upper()
        expires_on = parse_date(expires, "expires") if expires else None
        now = self._clock()
        if expires_on is not None and expires_on < now.date():
            raise InvalidInput(f"That right expired on {expires_on.isoformat()}; only live rights can be registered.")
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            org = await self._organisation(session, organisation)
            clash = await session.scalar(
                select(IpRight).where(
                    IpRight.kind == kind, IpRight.number == number, IpRight.jurisdiction == jurisdiction
                )
            )
            if clash is not None:
                raise Conflict(
                    f"{kind.value} {number} ({jurisdiction}) is already registered to {clash.organisation.name}."
                )
            right = IpRight(
                organisation=org,
                kind=kind,
                number=number,
                jurisdiction=jurisdiction,
                expires_on=expires_on,
                created_at=now,
            )
            session.add(right)
            await session.flush()
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action="org.right_added",
                subject=f"org:{org.id}",
                kind=kind.value,
                number=number,
                jurisdiction=jurisdiction,
                expires_on=expires_on.isoformat() if expires_on else None,
            )
            return right

    async def _organisation(self, session: AsyncSession, text: str) -> Organisation:
        org = await session.scalar(
            select(Organisation).where(Organisation.name_key == " ".join(text.split()).casefold())
        )
        if org is None:
            raise NotFound(f"There is no member organisation called {code(text, 80)}; pick one from the list.")
        return org

    # -------------------------------------------------------------- members

    async def link_member(self, caller: Caller, *, user_id: int, organisation: str) -> Member:
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            org = await self._organisation(session, organisation)
            member = await session.get(Member, user_id)
            previous = member.organisation.name if member else None
            if member is not None and member.organisation_id == org.id:
                raise Conflict(f"<@{user_id}> is already linked to {org.name}.")
            now = self._clock()
            if member is None:
                member = Member(user_id=user_id, organisation=org, linked_at=now, linked_by=caller.user_id)
                session.add(member)
            else:
                member.organisation = org
                member.linked_at = now
                member.linked_by = caller.user_id
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action="member.linked",
                subject=f"user:{user_id}",
                organisation=org.name,
                previous=previous,
            )
            return member

    async def unlink_member(self, caller: Caller, *, user_id: int) -> str:
        async with self._sessions.begin() as session:
            require_admin(await load_standing(session, caller))
            member = await session.get(Member, user_id)
            if member is None:
                raise NotFound(f"<@{user_id}> is not linked to any organisation.")
            org_name = member.organisation.name
            await session.delete(member)
            audit.record(
                session,
                at=self._clock(),
                actor_id=caller.user_id,
                action="member.unlinked",
                subject=f"user:{user_id}",
                organisation=org_name,
            )
            return org_name


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{code(option)} must be a date written YYYY-MM-DD, such as 2027-06-30.") from None
