"""Offline enforcement cases: what a working group's raids achieved, in figures.

Seizure values keep their currency; totals are per currency and never converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import Subquery, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import InvalidInput, NotFound
from bot.ids import format_id, parse_id
from bot.permissions import Caller, require_lead, require_member
from bot.rendering import code
from bot.services import audit
from bot.services.access import find_group, group_ref, load_standing
from bot.services.text import plain_text
from bot.services.tlp import Viewer, visible_condition
from db.engine import SessionFactory
from db.models import EnforcementCase, IntelReport

CURRENCIES = ("CNY", "USD", "EUR", "GBP", "HKD", "JPY", "KRW", "SGD", "MYR", "THB", "VND", "IDR", "PHP", "INR",
              "AUD", "CAD", "CHF", "BRL", "MXN", "TRY", "AED")  # fmt: skip
MAX_COUNT = 100_000  # arrests or locations in one case
MAX_SEIZURE = Decimal("1000000000000")  # 1 trillion in any currency is not a typo we accept silently
EARLIEST = date(2000, 1, 1)


def case_id(number: int) -> str:
    return format_id("CASE", number)


def parse_case_id(text: str) -> int:
    return parse_id("CASE", text)


@dataclass(frozen=True)
class Totals:
    cases: int
    arrests: int
    locations: int
    seizures: dict[str, Decimal]  # per currency


class CaseService:
    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def log(
        self,
        caller: Caller,
        *,
        group: str,
        arrests: int,
        locations: int,
        seizure_value: str,
        currency: str,
        summary: str,
        action_date: str | None = None,
        intel: str | None = None,
    ) -> EnforcementCase:
        value = _amount(seizure_value)
        if currency not in CURRENCIES:
            raise InvalidInput(f"{code(currency, 10)} is not a supported currency ({', '.join(CURRENCIES)}).")
        for name, count in (("arrests", arrests), ("locations", locations)):
            if not 0 <= count <= MAX_COUNT:
                raise InvalidInput(f"`{name}` must be between 0 and {MAX_COUNT:,}.")
        text = " ".join(plain_text(summary).split())
        if not 10 <= len(text) <= 1000:
            raise InvalidInput("The summary must be 10 to 1,000 characters: what was done, where.")
        today = self._clock().date()
        when = _date(action_date) if action_date else today
        if not EARLIEST <= when <= today:
            raise InvalidInput(f"The date must be between {EARLIEST.isoformat()} and today ({today.isoformat()}).")
        async with self._sessions.begin() as session:
            standing = await load_standing(session, caller)
            row = await find_group(session, group, live=True)
            require_lead(standing, group_ref(row), row.lead_role_id)
            report_number = None
            if intel:
                report_number = parse_id("IN", intel)
                visible = await session.scalar(
                    select(IntelReport.id).where(
                        IntelReport.id == report_number, visible_condition(Viewer.of(standing))
                    )
                )
                if visible is None:
                    raise NotFound(f"No intel report {format_id('IN', report_number)} that you can see.")
            now = self._clock()
            case = EnforcementCase(
                working_group_id=row.id,
                logged_by=caller.user_id,
                action_date=when,
                arrests=arrests,
                locations=locations,
                seizure_value=value,
                currency=currency,
                summary=text,
                intel_report_id=report_number,
                created_at=now,
            )
            session.add(case)
            await session.flush()
            await session.refresh(case, ["working_group"])
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action="case.logged",
                subject=f"case:{case.id}",
                group=row.slug,
                arrests=arrests,
                locations=locations,
                seizure_value=str(value),
                currency=currency,
            )
            return case

    async def list(
        self, caller: Caller, group: str | None = None, limit: int = 15
    ) -> tuple[list[EnforcementCase], Totals]:
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            if not (standing.is_reviewer or standing.is_admin):
                require_member(standing)
            query = select(EnforcementCase)
            if group:
                query = query.where(EnforcementCase.working_group_id == (await find_group(session, group)).id)
            cases = list(
                await session.scalars(
                    query.order_by(EnforcementCase.action_date.desc(), EnforcementCase.id.desc()).limit(limit)
                )
            )
            totals = await totals_of(session, query.subquery())
            return cases, totals

    async def show(self, caller: Caller, number: int) -> EnforcementCase:
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            if not (standing.is_reviewer or standing.is_admin):
                require_member(standing)
            case = await session.get(EnforcementCase, number)
            if case is None:
                raise NotFound(f"There is no enforcement case {case_id(number)}.")
            return case


async def totals_of(session: AsyncSession, cases: Subquery) -> Totals:
    """Totals over a subquery of enforcement cases; seizures summed per currency."""
    c = cases.c
    count, arrests, locations = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(c.arrests), 0), func.coalesce(func.sum(c.locations), 0))
        )
    ).one()
    seizures = {
        currency: Decimal(str(total))
        for currency, total in await session.execute(
            select(c.currency, func.sum(c.seizure_value)).group_by(c.currency).order_by(c.currency)
        )
    }
    return Totals(int(count), int(arrests), int(locations), seizures)


def _amount(text: str) -> Decimal:
    cleaned = text.strip().replace(",", "").replace(" ", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(f"{code(text, 30)} is not an amount; write it like 125000 or 125000.50.") from None
    if not value.is_finite() or value < 0:
        raise InvalidInput("The seizure value cannot be negative.")
    if value > MAX_SEIZURE:
        raise InvalidInput("That seizure value is over one trillion; check the figure (and the currency).")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput("Give the seizure value to the cent at most (two decimals).")
    return value.quantize(Decimal("0.01"))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("`date` must be written YYYY-MM-DD, such as 2026-03-14.") from None
