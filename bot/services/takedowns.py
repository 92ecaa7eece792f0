"""Takedown requests: filing (single and bulk), review, counter-notices and the SLA sweep.

State machine (illegal transitions are refused naming the current status):

    submitted ──► removed | rejected | needs_info      (reviewers)
    needs_info ──► submitted                            (filer: provide_info; SLA clock resumes)
    needs_info ──► rejected                             (reviewers may close a request left unanswered)
    submitted | needs_info ──► withdrawn                (filer, before a decision)
    removed ──counter-notice──► counter awaiting_filer  (reviewers record the seller's counter-notice)
        awaiting_filer ──uphold (with evidence)──► awaiting_review ──► upheld | reinstated (reviewers)
        awaiting_filer ──withdraw, or no answer by the deadline──► reinstated

Every change writes an audit entry and, where someone must hear of it, an outbox message, in
the same transaction.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    String,
    case,
    distinct,
    false,
    func,
    insert,
    literal,
    select,
    text,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from bot.clock import Clock
from bot.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bot.ids import format_id, parse_id
from bot.permissions import Caller, Standing, require_member, require_reviewer
from bot.rendering import code, render, when
from bot.services import audit, outbox
from bot.services.access import load_standing, rights_of
from bot.services.business_time import BusinessCalendar
from bot.services.listings import Listing, canonicalise, seller_key
from bot.services.takedown_csv import BulkRow
from bot.services.text import plain_text
from db.engine import SessionFactory
from db.models import (
    ACTIVE_STATUSES,
    AuditEntry,
    CounterState,
    GuildSettings,
    IpRight,
    Organisation,
    RightKind,
    Takedown,
    TakedownBulk,
    TakedownPause,
    TakedownReason,
    TakedownStatus,
    WorkingGroup,
)
from db.types import UTCDateTime

SLA = timedelta(hours=24)
AT_RISK_SHARE = 0.75
NOTE_MAX = 1000
SELLER_MAX = 200  # the modal's and the column's limit
BULK_CARD_LIMIT = 20  # larger uploads get one summary card, not one card per row

GOOD_FAITH_STATEMENT = (
    "I state in good faith that the information in this notice is accurate, that the listing infringes "
    "the right named, and that I am authorised to act on behalf of its owner."
)

# Which kinds of right can support which reason.
REASON_RIGHTS: dict[TakedownReason, frozenset[RightKind]] = {
    TakedownReason.counterfeit: frozenset({RightKind.trademark, RightKind.design}),
    TakedownReason.trademark: frozenset({RightKind.trademark}),
    TakedownReason.copyright: frozenset({RightKind.copyright}),
    TakedownReason.patent: frozenset({RightKind.patent}),
    TakedownReason.design: frozenset({RightKind.design}),
}

DECISIONS = ("removed", "rejected", "needs_info", "upheld", "reinstated")
Progress = Callable[[int, int], Awaitable[None]]


def takedown_id(number: int) -> str:
    return format_id("TD", number)


def right_label(right: IpRight) -> str:
    return f"{right.kind.value} {right.number} ({right.jurisdiction})"


@dataclass(frozen=True)
class Draft:
    """A validated filing waiting for the member's good-faith confirmation."""

    listing: Listing
    submitted_url: str
    right_id: int
    right_label: str
    organisation_id: int
    organisation_name: str
    working_group_id: int | None
    working_group_name: str | None
    reason: TakedownReason
    seller_key: str | None
    seller_text: str | None
    note: str
    evidence: tuple[dict[str, Any], ...]
    guild_id: int | None


@dataclass(frozen=True)
class Filed:
    takedown: Takedown
    created: bool  # False: an active request by the same organisation already covered this listing
    other_members: int  # other organisations with an active request on the same listing


@dataclass
class BulkOutcome:
    line: int
    url: str
    outcome: str  # filed | duplicate | refused
    takedown: str = ""
    reason: str = ""


@dataclass
class BulkResult:
    outcomes: list[BulkOutcome] = field(default_factory=list)
    bulk_id: int | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.outcomes if row.outcome == outcome)


