"""User text with mentions, markdown and template syntax, wherever the bot repeats it.

Every message the bot sends (replies, cards, DMs, thread answers, digests, notices) is checked
with one helper, `assert_shown_literally`, read from SimCord's record of what Discord received:

- sent with no mentions allowed (`allowed_mentions` parses nothing and names no user or role),
  and nothing pinged;
- no live `@everyone`/`@here`, no typed `<@user>`, `<@&role>` or `<#channel>` token, and none of
  the typed markdown (bold, underline, spoiler, strike-through, masked link, code fence, heading,
  quote) left as markup: outside code spans they must be escaped;
- for the messages of the place under test, the text a reader sees (escapes resolved as Discord
  renders them; backslashes inside code spans stay visible) contains the member's text as typed,
  template syntax included: `{{ 7*7 }}` is shown, never evaluated.

Thread names, CSV exports (cells neutralised against formula injection and the text kept) and
the STIX export (the text exactly, as data) have their own checks. The last test prints
`mention checks: N messages in M places`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
import simcord
from sqlalchemy import select

from bot.app import AllianceBot
from bot.services.takedown_csv import FORMULA_PREFIXES
from db.models import IpRight
from tests.e2e.world import World, arrange, wire
from tests.figures import record

# One line (titles, names, sellers) and a block (bodies, notes). The ids are filled in per world.
LINE = (
    "@everyone Zq7 @here <@{uid}> <@&{rid}> <#{cid}> **b** __u__ ||s|| ~~x~~ [x](http://evil.example) "
    "`c` {{ 7*7 }} {% for i in 'ab' %}{{ i }}{% endfor %}"
)
BLOCK = LINE + "\n# heading\n> quote\n```\nfence\n```\n- item"
NAME = "@everyone Zq7 <@&{rid}> **b** ||s|| {{ 7*7 }} {% if 1 %}"  # organisation names: 120 characters at most
MARKUP = ("**b**", "__u__", "||s||", "~~x~~", "[x](http", "```")
LINE_MARKUP = re.compile(r"(?m)^(# heading|> quote|```|- item)")
LIVE_MENTION = re.compile(r"@(everyone|here)")
ZERO_WIDTH = "\u200b"



@dataclass
class Hostile:
    """The hostile texts of one world and the tokens they type."""

    line: str
    block: str
    name: str
    typed: tuple[str, ...]


def hostile(world: World) -> Hostile:
    """The typed mentions name a real member, a mentionable role and a channel the bot itself never
    mentions, so any of them left live in a message came from the member's text."""
    role = world.guild.create_role("Everyone pingable", mentionable=True)
    channel = world.guild.create_text_channel("secret-plans")
    ids = {"uid": world.outsider.id, "rid": role.id, "cid": channel.id}
    fill = {"{" + key + "}": str(value) for key, value in ids.items()}

    def filled(template: str) -> str:
        for key, value in fill.items():
            template = template.replace(key, value)
        return template

    typed = tuple(f"<{prefix}{value}>" for prefix, value in zip(("@", "@&", "#"), ids.values(), strict=True))
    return Hostile(filled(LINE), filled(BLOCK), filled(NAME), typed)


# ------------------------------------------------------------------ reading Discord markup


def segments(content: str) -> list[tuple[str, str]]:
    """Split `content` as Discord reads it: ("text", char), ("escaped", char) and ("code", span)."""
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(content):
        if content[i] == "\\" and i + 1 < len(content) and not content[i + 1].isalnum():
            parts.append(("escaped", content[i + 1]))
            i += 2
            continue
        fence = "```" if content.startswith("```", i) else "`" if content[i] == "`" else None
        end = content.find(fence, i + len(fence)) if fence else -1
        if fence and end != -1:
            parts.append(("code", content[i + len(fence) : end]))
            i = end + len(fence)
            continue
        parts.append(("text", content[i]))
        i += 1
    return parts


def live_markup(content: str) -> str:
    """What Discord would still treat as markup: plain text outside code, escaped characters blanked."""
    return "".join(text if kind == "text" else "\x00" for kind, text in segments(content))


def visible(content: str) -> str:
    """What a reader sees: escapes resolved, code spans as typed (their backslashes show), no zero-widths."""
    return "".join(text for _kind, text in segments(content)).replace(ZERO_WIDTH, "")


# ------------------------------------------------------------------ the one assertion


