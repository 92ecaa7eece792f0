"""TLP 2.0 and network linking as the alliance applies them, written out plainly for tests to
check the bot against, independently of `bot.services.tlp` and `bot.services.networks`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.permissions import Caller
from db.models import Tlp

GUILD = 1
ADMIN_ROLE, REVIEWER_ROLE = 900, 901
EXPORTABLE = {Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER}
Value = tuple[str, str]


@dataclass(frozen=True)
class User:
    id: int
    organisation: int | None
    groups: frozenset[int]
    reviewer: bool
    admin: bool

    def caller(self) -> Caller:
        """The user in a server where group g's member role is 100 + g."""
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
    values: frozenset[Value]
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


@dataclass(frozen=True)
class ExpectedNetwork:
    ids: set[int]
    values_by_type: dict[str, int]  # distinct values per type
    hubs: list[tuple[str, str, int]]  # (type, value, reports sharing it), most first, then by type and value
    file: dict[int, tuple[Value, ...]]  # exportable report → its values shared with another one in the file


def expected_network(
    user: User,
    reports: Mapping[int, Report],
    start: Iterable[int],
    *,
    warned: Iterable[Value] = (),
    cap: int = 50,
    hubs: int = 5,
) -> ExpectedNetwork:
    """The network around `start` as `user` may see it (no size limit): reports are linked by a
    value they share that is in at most `cap` live reports (hidden ones counted) and is not
    warninglisted; only reports the user may see are walked, so hidden ones link nothing."""
    held = Counter(value for report in reports.values() if not report.retracted for value in report.values)
    links = {value for value, count in held.items() if count <= cap} - set(warned)
    visible = {number for number, report in reports.items() if oracle(user, report)}
    seen = set(start) & visible
    frontier = list(seen)
    while frontier:
        mine = reports[frontier.pop()].values & links
        for other in sorted(visible - seen):
            if mine & reports[other].values:
                seen.add(other)
                frontier.append(other)
    in_network = Counter(value for number in seen for value in reports[number].values)
    shared = [(kind, value, n) for (kind, value), n in in_network.items() if n > 1 and (kind, value) in links]
    exported = {number for number in seen if reports[number].tlp in EXPORTABLE}
    in_file = Counter(value for number in exported for value in reports[number].values)
    return ExpectedNetwork(
        ids=seen,
        values_by_type=dict(Counter(kind for kind, _value in in_network)),
        hubs=sorted(shared, key=lambda hub: (-hub[2], hub[0], hub[1]))[:hubs],
        file={
            number: tuple(sorted(v for v in reports[number].values if v in links and in_file[v] > 1))
            for number in exported
        },
    )