class TakedownService:
    """Every state change of a takedown, one transaction each."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        calendar: BusinessCalendar,
        *,
        rate_per_minute: int = 60,
        bulk_per_hour: int = 5,
        counter_notice_days: int = 3,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.calendar = calendar
        self._rate_per_minute = rate_per_minute
        self._bulk_per_hour = bulk_per_hour
        self._counter_days = counter_notice_days

    # ------------------------------------------------------------- filing

    async def prepare(
        self,
        caller: Caller,
        *,
        url: str,
        right: str,
        reason: TakedownReason,
        seller: str | None,
        note: str | None,
        evidence: Sequence[dict[str, Any]] = (),
        channel_id: int | None = None,
    ) -> Draft | Filed:
        """Validate a filing. Returns the existing request if the organisation already has one
        active on this listing (nothing to confirm), else a `Draft` to confirm."""
        listing = canonicalise(url)
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            org = await self._member_org(session, standing)
            await self._check_rate(session, caller.user_id)
            existing = await self._active_for(session, org.id, listing.key)
            if existing is not None:
                return Filed(existing, created=False, other_members=await self._others(session, existing))
            chosen = await self._right(session, org, right)
            _check_reason(reason, chosen)
            group = await self._group_for(session, standing, org, channel_id)
            return _draft(listing, url, chosen, org, group, reason, seller, note, tuple(evidence), caller.guild_id)

    async def file(self, caller: Caller, draft: Draft) -> Filed:
        """File a confirmed draft. Re-checks what may have changed since it was prepared."""
        try:
            async with self._sessions.begin() as session:
                standing = await load_standing(session, caller)
                org = await self._member_org(session, standing)
                if org.id != draft.organisation_id:
                    raise PermissionDenied("You no longer act for the organisation this request was prepared for.")
                await self._check_rate(session, caller.user_id)
                existing = await self._active_for(session, org.id, draft.listing.key)
                if existing is not None:
                    return Filed(existing, created=False, other_members=await self._others(session, existing))
                settings = await self._guild_settings(session, draft.guild_id)
                now = self._clock()
                takedown = self._new(draft, caller.user_id, now, bulk_id=None)
                session.add(takedown)
                await session.flush()
                others = await self._others(session, takedown)
                self._audit_filed(session, takedown, others)
                await self._enqueue_card(session, takedown, settings, others, now)
                return Filed(takedown, created=True, other_members=others)
        except IntegrityError:
            # A concurrent filing of the same listing by the same organisation won the race.
            async with self._sessions() as session:
                existing = await self._active_for(session, draft.organisation_id, draft.listing.key)
                if existing is None:
                    raise
                return Filed(existing, created=False, other_members=await self._others(session, existing))

    def _deadlines(self, now: datetime) -> tuple[datetime, datetime]:
        """(due, at risk) of a request filed at `now`."""
        return self.calendar.due(now, (), sla=SLA), self.calendar.due(now, (), sla=SLA * AT_RISK_SHARE)

    def _columns(
        self, draft: Draft, filer_id: int, now: datetime, bulk_id: int | None, deadlines: tuple[datetime, datetime]
    ) -> dict[str, Any]:
        """A new request's column values (one filing, or each row of a bulk filing)."""
        return {
            "organisation_id": draft.organisation_id,
            "right_id": draft.right_id,
            "working_group_id": draft.working_group_id,
            "guild_id": draft.guild_id,
            "filer_id": filer_id,
            "bulk_id": bulk_id,
            "marketplace": draft.listing.marketplace,
            "listing_key": draft.listing.key,
            "listing_url": draft.listing.url,
            "submitted_url": draft.submitted_url,
            "reason": draft.reason,
            "seller_key": draft.seller_key,
            "seller_text": draft.seller_text,
            "note": draft.note,
            "evidence": list(draft.evidence),
            "good_faith_statement": GOOD_FAITH_STATEMENT,
            "status": TakedownStatus.submitted,
            "filed_at": now,
            "due_at": deadlines[0],
            "at_risk_at": deadlines[1],
        }

    def _new(self, draft: Draft, filer_id: int, now: datetime, bulk_id: int | None) -> Takedown:
        return Takedown(**self._columns(draft, filer_id, now, bulk_id, self._deadlines(now)), pauses=[])

    @staticmethod
    def _filed_entry(number: int, columns: dict[str, Any], others: int) -> dict[str, Any]:
        return audit.entry(
            at=columns["filed_at"],
            actor_id=columns["filer_id"],
            action="takedown.filed",
            subject=f"takedown:{number}",
            listing=columns["listing_key"],
            right_id=columns["right_id"],
            reason=columns["reason"].value,
            good_faith=GOOD_FAITH_STATEMENT,
            other_members=others,
            bulk_id=columns["bulk_id"],
        )

    def _audit_filed(self, session: AsyncSession, takedown: Takedown, others: int) -> None:
        columns = {
            name: getattr(takedown, name)
            for name in ("filed_at", "filer_id", "listing_key", "right_id", "reason", "bulk_id")
        }
        audit.record(session, **self._filed_entry(takedown.id, columns, others))

    async def _enqueue_card(
        self, session: AsyncSession, takedown: Takedown, settings: GuildSettings, others: int, now: datetime
    ) -> None:
        await session.refresh(takedown, ["organisation", "right", "working_group"])
        flags = (await seller_flags(session, [takedown.seller_key])).get(takedown.seller_key or "", ())
        takedown.review_channel_id = settings.review_channel_id
        await outbox.enqueue(
            session,
            dedupe_key=f"takedown:{takedown.id}:card",
            channel_id=settings.review_channel_id,
            content=render("takedown_card.md.j2", t=takedown, tid=takedown_id(takedown.id), others=others, flags=flags),
            view=review_view(takedown),
            subject=f"takedown:{takedown.id}",
            now=now,
        )

    # --------------------------------------------------------------- bulk

    async def validate_bulk(
        self, caller: Caller, rows: Sequence[BulkRow], *, channel_id: int | None, progress: Progress | None = None
    ) -> tuple[BulkResult, list[Draft]]:
        """Dry run: every row's outcome, and the drafts that would be filed."""
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            org = await self._member_org(session, standing)
            await self._check_bulk_rate(session, caller.user_id)
            return await self._plan_bulk(session, standing, org, rows, channel_id, progress)

    async def file_bulk(
        self,
        caller: Caller,
        filename: str,
        rows: Sequence[BulkRow],
        *,
        channel_id: int | None,
        progress: Progress | None = None,
    ) -> BulkResult:
        """File every valid row in one transaction: all of them, or (on any failure) none."""
        async with self._sessions.begin() as session:
            standing = await load_standing(session, caller)
            org = await self._member_org(session, standing)
            await self._check_bulk_rate(session, caller.user_id)
            settings = await self._guild_settings(session, caller.guild_id)
            result, drafts = await self._plan_bulk(session, standing, org, rows, channel_id, progress)
            now = self._clock()
            bulk = TakedownBulk(
                filer_id=caller.user_id,
                organisation_id=org.id,
                filename=filename[:200],
                uploaded_at=now,
                rows=len(rows),
                filed=len(drafts),
                duplicates=result.count("duplicate"),
                refused=result.count("refused"),
            )
            session.add(bulk)
            await session.flush()
            result.bulk_id = bulk.id
            if not drafts:
                raise InvalidInput("No row of the file can be filed, so nothing was filed. See the reasons per row.")
            # One executemany (not an ORM flush, nor RETURNING, which SQLAlchemy can only keep in
            # order row by row on SQLite): same transaction, so a failure anywhere files none.
            # The ids are read back by listing, which is unique within a bulk (duplicates are
            # refused above).
            deadlines = self._deadlines(now)
            rows_to_insert = [self._columns(draft, caller.user_id, now, bulk.id, deadlines) for draft in drafts]
            await session.execute(insert(Takedown), rows_to_insert)
            filed = await session.execute(select(Takedown.listing_key, Takedown.id).where(Takedown.bulk_id == bulk.id))
            number_of: dict[str, int] = {key: number for key, number in filed}
            numbers = [number_of[columns["listing_key"]] for columns in rows_to_insert]
            filed_rows = (row for row in result.outcomes if row.outcome == "filed")
            for outcome, number in zip(filed_rows, numbers, strict=True):
                outcome.takedown = takedown_id(number)
            entries = zip(numbers, rows_to_insert, strict=True)
            await audit.record_many(session, [self._filed_entry(number, columns, 0) for number, columns in entries])
            await self._announce_bulk(session, bulk, numbers, deadlines[0], settings, org, now)
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action="takedown.bulk_filed",
                subject=f"bulk:{bulk.id}",
                filename=bulk.filename,
                rows=bulk.rows,
                filed=bulk.filed,
                duplicates=bulk.duplicates,
                refused=bulk.refused,
            )
            return result

    async def _announce_bulk(
        self,
        session: AsyncSession,
        bulk: TakedownBulk,
        numbers: list[int],
        due: datetime,
        settings: GuildSettings,
        org: Organisation,
        now: datetime,
    ) -> None:
        if len(numbers) <= BULK_CARD_LIMIT:
            cards = await session.scalars(select(Takedown).where(Takedown.id.in_(numbers)).order_by(Takedown.id))
            for takedown in list(cards):
                await self._enqueue_card(session, takedown, settings, await self._others(session, takedown), now)
            return
        await outbox.enqueue(
            session,
            dedupe_key=f"bulk:{bulk.id}:summary",
            channel_id=settings.review_channel_id,
            content=render(
                "takedown_bulk_card.md.j2",
                bulk=bulk,
                org=org.name,
                first=takedown_id(numbers[0]),
                last=takedown_id(numbers[-1]),
                due=due,
            ),
            now=now,
        )

    async def _plan_bulk(
        self,
        session: AsyncSession,
        standing: Standing,
        org: Organisation,
        rows: Sequence[BulkRow],
        channel_id: int | None,
        progress: Progress | None,
    ) -> tuple[BulkResult, list[Draft]]:
        rights = await rights_of(session, org.id)
        group = await self._group_for(session, standing, org, channel_id)
        active = set(
            await session.scalars(
                select(Takedown.listing_key).where(
                    Takedown.organisation_id == org.id, Takedown.status.in_(ACTIVE_STATUSES)
                )
            )
        )
        result = BulkResult()
        drafts: list[Draft] = []
        seen: dict[str, int] = {}
        today = self._clock().date()

        def plan(chunk: Sequence[BulkRow]) -> list[Draft | str]:
            """Each row's draft or the reason it is refused (pure Python, run in a thread)."""
            planned: list[Draft | str] = []
            for row in chunk:
                try:
                    planned.append(_bulk_draft(row, rights, today, org, group, standing.caller.guild_id))
                except (InvalidInput, NotFound, Conflict) as error:
                    planned.append(error.message)
            return planned

        for start in range(0, len(rows), BULK_CHUNK):
            chunk = rows[start : start + BULK_CHUNK]
            # Parsing 10,000 URLs is about a second of Python: in a thread, a chunk at a time,
            # so other commands keep being answered meanwhile.
            for row, draft in zip(chunk, await asyncio.to_thread(plan, chunk), strict=True):
                outcome = BulkOutcome(line=row.line, url=row.url[:300], outcome="refused")
                if isinstance(draft, str):
                    outcome.reason = draft
                elif draft.listing.key in active:
                    outcome.outcome, outcome.reason = "duplicate", "already filed by your organisation"
                elif draft.listing.key in seen:
                    outcome.outcome, outcome.reason = "duplicate", f"same listing as line {seen[draft.listing.key]}"
                else:
                    seen[draft.listing.key] = row.line
                    outcome.outcome = "filed"
                    drafts.append(draft)
                result.outcomes.append(outcome)
            if progress is not None:
                await progress(start + len(chunk), len(rows))
        return result, drafts

    async def suggest_rights(self, caller: Caller, text: str) -> list[IpRight]:
        """Autocomplete: the caller's organisation's live rights matching `text`."""
        async with self._sessions() as session:
            standing = await load_standing(session, caller)
            if standing.organisation is None:
                return []
            needle = f"%{text.strip().casefold()}%"
            today = self._clock().date()
            rights = await session.scalars(
                select(IpRight)
                .where(
                    IpRight.organisation_id == standing.organisation.id,
                    func.lower(IpRight.number).like(needle) | func.lower(IpRight.kind).like(needle),
                    IpRight.expires_on.is_(None) | (IpRight.expires_on >= today),
                )
                .order_by(IpRight.kind, IpRight.number)
                .limit(25)
            )
            return list(rights)

    # ------------------------------------------------------------- review

    async def check_can_review(self, caller: Caller, number: int) -> None:
        """Refuse early (before a modal opens) if the caller may not decide or the request is not open."""
        async with self._sessions() as session:
            require_reviewer(await load_standing(session, caller))
            takedown = await session.get(Takedown, number)
            if takedown is None:
                raise NotFound(f"There is no takedown {takedown_id(number)}.")
            _require(takedown, "needs_info", TakedownStatus.submitted)

    async def review(
        self, caller: Caller, number: int, decision: str, note: str | None = None, *, card_updated: bool = False
    ) -> Takedown:
        """A reviewer's decision. `card_updated`: the caller already edited the review card."""
        if decision not in DECISIONS:
            raise InvalidInput(f"{code(decision, 20)} is not a decision; choose one of {', '.join(DECISIONS)}.")
        note = clean_note(note)
        async with self._sessions.begin() as session:
            require_reviewer(await load_standing(session, caller))
            takedown = await self._get(session, number)
            now = self._clock()
            before = _state(takedown)
            if decision in ("upheld", "reinstated"):
                self._final_counter_decision(takedown, decision, now)
            elif decision == "needs_info":
                _require(takedown, decision, TakedownStatus.submitted)
                takedown.status = TakedownStatus.needs_info
                takedown.pauses.append(TakedownPause(started_at=now))
            else:
                allowed = (
                    (TakedownStatus.submitted, TakedownStatus.needs_info)
                    if decision == "rejected"
                    else (TakedownStatus.submitted,)
                )
                _require(takedown, decision, *allowed)
                _close_pause(takedown, now)
                takedown.status = TakedownStatus(decision)
                takedown.decided_at = takedown.decided_at or now
                takedown.decided_by = caller.user_id
                if decision == "rejected":
                    takedown.closed_at = now
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action=f"takedown.{decision}",
                subject=f"takedown:{takedown.id}",
                before=before,
                note=note,
            )
            await self._notify_filer(session, takedown, decision, note, now)
            if not card_updated:
                await self._update_card(session, takedown, now)
            return takedown

    def _final_counter_decision(self, takedown: Takedown, decision: str, now: datetime) -> None:
        if takedown.counter_state != CounterState.awaiting_review:
            state = takedown.counter_state.value if takedown.counter_state else "no counter-notice"
            raise Conflict(
                f"{takedown_id(takedown.id)} has {state}; {code(decision)} is for counter-notices the filer upheld."
            )
        takedown.counter_state = CounterState(decision)
        if decision == "reinstated":
            takedown.status = TakedownStatus.reinstated
        takedown.closed_at = now

    async def counter_notice(self, caller: Caller, number: int, note: str | None) -> Takedown:
        """A reviewer records the seller's counter-notice on a removed listing."""
        note = clean_note(note)
        async with self._sessions.begin() as session:
            require_reviewer(await load_standing(session, caller))
            takedown = await self._get(session, number)
            if takedown.status != TakedownStatus.removed or takedown.counter_state is not None:
                state = takedown.counter_state.value if takedown.counter_state else takedown.status.value
                raise Conflict(
                    f"{takedown_id(takedown.id)} is {state}; a counter-notice can be recorded only once, "
                    "on a removed listing."
                )
            now = self._clock()
            takedown.counter_state = CounterState.awaiting_filer
            takedown.counter_filed_at = now
            takedown.counter_deadline = self.calendar.add_business_days(now, self._counter_days)
            takedown.counter_note = note
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action="takedown.counter_notice",
                subject=f"takedown:{takedown.id}",
                note=note,
                deadline=takedown.counter_deadline.isoformat(),
            )
            await self._notify_filer(session, takedown, "counter_notice", note, now)
            await self._update_card(session, takedown, now)
            return takedown

    async def respond(
        self, caller: Caller, number: int, action: str, note: str | None, evidence: Sequence[dict[str, Any]] = ()
    ) -> Takedown:
        """The filing organisation answers: provide_info, withdraw, or uphold (a counter-notice)."""
        note = clean_note(note)
        async with self._sessions.begin() as session:
            standing = await load_standing(session, caller)
            org = require_member(standing)
            takedown = await self._get(session, number)
            if takedown.organisation_id != org.id:
                raise NotFound(f"No takedown {takedown_id(number)} of your organisation.")
            now = self._clock()
            before = _state(takedown)
            if action == "provide_info":
                _require(takedown, action, TakedownStatus.needs_info)
                if not note and not evidence:
                    raise InvalidInput("Add a note or evidence with the information the reviewers asked for.")
                _close_pause(takedown, now)
                takedown.status = TakedownStatus.submitted
                pauses = [(p.started_at, p.ended_at) for p in takedown.pauses]
                takedown.due_at = self.calendar.due(takedown.filed_at, pauses, sla=SLA)
                takedown.at_risk_at = self.calendar.due(takedown.filed_at, pauses, sla=SLA * AT_RISK_SHARE)
            elif action == "withdraw":
                if takedown.counter_state == CounterState.awaiting_filer:
                    takedown.counter_state = CounterState.reinstated
                    takedown.status = TakedownStatus.reinstated
                else:
                    _require(takedown, action, TakedownStatus.submitted, TakedownStatus.needs_info)
                    _close_pause(takedown, now)
                    takedown.status = TakedownStatus.withdrawn
                takedown.closed_at = now
            elif action == "uphold":
                if takedown.counter_state != CounterState.awaiting_filer:
                    raise Conflict(f"{takedown_id(takedown.id)} has no counter-notice waiting for your answer.")
                if not evidence:
                    raise InvalidInput("Upholding a takedown against a counter-notice needs evidence: attach it.")
                takedown.counter_state = CounterState.awaiting_review
            else:
                raise InvalidInput("The action must be provide_info, withdraw or uphold.")
            if evidence:
                takedown.evidence = [*takedown.evidence, *evidence]
            audit.record(
                session,
                at=now,
                actor_id=caller.user_id,
                action=f"takedown.{action}",
                subject=f"takedown:{takedown.id}",
                before=before,
                note=note,
                evidence=[e.get("filename") for e in evidence],
            )
            await self._tell_reviewers(session, takedown, action, note, now)
            await self._update_card(session, takedown, now)
            return takedown

    # ---------------------------------------------------------------- sweep

    async def sweep(self) -> int:
        """Send due SLA alerts and act on passed counter-notice deadlines. Returns changes made.

        Each alert is claimed by setting its `*_alerted_at` in the transaction that enqueues it,
        so it goes out once even with two bot processes sweeping.
        """
        now = self._clock()
        changes = 0
        async with self._sessions.begin() as session:
            at_risk = await session.scalars(
                select(Takedown)
                .where(
                    Takedown.status == TakedownStatus.submitted,
                    Takedown.at_risk_alerted_at.is_(None),
                    Takedown.at_risk_at <= now,
                    Takedown.due_at > now,
                )
                .with_for_update(of=Takedown, skip_locked=True)
                .limit(200)
            )
            for takedown in at_risk:
                takedown.at_risk_alerted_at = now
                await self._alert(session, takedown, "at_risk", now)
                changes += 1
            breached = await session.scalars(
                select(Takedown)
                .where(
                    Takedown.status == TakedownStatus.submitted,
                    Takedown.breach_alerted_at.is_(None),
                    Takedown.due_at <= now,
                )
                .with_for_update(of=Takedown, skip_locked=True)
                .limit(200)
            )
            for takedown in breached:
                takedown.breach_alerted_at = now
                takedown.at_risk_alerted_at = takedown.at_risk_alerted_at or now
                await self._alert(session, takedown, "breach", now)
                changes += 1
            expired = await session.scalars(
                select(Takedown)
                .where(Takedown.counter_state == CounterState.awaiting_filer, Takedown.counter_deadline <= now)
                .with_for_update(of=Takedown, skip_locked=True)
                .limit(200)
            )
            for takedown in expired:
                takedown.counter_state = CounterState.reinstated
                takedown.status = TakedownStatus.reinstated
                takedown.closed_at = now
                audit.record(
                    session,
                    at=now,
                    actor_id=None,
                    action="takedown.reinstated_by_deadline",
                    subject=f"takedown:{takedown.id}",
                    deadline=takedown.counter_deadline.isoformat() if takedown.counter_deadline else None,
                )
                await self._notify_filer(session, takedown, "deadline_reinstated", "", now)
                await self._update_card(session, takedown, now)
                changes += 1
        return changes

    async def next_deadline(self) -> datetime | None:
        """The next instant `sweep` has work to do, so the scheduler can sleep until then."""
        at_risk = select(func.min(Takedown.at_risk_at)).where(
            Takedown.status == TakedownStatus.submitted, Takedown.at_risk_alerted_at.is_(None)
        )
        breach = select(func.min(Takedown.due_at)).where(
            Takedown.status == TakedownStatus.submitted, Takedown.breach_alerted_at.is_(None)
        )
        counter = select(func.min(Takedown.counter_deadline)).where(
            Takedown.counter_state == CounterState.awaiting_filer
        )
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(
                        *(type_coerce(query.scalar_subquery(), UTCDateTime()) for query in (at_risk, breach, counter))
                    )
                )
            ).one()
        present = [moment for moment in row if moment is not None]
        return min(present) if present else None

    # -------------------------------------------------------------- notices

    async def _alert(self, session: AsyncSession, takedown: Takedown, kind: str, now: datetime) -> None:
        settings = await session.get(GuildSettings, takedown.guild_id) if takedown.guild_id else None
        channel = settings.review_channel_id if settings else takedown.review_channel_id
        if channel is None:
            return
        await outbox.enqueue(
            session,
            dedupe_key=f"takedown:{takedown.id}:{kind}",
            channel_id=channel,
            content=render("takedown_alert.md.j2", kind=kind, t=takedown, tid=takedown_id(takedown.id)),
            now=now,
        )

    async def _notify_filer(
        self, session: AsyncSession, takedown: Takedown, event: str, note: str, now: datetime
    ) -> None:
        """DM the filer; if Discord refuses the DM, the delivery worker posts in the group's channel
        instead, mentioning only them."""
        group = await session.get(WorkingGroup, takedown.working_group_id) if takedown.working_group_id else None
        serial = await _change_serial(session, takedown)
        await outbox.enqueue(
            session,
            dedupe_key=f"takedown:{takedown.id}:filer:{event}:{serial}",
            user_id=takedown.filer_id,
            fallback_channel_id=group.channel_id if group else None,
            ping_user_id=takedown.filer_id,
            content=render("takedown_notice.md.j2", event=event, t=takedown, tid=takedown_id(takedown.id), note=note),
            now=now,
        )

    async def _tell_reviewers(
        self, session: AsyncSession, takedown: Takedown, action: str, note: str, now: datetime
    ) -> None:
        if takedown.review_channel_id is None:
            return
        serial = await _change_serial(session, takedown)
        await outbox.enqueue(
            session,
            dedupe_key=f"takedown:{takedown.id}:reviewers:{action}:{serial}",
            channel_id=takedown.review_channel_id,
            content=render("takedown_update.md.j2", action=action, t=takedown, tid=takedown_id(takedown.id), note=note),
            now=now,
        )

    async def _update_card(self, session: AsyncSession, takedown: Takedown, now: datetime) -> None:
        """Edit the review card to show the current state (and its buttons only if still useful)."""
        if takedown.review_message_id is None or takedown.review_channel_id is None:
            return
        serial = await _change_serial(session, takedown)
        await session.refresh(takedown, ["organisation", "right", "working_group"])
        flags = (await seller_flags(session, [takedown.seller_key])).get(takedown.seller_key or "", ())
        await outbox.enqueue(
            session,
            dedupe_key=f"takedown:{takedown.id}:card_edit:{serial}",
            channel_id=takedown.review_channel_id,
            edit_message_id=takedown.review_message_id,
            content=render(
                "takedown_card.md.j2",
                t=takedown,
                tid=takedown_id(takedown.id),
                others=await self._others(session, takedown),
                flags=flags,
            ),
            view=review_view(takedown),
            now=now,
        )

    async def record_card(self, number: int, channel_id: int, message_id: int) -> None:
        """The delivery worker posted the review card: remember it so decisions can edit it."""
        async with self._sessions.begin() as session:
            takedown = await session.get(Takedown, number)
            if takedown is not None:
                takedown.review_channel_id = channel_id
                takedown.review_message_id = message_id

    # -------------------------------------------------------------- helpers

    async def _member_org(self, session: AsyncSession, standing: Standing) -> Organisation:
        ref = require_member(standing)
        org = await session.get(Organisation, ref.id)
        assert org is not None
        return org

    async def _right(self, session: AsyncSession, org: Organisation, text: str) -> IpRight:
        key = text.strip()
        rights = await rights_of(session, org.id)
        chosen = [r for r in rights if key.isdigit() and r.id == int(key)] or [
            r for r in rights if r.number.casefold() == key.casefold()
        ]
        if not chosen:
            raise NotFound(
                f"{org.name} has no registered right {code(key, 64)}; pick one from the list "
                "(admins register rights with /alliance org right)."
            )
        if len(chosen) > 1:
            raise InvalidInput(f"{len(chosen)} of your rights have the number {code(key, 64)}; pick one from the list.")
        right = chosen[0]
        if right.expires_on is not None and right.expires_on < self._clock().date():
            raise InvalidInput(f"Your right {right_label(right)} expired on {right.expires_on.isoformat()}.")
        return right

    async def _group_for(
        self, session: AsyncSession, standing: Standing, org: Organisation, channel_id: int | None
    ) -> WorkingGroup | None:
        """The channel's group if the filer belongs to it, else their organisation's home group."""
        if channel_id is not None:
            group = await session.scalar(
                select(WorkingGroup).where(WorkingGroup.channel_id == channel_id, WorkingGroup.archived.is_(False))
            )
            if group is not None and standing.in_group(group.id):
                return group
        return org.working_group

    async def _guild_settings(self, session: AsyncSession, guild_id: int | None) -> GuildSettings:
        settings = await session.get(GuildSettings, guild_id) if guild_id else None
        if settings is None:
            raise Conflict("The alliance is not set up in this server yet: an admin must run /alliance setup first.")
        return settings

    async def _active_for(self, session: AsyncSession, org_id: int, key: str) -> Takedown | None:
        return await session.scalar(
            select(Takedown).where(
                Takedown.organisation_id == org_id, Takedown.listing_key == key, Takedown.status.in_(ACTIVE_STATUSES)
            )
        )

    async def _others(self, session: AsyncSession, takedown: Takedown) -> int:
        """How many other organisations have an active request on the same listing."""
        return int(
            await session.scalar(
                select(func.count(func.distinct(Takedown.organisation_id))).where(
                    Takedown.listing_key == takedown.listing_key,
                    Takedown.organisation_id != takedown.organisation_id,
                    Takedown.status.in_(ACTIVE_STATUSES),
                )
            )
            or 0
        )

    async def _check_rate(self, session: AsyncSession, user_id: int) -> None:
        now = self._clock()
        window = now - timedelta(minutes=1)
        recent = list(
            await session.scalars(
                select(Takedown.filed_at)
                .where(Takedown.filer_id == user_id, Takedown.bulk_id.is_(None), Takedown.filed_at > window)
                .order_by(Takedown.filed_at)
            )
        )
        if len(recent) >= self._rate_per_minute:
            retry = recent[len(recent) - self._rate_per_minute] + timedelta(minutes=1)
            raise RateLimited(f"You filed {len(recent)} takedowns in the last minute", retry)

    async def _check_bulk_rate(self, session: AsyncSession, user_id: int) -> None:
        now = self._clock()
        recent = list(
            await session.scalars(
                select(TakedownBulk.uploaded_at)
                .where(TakedownBulk.filer_id == user_id, TakedownBulk.uploaded_at > now - timedelta(hours=1))
                .order_by(TakedownBulk.uploaded_at)
            )
        )
        if len(recent) >= self._bulk_per_hour:
            retry = recent[len(recent) - self._bulk_per_hour] + timedelta(hours=1)
            raise RateLimited(f"You uploaded {len(recent)} bulk files in the last hour", retry)

    async def _get(self, session: AsyncSession, number: int) -> Takedown:
        takedown = await session.scalar(select(Takedown).where(Takedown.id == number).with_for_update(of=Takedown))
        if takedown is None:
            raise NotFound(f"There is no takedown {takedown_id(number)}.")
        return takedown