@dataclass
class Sent:
    """The bot's messages as SimCord's Discord stored them, new or edited since the last look."""

    env: simcord.Env
    seen: set[tuple[int, str]] = field(default_factory=set)

    def bot_messages(self) -> list[Any]:
        bot_id = self.env.bot.user.id  # type: ignore[union-attr]
        return [
            message
            for channel in self.env.backend.messages.values()
            for message in channel.values()
            if message.author_id == bot_id and message.type != 18  # 18: "thread created", checked by name
        ]

    def new(self) -> list[Any]:
        fresh = [m for m in self.bot_messages() if (m.id, m.content) not in self.seen]
        self.seen.update((m.id, m.content) for m in fresh)
        return fresh


def assert_shown_literally(message: Any, where: str, text: Hostile, *, pings: Iterable[int] = ()) -> None:
    """The check every message the bot sends must pass (see the module docstring)."""
    allowed, content = message.allowed_mentions, message.content
    intended = frozenset(pings)
    assert not allowed.everyone and allowed.users is not None and allowed.roles is not None, (
        f"{where}: mentions not restricted ({allowed}) in {content!r}"
    )
    assert allowed.users <= intended and not allowed.roles, f"{where}: allows pinging {allowed}"
    assert not message.mention_everyone and not message.ping_role_ids, f"{where}: pinged in {content!r}"
    assert set(message.ping_user_ids) <= intended, f"{where}: pinged {message.ping_user_ids}"
    live = live_markup(content)
    assert LIVE_MENTION.search(live) is None, f"{where}: live @everyone/@here in {content!r}"
    assert not [t for t in text.typed if t in live], f"{where}: typed mention left live in {content!r}"
    assert not [m for m in MARKUP if m in live], f"{where}: typed markdown left live in {content!r}"
    assert LINE_MARKUP.search(live) is None, f"{where}: a typed line became markup in {content!r}"


def assert_thread_name_literal(name: str, title: str, where: str) -> None:
    """Thread names are plain text (Discord renders no markdown there): the title as typed, cut
    to Discord's length, and no `@everyone` that reads as a mention."""
    assert LIVE_MENTION.search(name) is None, f"{where}: {name!r}"
    shown = name.replace(ZERO_WIDTH, "")
    assert shown and title.startswith(shown), f"{where}: {name!r} is not the title as typed"


def assert_csv_literal(data: bytes, where: str, texts: Iterable[str]) -> int:
    """Every cell is safe to open in a spreadsheet, and each text is in a cell exactly (after the quote)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    risky = [cell for cell in cells if cell.startswith(FORMULA_PREFIXES)]
    assert not risky, f"{where}: formula cells {risky}"
    shown = {cell.removeprefix("'") if cell.startswith("'") else cell for cell in cells}
    for text in texts:
        assert text in shown, f"{where}: {text!r} not kept literally in {cells}"
    return len(rows) - 1


# ------------------------------------------------------------------ scenarios, one per place


@dataclass
class Run:
    """What a scenario hands back: the messages of each place that must show the member's text."""

    world: World
    text: Hostile
    sent: Sent
    places: dict[str, list[Any]] = field(default_factory=dict)

    def take(self, place: str, *, show: str | None = None, dm_to: simcord.MemberActor | None = None) -> list[Any]:
        """The bot's new messages, recorded as `place`; one of them (a DM to `dm_to`, if given) must
        show `show` (default: the hostile line) to its reader."""
        fresh = self.sent.new()
        expected = self.text.line if show is None else show
        candidates = [m for m in fresh if dm_to is None or m.channel_id == self.dm_channel(dm_to)]
        assert any(expected in visible(m.content) for m in candidates), (
            f"{place}: {expected!r} is not visible in {[visible(m.content) for m in candidates]}"
        )
        self.places[place] = fresh
        return fresh

    def dm_channel(self, actor: simcord.MemberActor) -> int | None:
        return self.world.env.backend.dm_channels.get(actor.id)


async def right_of(bot: AllianceBot, number: str = "TM-1") -> str:
    async with bot.sessions() as session:
        return str(await session.scalar(select(IpRight.id).where(IpRight.number == number)))


async def share(run: Run, actor: simcord.MemberActor, **options: Any) -> simcord.InteractionResult:
    w, text = run.world, run.text
    opened = await actor.slash(w.watches, "intel share", **options)
    assert opened.modal is not None, opened.response
    return await actor.submit_modal(
        opened, {"title": text.line, "observed": text.block, "indicators": f"seller: {text.line[:150]}\nqq: 123456789"}
    )


async def file(run: Run, url: str) -> None:
    w, text = run.world, run.text
    shown = await w.alice.slash(
        w.watches,
        "takedown file",
        url=url,
        right=await right_of(w.env.bot),  # type: ignore[arg-type]
        reason="counterfeit",
        seller=text.line[:200],
        note=text.block,
    )
    assert shown.response is not None
    await w.alice.click(shown.response, label="File takedown")


