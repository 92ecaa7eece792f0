"""Who may do what: the alliance's roles, computed from Discord roles and database links.

- admin: the Manage Server permission, or the guild's configured admin role;
- reviewer: the guild's reviewer role (the platform's IP protection team);
- group lead: the group's lead role; group member: the group's member role;
- member: a Discord user linked to a member organisation.

This module is plain Python: cogs translate a Discord interaction into a `Caller`, services
load a `Standing` for it and call the `require_*` helpers, whose refusals name what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import PermissionDenied


@dataclass(frozen=True)
class Caller:
    """The facts Discord tells us about the person behind an interaction."""

    user_id: int
    guild_id: int | None = None
    role_ids: frozenset[int] = frozenset()
    manages_guild: bool = False


@dataclass(frozen=True)
class GroupRef:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class OrgRef:
    id: int
    name: str


@dataclass(frozen=True)
class Standing:
    """A caller's alliance roles, resolved against the database at one moment."""

    caller: Caller
    is_admin: bool = False
    is_reviewer: bool = False
    organisation: OrgRef | None = None
    groups: tuple[GroupRef, ...] = ()
    leads: tuple[GroupRef, ...] = ()
    admin_role_id: int | None = None
    reviewer_role_id: int | None = None
    setup_done: bool = False
    _group_ids: frozenset[int] = field(default=frozenset(), repr=False)

    def in_group(self, group_id: int) -> bool:
        return group_id in self._group_ids

    def leads_group(self, group_id: int) -> bool:
        return any(group.id == group_id for group in self.leads)

    @property
    def role_names(self) -> tuple[str, ...]:
        names = []
        if self.is_admin:
            names.append("admin")
        if self.is_reviewer:
            names.append("reviewer")
        if self.leads:
            names.append("group lead")
        if self.organisation is not None:
            names.append("member")
        return tuple(names)


def require_admin(standing: Standing) -> None:
    if standing.is_admin:
        return
    if standing.admin_role_id is not None:
        raise PermissionDenied(
            f"This needs the alliance admin role (<@&{standing.admin_role_id}>) or the Manage Server permission."
        )
    raise PermissionDenied("This needs the Manage Server permission (no alliance admin role is set up).")


def require_reviewer(standing: Standing) -> None:
    if standing.is_reviewer or standing.is_admin:
        return
    if standing.reviewer_role_id is None:
        raise PermissionDenied("No reviewer role is set up yet; an admin must run `/alliance setup` first.")
    raise PermissionDenied(f"This needs the reviewer role (<@&{standing.reviewer_role_id}>).")


def require_member(standing: Standing) -> OrgRef:
    if standing.organisation is None:
        raise PermissionDenied(
            "You are not linked to a member organisation; ask an admin to run `/alliance member link`."
        )
    return standing.organisation


def require_lead(standing: Standing, group: GroupRef, lead_role_id: int | None) -> None:
    if standing.is_admin or standing.leads_group(group.id):
        return
    if lead_role_id is None:
        raise PermissionDenied(f"{group.name} has no lead role; only admins can do this there.")
    raise PermissionDenied(f"This needs the {group.name} lead role (<@&{lead_role_id}>) or admin.")


def clearance(standing: Standing) -> list[str]:
    """What a caller may read, in words: TLP 2.0 levels and takedown scope."""
    lines = ["TLP:CLEAR — everything shared in this server"]
    if standing.organisation is not None:
        lines.append("TLP:GREEN — everything shared with alliance members")
    for group in standing.groups or standing.leads:
        lines.append(f"TLP:AMBER and AMBER+STRICT — reports of {group.name}")
    lines.append("TLP:RED — only reports that name you as a recipient")
    if standing.is_reviewer or standing.is_admin:
        lines.append("Takedowns — every organisation's requests")
    elif standing.organisation is not None:
        lines.append(f"Takedowns — requests of {standing.organisation.name}")
    return lines