class RateLimited(InvalidInput):
    """Too many filings; the message says when to try again."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(f"{message}; try again at {when(retry_at)}.")
        self.retry_at = retry_at


def review_view(takedown: Takedown) -> dict[str, Any] | None:
    """The review card keeps its decision buttons only while a decision is awaited."""
    if takedown.status != TakedownStatus.submitted:
        return None
    return {"kind": "takedown_review", "takedown_id": takedown.id}


async def _change_serial(session: AsyncSession, takedown: Takedown) -> int:
    """How many changes the request has had (its audit entries, this one included): part of
    each notice's dedupe key, so each change notifies once and the next change notifies again."""
    subject = f"takedown:{takedown.id}"
    return int(await session.scalar(select(func.count()).where(AuditEntry.subject == subject)) or 0)


def clean_seller(seller: str | None) -> str | None:
    """The seller as the member typed it (shop name or id), trimmed and bounded; None if blank."""
    text = plain_text(seller or "")
    if len(text) > SELLER_MAX:
        raise InvalidInput(f"The seller is {len(text)} characters long; at most {SELLER_MAX} are allowed.")
    return text or None


def clean_note(note: str | None) -> str:
    """A note typed in a form or an option (filing, decision, counter-notice), trimmed and bounded."""
    text = plain_text(note or "")
    if len(text) > NOTE_MAX:
        raise InvalidInput(f"The note is {len(text)} characters long; at most {NOTE_MAX} are allowed.")
    return text