async def replies_and_cards(run: Run) -> None:
    w, text = run.world, run.text
    await w.owner.slash(w.general, "alliance org add", name=text.name, group="watches-jewellery")
    run.take("org add reply", show=text.name)
    shown = await w.alice.slash(
        w.watches,
        "takedown file",
        url="https://shop.example.com/@everyone/__y__",
        right=await right_of(w.env.bot),  # type: ignore[arg-type]
        reason="counterfeit",
        seller=text.line,
        note=text.block,
    )
    run.take("takedown file preview")
    assert shown.response is not None
    await w.alice.click(shown.response, label="File takedown")
    await w.env.settle()
    run.take("takedown filed reply and review card")
    await w.alice.slash(w.general, "takedown status", id="TD-000001")
    run.take("takedown status", show="web:shop.example.com/@everyone/__y__")
    await share(run, w.alice, tlp="CLEAR")
    await w.env.settle()
    run.take("intel share reply and card")
    await w.lead.slash(w.general, "intel show", id="IN-000001")
    run.take("intel show")
    await w.lead.slash(
        w.watches, "case log", group="watches-jewellery", arrests=1, locations=1, seizure_value=10.0,
        currency="CNY", summary=text.block,
    )  # fmt: skip
    run.take("case summary")
    await w.env.advance_time(3600)  # into the digest's period
    await w.owner.slash(w.general, "digest preview", group="watches-jewellery")
    run.take("digest preview")
    await w.owner.slash(w.general, "alliance whoami")
    run.sent.new()  # nothing of the member's in it, but checked like every message


async def intel_reads(run: Run) -> None:
    w = run.world
    await share(run, w.alice, tlp="CLEAR")
    await share(run, w.lead, tlp="CLEAR")  # the same seller and QQ: one network
    await w.env.settle()
    run.sent.new()
    await w.lead.slash(w.watches, "intel search", query="Zq7")
    run.take("intel search")
    await w.lead.slash(w.watches, "intel network", id="IN-000001")
    [page] = run.take("intel network", show="seller @everyone zq7 @here")  # the shared seller, normalised
    [attachment] = page.attachments
    data = w.env.backend.cdn.get(attachment["url"])
    assert data is not None
    record("mention checks: export rows", "intel network CSV", assert_csv_literal(data, "network", [run.text.line]))


async def intel_dms(run: Run) -> None:
    w = run.world
    await w.lead.slash(w.watches, "intel watch", value="qq: 123456789")
    run.sent.new()
    await share(run, w.alice, tlp="GREEN")
    await w.env.settle()
    run.take("intel watch DM", dm_to=w.lead)
    await share(run, w.alice, tlp="RED", recipient1=w.lead)
    await w.env.settle()
    run.take("TLP:RED DM", dm_to=w.lead)


async def takedown_decisions(run: Run) -> None:
    w, note = run.world, run.text.block
    for number in (1, 2, 3):
        await file(run, f"https://item.taobao.com/item.htm?id=61234567890{number}")
    await w.env.settle()
    run.sent.new()
    for number, decision in ((1, "removed"), (2, "rejected"), (3, "needs_info")):
        await w.reviewer.slash(w.general, "takedown review", id=f"TD-00000{number}", decision=decision, note=note)
        await w.env.settle()
        run.take(f"takedown {decision} DM", show="heading", dm_to=w.alice)
    await w.reviewer.slash(w.general, "takedown counter", id="TD-000001", note=note)
    await w.env.settle()
    run.take("takedown counter-notice DM", show="heading", dm_to=w.alice)


async def discussion(run: Run) -> None:
    w = run.world
    opened = await w.alice.slash(w.watches, "intel share", tlp="CLEAR")
    listing = "https://item.taobao.com/item.htm?id=612345678901"
    await w.alice.submit_modal(opened, {"title": run.text.line, "observed": "x", "indicators": listing})
    await w.env.settle()
    run.sent.new()
    [thread] = w.watches.threads
    assert_thread_name_literal(thread.name or "", run.text.line, "thread name")
    record("mention checks: messages per place", "discussion thread name")
    await w.lead.send(thread, f"{run.text.block}\n{listing}")
    run.take("chat answer in a thread", show="taobao:612345678901")
    await w.env.advance_time(3601)
    await w.lead.send(w.watches, f"{run.text.block}\n{listing}")
    run.take("chat answer in the group channel", show="taobao:612345678901")


