"""TLP 2.0 as this alliance applies it: who may see a report, in Python and in SQL.

- CLEAR: anyone in the server.
- GREEN: the alliance community: members linked to an organisation, reviewers and admins.
- AMBER and AMBER+STRICT: members of the report's working group (its member or lead role);
  reviewers and admins only if they are in that group too.
- RED: the author and the named recipients only.
The author always sees their own report; a retracted report is seen by no one.

AMBER+STRICT and RED are never exported, never named in digests and never part of a
cross-group notice (`SHAREABLE_BEYOND_AUDIENCE`). `can_see` and `visible_condition` are the
same rule twice, once for objects and once for queries; a property test keeps them equal.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, or_, select, true

from bot.permissions import Standing
from db.models import IntelRecipient, IntelReport, Tlp

GROUP_LEVELS = (Tlp.AMBER, Tlp.AMBER_STRICT)
EXPORTABLE = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER)
SHAREABLE_BEYOND_AUDIENCE = EXPORTABLE  # may be named in digests and cross-group notices


@dataclass(frozen=True)
class Viewer:
    """Whoever a read is for: a person, or a channel's audience (user_id None)."""

    user_id: int | None
    community: bool  # linked member, reviewer or admin
    group_ids: frozenset[int]
    organisation_id: int | None = None  # for takedowns shown beside intel: members see their own
    sees_all_takedowns: bool = False  # reviewers and admins

    @classmethod
    def of(cls, standing: Standing) -> Viewer:
        community = standing.organisation is not None or standing.is_reviewer or standing.is_admin
        groups = frozenset(g.id for g in (*standing.groups, *standing.leads))
        return cls(
            user_id=standing.caller.user_id,
            community=community,
            group_ids=groups,
            organisation_id=standing.organisation.id if standing.organisation else None,
            sees_all_takedowns=standing.is_reviewer or standing.is_admin,
        )

    @classmethod
    def channel_of_group(cls, group_id: int) -> Viewer:
        """What a working group's channel may be shown: its members' common clearance."""
        return cls(user_id=None, community=True, group_ids=frozenset({group_id}))


def can_see(viewer: Viewer, report: IntelReport, recipients: Collection[int] | None = None) -> bool:
    if report.retracted_at is not None:
        return False
    if viewer.user_id is not None and report.author_id == viewer.user_id:
        return True
    if report.tlp == Tlp.CLEAR:
        return True
    if report.tlp == Tlp.GREEN:
        return viewer.community
    if report.tlp in GROUP_LEVELS:
        return report.working_group_id in viewer.group_ids
    named = recipients if recipients is not None else {r.user_id for r in report.recipients}
    return viewer.user_id is not None and viewer.user_id in named


def visible_condition(viewer: Viewer) -> Any:
    """SQL condition on IntelReport: the reports `viewer` may see."""
    clauses: list[Any] = [IntelReport.tlp == Tlp.CLEAR]
    if viewer.community:
        clauses.append(IntelReport.tlp == Tlp.GREEN)
    if viewer.group_ids:
        clauses.append(and_(IntelReport.tlp.in_(GROUP_LEVELS), IntelReport.working_group_id.in_(viewer.group_ids)))
    if viewer.user_id is not None:
        clauses.append(IntelReport.author_id == viewer.user_id)
        clauses.append(
            and_(
                IntelReport.tlp == Tlp.RED,
                IntelReport.id.in_(select(IntelRecipient.report_id).where(IntelRecipient.user_id == viewer.user_id)),
            )
        )
    return and_(IntelReport.retracted_at.is_(None), or_(*clauses) if clauses else false())


def everything() -> Any:
    """For internal work that must see all live reports (correlation counts), never for display."""
    return and_(IntelReport.retracted_at.is_(None), true())