def parse_reason(text: str) -> TakedownReason:
    """A reason typed as text (a form field, a CSV cell), in any case and spacing."""
    try:
        return TakedownReason(text.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"{code(text, 30)} is not a reason; use counterfeit, trademark, copyright, patent or design."
        ) from None


def _check_reason(reason: TakedownReason, right: IpRight) -> None:
    if right.kind not in REASON_RIGHTS[reason]:
        kinds = " or ".join(sorted(kind.value for kind in REASON_RIGHTS[reason]))
        raise InvalidInput(f"A {reason.value} takedown must rest on a {kinds} right; {right_label(right)} is not.")


def _require(takedown: Takedown, action: str, *allowed: TakedownStatus) -> None:
    if takedown.status not in allowed:
        raise Conflict(
            f"{takedown_id(takedown.id)} is {takedown.status.value}; {code(action)} is possible only when it is "
            f"{' or '.join(status.value for status in allowed)}."
        )


def _close_pause(takedown: Takedown, now: datetime) -> None:
    for pause in takedown.pauses:
        if pause.ended_at is None:
            pause.ended_at = now


def _state(takedown: Takedown) -> dict[str, str | None]:
    return {
        "status": takedown.status.value,
        "counter_state": takedown.counter_state.value if takedown.counter_state else None,
    }