async def digests(run: Run) -> None:
    w, text = run.world, run.text
    await w.owner.slash(w.general, "alliance org add", name=text.name, group="watches-jewellery")
    await share(run, w.alice, tlp="CLEAR")
    await w.alice.slash(w.watches, "digest subscribe", group="watches-jewellery")
    await w.alice.slash(w.watches, "digest subscribe")
    await w.env.advance_time(3600)  # into the digest's period
    await w.env.settle()
    run.sent.new()
    await w.owner.slash(w.general, "digest send", group="watches-jewellery")
    await w.env.settle()
    posted = run.take("group digest DM", dm_to=w.alice)
    post = [m for m in posted if m.channel_id == w.watches.id]
    assert any(text.line in visible(m.content) for m in post), [m.content for m in posted]
    run.places["group digest post"] = post
    await w.owner.slash(w.general, "digest send")
    await w.env.settle()
    run.take("alliance digest DM", show=text.name, dm_to=w.alice)


async def exports(run: Run) -> None:
    w, text = run.world, run.text
    await file(run, "https://item.taobao.com/item.htm?id=612345678901")
    await share(run, w.alice, tlp="CLEAR")
    await w.env.settle()
    run.sent.new()
    for place, command, options in (
        ("takedown export CSV", "takedown export", {}),
        ("intel export CSV", "intel export", {"format": "csv"}),
        ("intel export STIX", "intel export", {"format": "stix"}),
    ):
        await w.alice.slash(w.watches, command, **options)
        [message] = run.sent.new()
        run.places[place] = [message]
        [attachment] = message.attachments
        data = w.env.backend.cdn.get(attachment["url"])
        assert data is not None, place
        if place.endswith("STIX"):
            bundle = json.loads(data)
            [report] = [obj for obj in bundle["objects"] if obj["type"] == "report"]
            assert (report["name"], report["description"]) == (text.line, text.block), place
        else:
            texts = [text.line[:200], text.block] if command.startswith("takedown") else [text.line]
            record("mention checks: export rows", place, assert_csv_literal(data, place, texts))


async def refusals(run: Run) -> None:
    """Refusals quote what was typed (in a code span, as typed) so the member sees what was wrong."""
    w = run.world
    line = "x` " + run.text.line  # a backtick first, to close the quoting code span if it could
    start = run.text.line[:30]
    cron = f"`@everyone` {run.text.typed[1]} **b** {{{{7*7}}}} *"  # five fields, so it is parsed and refused
    for place, actor, command, options in (
        ("refusal: id", w.alice, "takedown status", {"id": line}),
        ("refusal: organisation", w.owner, "alliance org right", {"org": line[:100], "kind": "trademark",
                                                                  "number": "TM-2", "jurisdiction": "CN"}),
        ("refusal: group", w.owner, "alliance group bind", {"group": line[:100], "channel": w.general,
                                                            "role": w.watches_role}),
        ("refusal: time zone", w.owner, "alliance setup", {"announcements": w.announcements,
                                                           "review_channel": w.review,
                                                           "reviewer_role": w.reviewer_role, "timezone": line}),
        ("refusal: schedule", w.owner, "digest schedule", {"cron": cron}),
        ("refusal: indicator", w.alice, "intel watch", {"value": "phone: " + line}),
    ):  # fmt: skip
        await actor.slash(w.general, command, **options)
        run.take(place, show={"refusal: schedule": cron.replace("`", "'")}.get(place, start))


SCENARIOS: dict[str, Callable[[Run], Awaitable[None]]] = {
    "replies-and-cards": replies_and_cards,
    "intel-reads": intel_reads,
    "intel-dms": intel_dms,
    "takedown-decisions": takedown_decisions,
    "discussion": discussion,
    "digests": digests,
    "exports": exports,
    "refusals": refusals,
}


@pytest.fixture
async def world(env: simcord.Env, bot: AllianceBot) -> World:
    w = await wire(arrange(env))
    await w.owner.slash(
        w.general, "alliance org right", org="Vantor Watches", kind="trademark", number="TM-1", jurisdiction="CN"
    )
    return w


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_hostile_text_is_shown_literally_and_pings_no_one(world: World, scenario: str) -> None:
    sent = Sent(world.env)
    sent.new()  # the set-up's own messages are checked below too
    text = hostile(world)
    run = Run(world, text, sent)
    await SCENARIOS[scenario](run)
    await world.env.settle()
    sent.new()
    for place, messages in run.places.items():
        record("mention checks: messages per place", place, len(messages))
    everything = sent.bot_messages()
    for message in everything:
        assert_shown_literally(message, f"{scenario}: {message.content[:60]!r}", text)
    record("mention checks", "bot messages checked", len(everything))

