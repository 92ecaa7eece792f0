"""Every slash command, tried by every kind of user, against README's "who" columns.

The commands come from the bot's own command tree at run time, so a new command is tried
automatically, and the test fails until it has an expectation here. Each pair runs with
valid-looking options (fresh targets where an action would use its target up); it "acted" if the
bot raised no refusal (the reply is not a refusal, or the database changed). Only the allowed
roles may act, a refusal changes nothing, and every refusal is ephemeral and names the role or
link that is missing (or, where even the existence of a report or request is confidential, says
there is none "you can see").

Also users who lose a role between two steps: a reviewer whose role is removed cannot press a
review card's buttons, and a member unlinked between preparing and confirming a filing files
nothing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import simcord
from discord import app_commands
from sqlalchemy import func, select

from bot.app import AllianceBot
from bot.errors import AllianceError, NotFound, PermissionDenied
from db.models import Base, IpRight, Takedown
from tests.e2e.world import World, arrange, grant_role, wire
from tests.figures import record

ROLES = ("no link", "member", "other group's member", "group lead", "reviewer", "admin")
EVERYONE = frozenset(ROLES)
MEMBERS = frozenset({"member", "other group's member", "group lead"})
COMMUNITY = MEMBERS | {"reviewer", "admin"}
ADMIN = frozenset({"admin"})
OWN_ORG = frozenset({"member", "group lead"})  # alice and leo act for Vantor Watches
WATCHES = frozenset({"member", "group lead"})  # holders of the Watches group's roles

# Who may act, from README's "who" columns. Notes where the code is broader than README's words:
# reviewer-only commands also admit admins (bot.permissions.require_reviewer), as do the
# takedown list and export (README: "member (own organisation), reviewer (all)").
EXPECTED: dict[str, frozenset[str]] = {
    "alliance setup": ADMIN,
    "alliance whoami": EVERYONE,
    "alliance health": ADMIN,
    "alliance group create": ADMIN,
    "alliance group bind": ADMIN,
    "alliance group list": EVERYONE,
    "alliance group archive": ADMIN,
    "alliance org add": ADMIN,
    "alliance org right": ADMIN,
    "alliance org standing": ADMIN,
    "alliance member link": ADMIN,
    "alliance member unlink": ADMIN,
    "takedown file": MEMBERS,
    "takedown bulk": MEMBERS,
    "takedown status": OWN_ORG | {"reviewer", "admin"},
    "takedown check": COMMUNITY,
    "takedown list": MEMBERS | {"reviewer", "admin"},
    "takedown export": MEMBERS | {"reviewer", "admin"},
    "takedown review": frozenset({"reviewer", "admin"}),
    "takedown respond": OWN_ORG,
    "takedown counter": frozenset({"reviewer", "admin"}),
    "takedown sla": COMMUNITY,
    "intel share": WATCHES,
    "intel show": WATCHES,  # an AMBER report of the Watches group
    "intel search": EVERYONE,
    "intel network": EVERYONE,
    "intel sighting": MEMBERS,  # a CLEAR report by a fourth member
    "intel watch": MEMBERS,
    "intel unwatch": MEMBERS,
    "intel export": COMMUNITY,
    "intel edit": frozenset({"member"}),  # the author: each pair gets a fresh report by alice
    "intel retract": frozenset({"member"}),
    "intel autoreply": frozenset({"group lead", "admin"}),
    "intel warninglist add": ADMIN,
    "intel warninglist remove": ADMIN,
    "intel warninglist list": ADMIN,
    "case log": frozenset({"group lead", "admin"}),
    "case list": COMMUNITY,
    "case show": COMMUNITY,
    "digest schedule": ADMIN,
    "digest preview": frozenset({"group lead", "admin"}),
    "digest send": ADMIN,
    "digest subscribe": MEMBERS,
    "digest unsubscribe": MEMBERS,
}

NAMES_WHAT_IS_MISSING = re.compile(
    r"role|link|Manage Server|admin|member|author|recipient|working group|not in ", re.IGNORECASE
)
# NotFound: the thing is hidden from this user, or (unsubscribe) there is nothing of theirs to undo
HIDDEN = re.compile(
    r"you can see|you may see|that you|not found|no such|not subscribed|of your|do not watch", re.IGNORECASE
)

_urls = itertools.count(700_000_000_001)


def fresh_listing() -> str:
    return f"https://item.taobao.com/item.htm?id={next(_urls)}"


class Alliance:
    """The world plus nora (another brand, another group), ivy (a fourth Vantor member) and
    throwaway targets for the commands that use their target up."""

    def __init__(self, world: World, bot: AllianceBot) -> None:
        self.w, self.env, self.bot = world, world.env, bot
        self.actors: dict[str, simcord.MemberActor] = {}
        self.counter = itertools.count(1)

    async def build(self) -> None:
        w, owner = self.w, self.w.owner
        await owner.slash(
            w.general,
            "alliance org right",
            org="Vantor Watches",
            kind="trademark",
            number="TM-778812",
            jurisdiction="CN",
        )
        await owner.slash(w.general, "alliance org add", name="Northwind Apparel", group="apparel-footwear")
        await owner.slash(
            w.general,
            "alliance org right",
            org="Northwind Apparel",
            kind="trademark",
            number="EU-0099",
            jurisdiction="EU",
        )
        self.apparel = w.guild.create_text_channel("apparel-footwear")
        apparel_role = w.guild.create_role("Apparel WG")
        await owner.slash(
            w.general, "alliance group bind", group="apparel-footwear", channel=self.apparel, role=apparel_role
        )
        self.nora = w.guild.add_member(self.env.create_user("nora"))
        await owner.slash(w.general, "alliance member link", user=self.nora, org="Northwind Apparel")
        await grant_role(self.env, self.nora, apparel_role)
        self.ivy = w.guild.add_member(self.env.create_user("ivy"))
        await owner.slash(w.general, "alliance member link", user=self.ivy, org="Vantor Watches")
        await grant_role(self.env, self.ivy, w.watches_role)
        self.spare_role = w.guild.create_role("Spare")
        self.spare_channel = w.guild.create_text_channel("spare")
        self.actors = {
            "no link": w.outsider,
            "member": w.alice,
            "other group's member": self.nora,
            "group lead": w.lead,
            "reviewer": w.reviewer,
            "admin": w.admin,
        }
        self.amber = await self.share(self.ivy, "Watches AMBER", tlp="AMBER")
        self.clear = await self.share(self.ivy, "Watches CLEAR", tlp="CLEAR")
        self.td = await self.file(w.alice)
        logged = await w.lead.slash(
            w.watches,
            "case log",
            group="watches-jewellery",
            arrests=1,
            locations=1,
            seizure_value=100.0,
            currency="CNY",
            summary="Raid on a warehouse",
        )
        self.case = re.search(r"CASE-\d+", logged.response.content).group(0)  # type: ignore[union-attr]

    async def right_id(self, number: str) -> str:
        async with self.bot.sessions() as session:
            return str(await session.scalar(select(IpRight.id).where(IpRight.number == number)))

    async def share(self, actor: simcord.MemberActor, title: str, **options: Any) -> str:
        shown = await actor.slash(self.w.watches, "intel share", **options)
        done = await actor.submit_modal(shown, {"title": title, "observed": "seen", "indicators": "qq: 123456789"})
        return re.search(r"IN-\d+", done.response.content).group(0)  # type: ignore[union-attr]

    async def file(self, actor: simcord.MemberActor) -> str:
        shown = await actor.slash(
            self.w.general,
            "takedown file",
            url=fresh_listing(),
            right=await self.right_id("TM-778812"),
            reason="counterfeit",
        )
        done = await actor.click(shown.response, label="File takedown")
        return re.search(r"TD-\d+", done.response.content).group(0)  # type: ignore[union-attr]

    async def removed(self) -> str:
        number = await self.file(self.w.alice)
        await self.w.reviewer.slash(self.w.general, "takedown review", id=number, decision="removed")
        return number

    async def options(self, command: str, role: str) -> tuple[simcord.ChannelHandle, dict[str, Any]]:
        """Valid-looking options for `command` run by `role` (fresh targets where needed)."""
        w, n = self.w, next(self.counter)
        actor = self.actors[role]
        general = w.general
        right = await self.right_id("EU-0099" if role == "other group's member" else "TM-778812")
        table: dict[str, Callable[[], Awaitable[tuple[simcord.ChannelHandle, dict[str, Any]]]]] = {}

        async def plain(**options: Any) -> tuple[simcord.ChannelHandle, dict[str, Any]]:
            return general, options

        if command == "alliance setup":
            return general, {
                "announcements": w.announcements,
                "review_channel": w.review,
                "reviewer_role": w.reviewer_role,
                "admin_role": w.admin_role,
                "timezone": "Asia/Shanghai",
            }
        if command == "alliance group create":
            return general, {
                "name": f"Test Group {n}",
                "channel": w.guild.create_text_channel(f"tg-{n}"),
                "role": w.guild.create_role(f"TG {n}"),
            }
        if command == "alliance group bind":
            return general, {"group": "toys-games", "channel": self.spare_channel, "role": self.spare_role}
        if command == "alliance group archive":
            target = w.guild.create_text_channel(f"archive-{n}")
            await w.owner.slash(
                general,
                "alliance group create",
                name=f"Archive Me {n}",
                channel=target,
                role=w.guild.create_role(f"AR {n}"),
            )
            return general, {"group": f"archive-me-{n}"}
        if command == "alliance org add":
            return general, {"name": f"Brand {n}", "group": "watches-jewellery"}
        if command == "alliance org right":
            return general, {
                "org": "Vantor Watches",
                "kind": "trademark",
                "number": f"TM-9{n:05d}",
                "jurisdiction": "CN",
            }
        if command == "alliance org standing":
            return general, {"org": "Vantor Watches"}
        if command == "alliance member link":
            target = w.guild.add_member(self.env.create_user(f"newcomer{n}"))
            return general, {"user": target, "org": "Vantor Watches"}
        if command == "alliance member unlink":
            target = w.guild.add_member(self.env.create_user(f"leaver{n}"))
            await w.owner.slash(general, "alliance member link", user=target, org="Vantor Watches")
            return general, {"user": target}
        if command == "takedown file":
            return general, {"url": fresh_listing(), "right": right, "reason": "counterfeit", "seller": "shop"}
        if command == "takedown bulk":
            number = "EU-0099" if role == "other group's member" else "TM-778812"
            data = f"url,right,reason\n{fresh_listing()},{number},counterfeit\n".encode()
            return general, {"csv": ("bulk.csv", data)}
        if command in ("takedown status",):
            return general, {"id": self.td}
        if command == "takedown check":
            return general, {"url": "https://item.taobao.com/item.htm?id=612345678901"}
        if command == "takedown review":
            return general, {"id": await self.file(w.alice), "decision": "removed"}
        if command == "takedown respond":
            return general, {"id": await self.file(w.alice), "action": "withdraw"}
        if command == "takedown counter":
            return general, {"id": await self.removed(), "note": "seller objects"}
        if command == "intel share":
            return w.watches, {}
        if command == "intel show":
            return general, {"id": self.amber}
        if command == "intel search":
            return general, {"query": "Watches"}
        if command == "intel network":
            return general, {"id": self.clear}
        if command == "intel sighting":
            return general, {"id": self.clear}
        if command == "intel watch":
            return general, {"value": f"wechat: watched{n}"}
        if command == "intel unwatch":
            await actor.slash(general, "intel watch", value=f"wechat: unwatched{n}")
            return general, {"value": f"wechat: unwatched{n}"}
        if command == "intel export":
            return general, {"format": "csv"}
        if command in ("intel edit", "intel retract"):
            return w.watches, {"id": await self.share(w.alice, f"Alice's report {n}", tlp="AMBER")}
        if command == "intel autoreply":
            return general, {"enabled": bool(n % 2), "group": "watches-jewellery"}
        if command == "intel warninglist add":
            return general, {"value": f"qq: 55500{n}", "note": "hotline"}
        if command == "intel warninglist remove":
            await w.owner.slash(general, "intel warninglist add", value=f"qq: 66600{n}")
            return general, {"value": f"qq: 66600{n}"}
        if command == "case log":
            return general, {
                "group": "watches-jewellery",
                "arrests": 2,
                "locations": 1,
                "seizure_value": 125000.5,
                "currency": "CNY",
                "summary": "Warehouse raid",
            }
        if command == "case show":
            return general, {"id": self.case}
        if command == "digest schedule":
            return general, {"cron": "0 9 * * 1", "group": "watches-jewellery"}
        if command in ("digest preview", "digest send"):
            return general, {"group": "watches-jewellery"}
        if command == "digest unsubscribe":
            await actor.slash(general, "digest subscribe")
            return general, {}
        del table
        return await plain()

    async def fingerprint(self) -> tuple[int, ...]:
        """Row counts of every table: any action a command takes changes at least one."""
        async with self.bot.sessions() as session:
            counts = []
            for table in Base.metadata.sorted_tables:
                counts.append(int(await session.scalar(select(func.count()).select_from(table)) or 0))
            return tuple(counts)

    async def run(self, command: str, role: str) -> tuple[bool, list[AllianceError], list[Any]]:
        """Run one pair; returns (refused, refusals, messages answered to the actor)."""
        actor = self.actors[role]
        channel, options = await self.options(command, role)
        before_errors = len(self.env.errors)
        before = await self.fingerprint()
        result = await actor.slash(channel, command, **options)
        results = [result]
        if result.modal is not None:
            values = {"title": "Updated title", "observed": "observed text", "indicators": "qq: 987654321"}
            results.append(await actor.submit_modal(result, values))
        elif result.response is not None and any(
            label in str(result.response.components) for label in ("File takedown", "File all")
        ):
            label = "File takedown" if command == "takedown file" else "File all"
            results.append(await actor.click(result.response, label=label))
        await self.env.settle()
        errors = [_cause(error) for error in self.env.errors[before_errors:]]
        unexpected = [error for error in errors if not isinstance(error, AllianceError)]
        assert not unexpected, f"{command} by {role}: {unexpected!r}"
        refusals = [error for error in errors if isinstance(error, AllianceError)]
        for refusal in refusals:
            assert isinstance(refusal, (PermissionDenied, NotFound)), (
                f"{command} by {role} was refused for another reason (the options are not valid): {refusal.message}"
            )
        messages = [m for r in results for m in ([r.response] if r.response else []) + list(r.followups)]
        changed = await self.fingerprint() != before
        if refusals:
            assert not changed, f"{command} by {role} was refused but the database changed"
        return bool(refusals), refusals, messages


def _cause(error: BaseException) -> BaseException:
    return error.__cause__ if isinstance(error, app_commands.CommandInvokeError) and error.__cause__ else error


@pytest.fixture
async def alliance(env: simcord.Env, bot: AllianceBot) -> Alliance:
    world = await wire(arrange(env))
    built = Alliance(world, bot)
    await built.build()
    return built


def command_names(bot: AllianceBot) -> list[str]:
    return sorted(
        command.qualified_name for command in bot.tree.walk_commands() if isinstance(command, app_commands.Command)
    )


async def test_every_command_has_an_expectation(alliance: Alliance) -> None:
    names = command_names(alliance.bot)
    assert len(names) >= 40
    missing = [name for name in names if name not in EXPECTED]
    assert not missing, f"commands without a permission expectation: {missing}"
    stale = [name for name in EXPECTED if name not in names]
    assert not stale, f"expectations for commands that no longer exist: {stale}"


async def test_only_the_allowed_roles_act_and_refusals_name_what_is_missing(alliance: Alliance) -> None:
    wrong: list[str] = []
    for command in command_names(alliance.bot):
        allowed = EXPECTED.get(command)
        assert allowed is not None, f"/{command} has no permission expectation"
        for role in ROLES:
            refused, refusals, messages = await alliance.run(command, role)
            record("permission pairs", alliance.bot.database_backend)
            acted = not refused
            if acted != (role in allowed):
                detail = refusals[0].message if refusals else (messages[0].content[:120] if messages else "")
                wrong.append(f"/{command} by {role}: {'acted' if acted else 'refused'} ({detail})")
                continue
            if refused:
                if not messages or not all(m.ephemeral for m in messages):
                    wrong.append(f"/{command} by {role}: the refusal was not shown ephemerally")
                for refusal in refusals:
                    pattern = NAMES_WHAT_IS_MISSING if isinstance(refusal, PermissionDenied) else HIDDEN
                    if not pattern.search(refusal.message):
                        wrong.append(f"/{command} by {role}: the refusal names no role or link: {refusal.message}")
    assert not wrong, "\n".join(wrong)


async def test_a_reviewer_who_loses_the_role_cannot_press_review_buttons(alliance: Alliance) -> None:
    w = alliance.w
    number = await alliance.file(w.alice)
    card = [m for m in w.review.history() if m.content.startswith(f"**{number}")][-1]
    alliance.env.backend.remove_member_role(w.guild.id, w.reviewer.id, w.reviewer_role.id)
    await alliance.env.settle()
    for label in ("Removed", "Rejected", "Needs info"):
        before = await alliance.fingerprint()
        pressed = await w.reviewer.click(card, label=label)
        record("permission pairs", alliance.bot.database_backend)
        assert pressed.modal is None
        answer = pressed.response or pressed.followups[0]
        assert answer.ephemeral and "reviewer role" in answer.content
        assert await alliance.fingerprint() == before
    async with alliance.bot.sessions() as session:
        status = await session.scalar(select(Takedown.status).where(Takedown.id == int(number[3:])))
    assert status is not None and status.value == "submitted"
    await grant_role(alliance.env, w.reviewer, w.reviewer_role)
    assert "removed" in (await w.reviewer.click(card, label="Removed")).response.content  # type: ignore[union-attr]


async def test_a_member_unlinked_before_confirming_files_nothing(alliance: Alliance) -> None:
    w = alliance.w
    shown = await w.alice.slash(
        w.general,
        "takedown file",
        url=fresh_listing(),
        right=await alliance.right_id("TM-778812"),
        reason="counterfeit",
    )
    bulk = await w.alice.slash(
        w.general,
        "takedown bulk",
        csv=("b.csv", f"url,right,reason\n{fresh_listing()},TM-778812,counterfeit\n".encode()),
    )
    await w.owner.slash(w.general, "alliance member unlink", user=w.alice)
    before = await alliance.fingerprint()
    for prepared, label in ((shown, "File takedown"), (bulk, "File all")):
        pressed = await w.alice.click(prepared.response, label=label)
        record("permission pairs", alliance.bot.database_backend)
        texts = [m.content for m in [pressed.response, *pressed.followups] if m is not None]
        assert any("link" in text or "no longer act" in text for text in texts), texts
    after = await alliance.fingerprint()
    async with alliance.bot.sessions() as session:
        filed = await session.scalar(select(func.count()).select_from(Takedown))
    assert filed == 1  # only the one filed while building the alliance
    assert after == before


async def test_a_member_who_leaves_the_group_can_no_longer_share_there(alliance: Alliance) -> None:
    w = alliance.w
    shown = await w.alice.slash(w.watches, "intel share")
    assert shown.modal is not None
    alliance.env.backend.remove_member_role(w.guild.id, w.alice.id, w.watches_role.id)
    await alliance.env.settle()
    before = await alliance.fingerprint()
    done = await w.alice.submit_modal(shown, {"title": "late", "observed": "late", "indicators": ""})
    record("permission pairs", alliance.bot.database_backend)
    answer = done.response or done.followups[0]
    assert answer.ephemeral and "not in Watches & Jewellery" in answer.content
    assert await alliance.fingerprint() == before