def _bulk_draft(
    row: BulkRow,
    rights: Sequence[IpRight],
    today: Any,
    org: Organisation,
    group: WorkingGroup | None,
    guild_id: int | None,
) -> Draft:
    if not row.url:
        raise InvalidInput("the url is empty")
    listing = canonicalise(row.url)
    reason = parse_reason(row.reason)
    matches = [r for r in rights if r.number.casefold() == row.right.strip().casefold()]
    if not matches:
        raise NotFound(f"no registered right with number {code(row.right, 40)}")
    if len(matches) > 1:
        raise InvalidInput(f"{len(matches)} rights have the number {code(row.right, 40)}")
    right = matches[0]
    if right.expires_on is not None and right.expires_on < today:
        raise InvalidInput(f"right {right_label(right)} expired on {right.expires_on.isoformat()}")
    _check_reason(reason, right)
    return _draft(listing, row.url, right, org, group, reason, row.seller, row.note, (), guild_id)


def _draft(
    listing: Listing,
    url: str,
    right: IpRight,
    org: Organisation,
    group: WorkingGroup | None,
    reason: TakedownReason,
    seller: str | None,
    note: str | None,
    evidence: tuple[dict[str, Any], ...],
    guild_id: int | None,
) -> Draft:
    """The one way a checked filing (single or bulk row) becomes a `Draft`."""
    seller_text = clean_seller(seller)
    return Draft(
        listing=listing,
        submitted_url=plain_text(url)[:2048],
        right_id=right.id,
        right_label=right_label(right),
        organisation_id=org.id,
        organisation_name=org.name,
        working_group_id=group.id if group else None,
        working_group_name=group.name if group else None,
        reason=reason,
        seller_key=seller_key(seller_text) if seller_text else listing.seller,
        seller_text=seller_text,
        note=clean_note(note),
        evidence=evidence,
        guild_id=guild_id,
    )


