"""Every modal field, with generated values, through the real form readers, services and database.

The three forms the bot opens (Share intel, File a takedown opened from a chat answer, and a
reviewer's Needs info) are exercised twice:

- field by field, 10,000 generated values per field, through the functions the services call
  on the fields before they open a transaction (`read_report_form`; `canonicalise`,
  `parse_reason`, `clean_seller`, `clean_note`): each value is accepted as literal text (trimmed,
  control characters dropped) or refused with a message for the user; any other exception is a
  bug. A refusal there comes before any database work, so it cannot have written anything.
- whole submissions, 1,000 per form and engine, through the services on a seeded database:
  accepted with the text stored literally (trimmed, control characters dropped, never
  interpreted), or refused with nothing written (row counts and the audit log unchanged),
  including refusals only the database can decide (an unknown right, a duplicate).

The values mix the hostile-input building blocks of tests/test_hostile_input.py (mentions,
markdown, template syntax, control, zero-width and right-to-left characters, mixed scripts,
huge runs) with plausible values, so that the accepting paths are exercised as well. Found this
way: a NUL in a title or note was accepted, then failed on PostgreSQL (which cannot store it)
with an error reference; free text now drops control characters (bot/services/text.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from bot.app import AllianceBot
from bot.errors import AllianceError, InvalidInput
from bot.permissions import Caller
from bot.services.intel import read_report_form
from bot.services.listings import canonicalise, seller_key
from bot.services.takedowns import SELLER_MAX, Draft, clean_note, clean_seller, parse_reason
from bot.services.text import plain_text
from bot.settings import Settings
from db.models import (
    AuditEntry,
    GuildSettings,
    IntelReport,
    IpRight,
    Member,
    Organisation,
    RightKind,
    Takedown,
    TakedownPause,
    TakedownStatus,
    Tlp,
    WorkingGroup,
)
from tests.figures import record
from tests.test_hostile_input import hostile_text

FIELD_EXAMPLES = 10_000
SUBMISSIONS = 1_000
GUILD, REVIEWER_ROLE, MEMBER_ROLE = 1, 901, 902
MEMBER, REVIEWER = 10, 11
RIGHT = "TM-778812"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

FIELDS = settings(
    max_examples=FIELD_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FORM = settings(
    max_examples=SUBMISSIONS,
    deadline=None,
    database=None,  # the same generated inputs on every run, so CI figures are reproducible
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

T = TypeVar("T")


def field(*plausible: str) -> st.SearchStrategy[str]:
    """A form field: hostile text, a plausible value, or a plausible value wrapped in hostility."""
    good = st.sampled_from(plausible) if plausible else st.text(max_size=40)
    return st.one_of(hostile_text, good, st.tuples(hostile_text, good, hostile_text).map("".join))


class Forms:
    """The real services on a seeded database, driven from synchronous hypothesis examples."""

    def __init__(self, database_url: str) -> None:
        self.runner = asyncio.Runner()
        self.now = START
        settings_ = Settings(  # type: ignore[call-arg]
            database_url=database_url, discord_token=None, guild_ids=(), _env_file=None
        )
        self.bot = AllianceBot(settings_, clock=lambda: self.now)
        self.member = Caller(MEMBER, GUILD, frozenset({MEMBER_ROLE}))
        self.reviewer = Caller(REVIEWER, GUILD, frozenset({REVIEWER_ROLE}))
        self.run(self._seed())

    def run(self, work: Awaitable[T]) -> T:
        return self.runner.run(work)  # type: ignore[arg-type]

    def tick(self) -> None:
        """Each submission a few minutes after the last: the per-member rate limit is not the subject."""
        self.now += timedelta(minutes=5)

    async def _seed(self) -> None:
        from db.migrate import upgrade

        await upgrade(self.bot.engine)
        async with self.bot.sessions.begin() as session:
            session.add(
                GuildSettings(
                    guild_id=GUILD,
                    announcements_channel_id=1,
                    review_channel_id=2,
                    reviewer_role_id=REVIEWER_ROLE,
                    admin_role_id=None,
                    timezone="Asia/Shanghai",
                    updated_at=START,
                )
            )
            group = await session.scalar(select(WorkingGroup).where(WorkingGroup.slug == "watches-jewellery"))
            assert group is not None
            group.member_role_id, group.channel_id = MEMBER_ROLE, 3
            organisation = Organisation(
                name="Vantor Watches", name_key="vantor watches", working_group=group, created_at=START, rights=[]
            )
            organisation.rights.append(
                IpRight(kind=RightKind.trademark, number=RIGHT, jurisdiction="CN", created_at=START)
            )
            session.add(organisation)
            await session.flush()
            session.add(Member(user_id=MEMBER, organisation_id=organisation.id, linked_at=START, linked_by=0))

    async def counts(self) -> tuple[int, ...]:
        """What a refused submission must leave unchanged, in one round trip."""
        def total(model: Any, *where: Any) -> Any:
            return select(func.count()).select_from(model).where(*where).scalar_subquery()

        async with self.bot.sessions() as session:
            row = await session.execute(
                select(
                    total(IntelReport),
                    total(Takedown),
                    total(Takedown, Takedown.status == TakedownStatus.needs_info),
                    total(AuditEntry),
                )
            )
            return tuple(int(value) for value in row.one())

    def submit(self, form: str, action: Callable[[], Awaitable[Any]]) -> Any | None:
        """Run one submission: its result, or None if it was refused (and then nothing changed)."""
        record("modal submissions through the services", f"{form} ({self.bot.database_backend})")
        self.tick()
        before = self.run(self.counts())
        try:
            return self.run(action())
        except AllianceError as refusal:
            assert refusal.message.strip(), "a refusal with no message"
            assert self.run(self.counts()) == before, f"{form}: refused ({refusal.message}) but something was written"
            record("modal submissions refused with nothing written", f"{form} ({self.bot.database_backend})")
            return None

    def close(self) -> None:
        self.run(self.bot.engine.dispose())
        self.runner.close()


@pytest.fixture
def forms(database_url: str) -> Iterator[Forms]:
    made = Forms(database_url)
    try:
        yield made
    finally:
        made.close()


@FORM
@given(
    title=field("Dial factory in Guangzhou", "Fake straps"),
    observed=field("Seller ships from Yiwu", "WeChat lucky-star-88 sells dials"),
    indicators=field("+86 138 0013 8000", "wechat: lucky-star-88", "https://item.taobao.com/item.htm?id=6123"),
    tlp=st.sampled_from([Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT]),
)
def test_share_intel_submissions(forms: Forms, title: str, observed: str, indicators: str, tlp: Tlp) -> None:
    async def share() -> Any:
        return await forms.bot.intel.share(
            forms.member, tlp=tlp, title=title, body=observed, indicator_lines=indicators, channel_id=3
        )

    shared = forms.submit("Share intel", share)
    if shared is not None:
        async def stored() -> IntelReport | None:
            async with forms.bot.sessions() as session:
                return await session.scalar(select(IntelReport).order_by(IntelReport.id.desc()).limit(1))

        report = forms.run(stored())
        assert report is not None and report.title == plain_text(title) and report.body == plain_text(observed)


@FORM
@given(
    url=field("https://www.ebay.com/itm/{}", "https://item.taobao.com/item.htm?id={}"),
    right=field(RIGHT, RIGHT.lower(), f" {RIGHT} "),
    reason=field("counterfeit", "Trademark", " COUNTERFEIT "),
    seller=field("Lucky Star Shop", ""),
    note=field("Fake dial", ""),
    listing=st.integers(1, 10**9),
)
def test_file_takedown_submissions(
    forms: Forms, url: str, right: str, reason: str, seller: str, note: str, listing: int
) -> None:
    url = url.replace("{}", str(listing))

    async def file() -> Any:
        prepared = await forms.bot.takedowns.prepare(
            forms.member,
            url=url,
            right=right,
            reason=parse_reason(reason),
            seller=seller or None,
            note=note or None,
            channel_id=3,
        )
        return await forms.bot.takedowns.file(forms.member, prepared) if isinstance(prepared, Draft) else prepared

    filed = forms.submit("File a takedown", file)
    if filed is not None and filed.created:
        assert filed.takedown.note == plain_text(note)
        assert filed.takedown.seller_text == (plain_text(seller) or None)


@FORM
@given(note=field("Please add a photo of the dial", "Which registration covers this?"))
def test_needs_info_submissions(forms: Forms, note: str) -> None:
    number = forms.run(_open_request(forms))

    async def ask() -> Takedown:
        return await forms.bot.takedowns.review(forms.reviewer, number, "needs_info", note)

    asked = forms.submit("Needs info", ask)
    if asked is not None:
        assert asked.status == TakedownStatus.needs_info


async def _open_request(forms: Forms) -> int:
    """The takedown the reviewer asks about: one in `submitted`, filed once and reopened."""
    async with forms.bot.sessions.begin() as session:
        takedown = await session.scalar(select(Takedown).order_by(Takedown.id).limit(1))
        if takedown is not None:  # reopened; its earlier pauses dropped so it does not grow each time
            takedown.status = TakedownStatus.submitted
            await session.execute(delete(TakedownPause).where(TakedownPause.takedown_id == takedown.id))
            return takedown.id
    prepared = await forms.bot.takedowns.prepare(
        forms.member, url="https://www.ebay.com/itm/1", right=RIGHT, reason=parse_reason("counterfeit"),
        seller=None, note=None, channel_id=3,
    )
    assert isinstance(prepared, Draft)
    return (await forms.bot.takedowns.file(forms.member, prepared)).takedown.id


# ------------------------------------------------------------- field by field


def read(what: str, reader: Callable[[], T]) -> T | None:
    """One field value through its reader: the value, or None if refused with a message."""
    record("modal field values tried", what)
    try:
        return reader()
    except AllianceError as refusal:
        assert refusal.message.strip(), f"{what}: a refusal with no message"
        return None


@FIELDS
@given(text=field("Dial factory in Guangzhou", "Fake straps"))
def test_share_form_title(text: str) -> None:
    read_ = read("Share intel: title", lambda: read_report_form(text, "observed", "", "CN"))
    assert read_ is None or read_[0] == plain_text(text)


@FIELDS
@given(text=field("Seller ships from Yiwu", "WeChat lucky-star-88 sells dials"))
def test_share_form_observed(text: str) -> None:
    read_ = read("Share intel: observed", lambda: read_report_form("title", text, "", "CN"))
    assert read_ is None or read_[1] == plain_text(text)


@FIELDS
@given(text=field("+86 138 0013 8000", "wechat: lucky-star-88", "https://item.taobao.com/item.htm?id=6123"))
def test_share_form_indicators(text: str) -> None:
    read_ = read("Share intel: indicators", lambda: read_report_form("title", "observed", text, "CN"))
    assert read_ is None or all(indicator.value for indicator in read_[2].indicators)


@FIELDS
@given(text=field("https://www.ebay.com/itm/123", "https://item.taobao.com/item.htm?id=6123"))
def test_file_form_url(text: str) -> None:
    listing = read("File a takedown: url", lambda: canonicalise(text))
    assert listing is None or listing.key.startswith(listing.marketplace + ":")


@FIELDS
@given(text=field("counterfeit", "Trademark", " COUNTERFEIT "))
def test_file_form_reason(text: str) -> None:
    reason = read("File a takedown: reason", lambda: parse_reason(text))
    assert reason is None or reason.value == text.strip().lower()


@FIELDS
@given(text=field("Lucky Star Shop", "shop-a"))
def test_file_form_seller(text: str) -> None:
    shown = read("File a takedown: seller", lambda: clean_seller(text))
    assert shown is None or (shown == plain_text(text) and len(shown) <= SELLER_MAX)
    if shown:
        with contextlib.suppress(InvalidInput):  # a seller with no letters or digits is refused
            key = seller_key(shown)
            assert key == seller_key(key)


@FIELDS
@given(text=field("Fake dial", "Please add a photo of the dial"))
def test_file_and_needs_info_form_note(text: str) -> None:
    note = read("File a takedown / Needs info: note", lambda: clean_note(text))
    assert note is None or note == plain_text(text)
