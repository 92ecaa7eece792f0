"""User text with mentions, markdown and template syntax, wherever the bot repeats it.

No message may ping (`mention_everyone`, user or role mentions), the text must stay visible
(escaped, not dropped) and template syntax must never be evaluated (`{{ 7*7 }}` never shows 49).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import simcord
from sqlalchemy import select

from bot.app import AllianceBot
from db.models import IpRight
from tests.e2e.world import World, arrange, wire

HOSTILE = "@everyone @here <@{uid}> <@&{rid}> **bold** `x` ```fence``` {{{{ 7*7 }}}} {{% if 1 %}}yes{{% endif %}}"
LIVE = re.compile(r"@(everyone|here)")  # plus the ids typed into the hostile text, see check()


def hostile(world: World) -> str:
    return HOSTILE.format(uid=world.owner.id, rid=world.admin_role.id)


def visible(content: str) -> str:
    return content.replace("\\", "").replace("\u200b", "")


BACKEND: list[Any] = []
TYPED: list[str] = []  # the user and role mentions typed into the hostile text


def check(message: Any, where: str) -> None:
    """The bot's own `<@id>` of the actor (a Safe mention, never a ping) is allowed; typed ones are not."""
    channel_id = getattr(message, "channel_id", None) or message.channel.id
    stored = BACKEND[0].get_message(channel_id, message.id)
    content = message.content
    if stored.type == 18:  # "thread created" system message: the thread's name as plain text; Discord
        return  # never pings from it (SimCord flags it with the bot's own permission, which is not what we test)
    assert not stored.mention_everyone and not stored.ping_user_ids and not stored.ping_role_ids, where
    assert LIVE.search(content) is None, f"{where}: live mention in {content!r}"
    assert not any(typed in content for typed in TYPED), f"{where}: typed mention survived in {content!r}"
    assert "49" not in content, f"{where}: template evaluated in {content!r}"


@pytest.fixture
async def world(env: simcord.Env) -> World:
    return await wire(arrange(env))


async def test_hostile_text_is_shown_literally_and_pings_no_one(world: World, bot: AllianceBot) -> None:
    w, text = world, hostile(world)
    BACKEND[:] = [w.env.backend]
    TYPED[:] = [f"<@{w.owner.id}>", f"<@&{w.admin_role.id}>"]
    name = "Brand " + text[:80]
    added = await w.owner.slash(w.general, "alliance org add", name=name, group="watches-jewellery")
    await w.owner.slash(
        w.general, "alliance org right", org="Vantor Watches", kind="trademark", number="TM-1", jurisdiction="CN"
    )
    whoami = await w.alice.slash(w.general, "alliance whoami")
    async with bot.sessions() as session:
        right = str(await session.scalar(select(IpRight.id).where(IpRight.number == "TM-1")))
    shown = await w.alice.slash(
        w.general,
        "takedown file",
        url="https://item.taobao.com/item.htm?id=612345678901",
        right=right,
        reason="counterfeit",
        seller=text[:200],
        note=text,
    )
    filed = await w.alice.click(shown.response, label="File takedown")
    status = await w.alice.slash(w.general, "takedown status", id="TD-000001")
    opened = await w.alice.slash(w.watches, "intel share", tlp="CLEAR")
    intel = await w.alice.submit_modal(opened, {"title": text[:200], "observed": text, "indicators": text})
    show = await w.lead.slash(w.general, "intel show", id="IN-000001")
    case = await w.lead.slash(
        w.watches,
        "case log",
        group="watches-jewellery",
        arrests=1,
        locations=1,
        seizure_value=10.0,
        currency="CNY",
        summary=text,
    )
    preview = await w.owner.slash(w.general, "digest preview", group="watches-jewellery")
    await w.env.settle()
    replies = {
        "org add": added,
        "whoami": whoami,
        "file": shown,
        "filed": filed,
        "status": status,
        "share": intel,
        "show": show,
        "case": case,
        "preview": preview,
    }
    for where, result in replies.items():
        messages = [m for m in [result.response, *result.followups] if m is not None]
        assert messages, where
        for message in messages:
            check(message, where)
    assert "everyone" in visible(added.response.content)
    assert "{{ 7*7 }}" in visible(status.response.content)
    assert "{% if 1 %}" in visible(show.response.content)
    for channel in (w.review, w.watches, w.general, w.announcements):
        for message in channel.history():
            check(message, f"#{channel.name}")
    threads = [m for m in w.watches.history() if m.content.startswith("**IN-")]
    assert threads, "no intel card"