# ---------------------------------------------------------------- seller flags

REPEAT_INFRINGER = "repeat infringer"
COUNTER_NOTICE_ABUSER = "counter-notice abuser"
FLAGS = (REPEAT_INFRINGER, COUNTER_NOTICE_ABUSER)  # in the order they are shown
FLAG_THRESHOLD = 3
# The rule, in one place for both of its forms (`seller_flags` per seller, `flagged_sellers` as an
# aggregate): distinct listings among a seller's requests in these statuses, and the seller's
# requests whose counter-notice ended in this state; a count reaching FLAG_THRESHOLD flags.
FLAG_REMOVED_STATUSES = (TakedownStatus.removed, TakedownStatus.reinstated)
FLAG_COUNTER_STATE = CounterState.upheld


BULK_CHUNK = 500  # rows drafted per step of a bulk filing (and per progress report)
SELLER_BATCH = 256  # sellers per statement (SQLite allows 500 terms in a UNION ALL)
# Per seller, each count stops at the threshold: a LIMIT on one index range of
# ix_takedown_seller_flags / ix_takedown_seller_counter, however many takedowns a popular seller
# has. In SQL text because one SQLAlchemy construct per seller cost ~1 ms of Python each.
FLAG_COUNTS = (
    "(SELECT count(*) FROM (SELECT DISTINCT listing_key FROM takedown WHERE seller_key = {seller} "
    f"AND status IN ({', '.join(f':removed{i}' for i in range(len(FLAG_REMOVED_STATUSES)))}) "
    "LIMIT :threshold) AS r) AS removed, "
    "(SELECT count(*) FROM (SELECT id FROM takedown WHERE seller_key = {seller} "
    "AND counter_state = :upheld LIMIT :threshold) AS u) AS upheld"
)
# PostgreSQL: one statement over an array of sellers (one plan, whatever their number).
POSTGRESQL_FLAG_COUNTS = text(
    f"SELECT s.seller, {FLAG_COUNTS.format(seller='s.seller')} FROM unnest(CAST(:sellers AS VARCHAR[])) AS s(seller)"
)


@functools.lru_cache(maxsize=16)
def _sqlite_flag_counts(sellers: int) -> TextClause:
    """SQLite: uncorrelated subqueries, one UNION ALL arm per seller (SQLite 3.40 answers DISTINCT
    with LIMIT wrongly inside a correlated subquery). `sellers` is a power of two, so there are
    few statements, each compiled once; unused places hold NULL, which matches no seller."""
    arms = (f"SELECT CAST(:k{i} AS VARCHAR) AS seller, {FLAG_COUNTS.format(seller=f':k{i}')}" for i in range(sellers))
    return text(" UNION ALL ".join(arms))


async def seller_flags(session: AsyncSession, keys: Sequence[str | None]) -> dict[str, tuple[str, ...]]:
    """Flags per seller: 3+ removed listings → repeat infringer; 3+ counter-notices that ended
    upheld → counter-notice abuser. Only whether a count reaches the threshold matters."""
    wanted = sorted({key for key in keys if key})
    postgresql = session.bind is not None and session.bind.dialect.name == "postgresql"
    flags: dict[str, tuple[str, ...]] = {}
    for start in range(0, len(wanted), SELLER_BATCH):
        batch = wanted[start : start + SELLER_BATCH]
        parameters: dict[str, Any] = {
            **{f"removed{i}": status.value for i, status in enumerate(FLAG_REMOVED_STATUSES)},
            "upheld": FLAG_COUNTER_STATE.value,
            "threshold": FLAG_THRESHOLD,
        }
        if postgresql:
            statement = POSTGRESQL_FLAG_COUNTS
            parameters["sellers"] = list(batch)
        else:
            size = 1 << (len(batch) - 1).bit_length()
            statement = _sqlite_flag_counts(size)
            parameters |= {f"k{i}": batch[i] if i < len(batch) else None for i in range(size)}
        for key, removed, upheld in (await session.execute(statement, parameters)).all():
            found = tuple(flag for flag, count in zip(FLAGS, (removed, upheld), strict=True) if count >= FLAG_THRESHOLD)
            if key is not None and found:
                flags[str(key)] = found
    return flags


def flagged_sellers() -> CompoundSelect[str, str]:
    """(seller, flag) for every flagged seller, a row per flag: `seller_flags`'s rule as one
    aggregate over the whole table (~50 ms at 200,000 requests), for callers that need the flagged
    among thousands of sellers, where a lookup per seller costs more than counting them all. The
    status test sits inside the count so that the only usable index is ix_takedown_seller_flags,
    read whole: as a WHERE term, SQLite without ANALYZE statistics reads every removed request
    through a status index and the table instead (five times slower)."""
    removed = case((Takedown.status.in_(FLAG_REMOVED_STATUSES), Takedown.listing_key))
    repeat = (
        select(Takedown.seller_key, literal(REPEAT_INFRINGER, String).label("flag"))
        .where(Takedown.seller_key.is_not(None))
        .group_by(Takedown.seller_key)
        .having(func.count(distinct(removed)) >= FLAG_THRESHOLD)
    )
    abuser = (
        select(Takedown.seller_key, literal(COUNTER_NOTICE_ABUSER, String).label("flag"))
        .where(Takedown.seller_key.is_not(None), Takedown.counter_state == FLAG_COUNTER_STATE)
        .group_by(Takedown.seller_key)
        .having(func.count() >= FLAG_THRESHOLD)
    )
    return union_all(repeat, abuser)


def flag_tuple(flags: Collection[str]) -> tuple[str, ...]:
    """A seller's flags in the order `seller_flags` gives them."""
    return tuple(flag for flag in FLAGS if flag in flags)


def visible_to(standing: Standing) -> ColumnElement[bool]:
    """SQL condition: the takedowns `standing` may see (own organisation; reviewers/admins all).
    Always SQL, so that callers may negate it or count by it as well as filter."""
    if standing.is_reviewer or standing.is_admin:
        return true()
    if standing.organisation is None:
        return false()
    return Takedown.organisation_id == standing.organisation.id


def parse_takedown_id(text: str) -> int:
    return parse_id("TD", text)
