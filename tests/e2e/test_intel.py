"""`/intel …` end to end through the real discord.py client in SimCord, on every engine."""

from __future__ import annotations

import pytest
import simcord
from sqlalchemy import select

from bot.app import AllianceBot
from db.models import IntelReport
from tests.e2e.world import World, arrange, grant_role, wire

PHONE = "+86 138 0013 8000"
LISTING = "https://item.taobao.com/item.htm?id=612345678901&spm=x"


@pytest.fixture
async def world(env: simcord.Env) -> World:
    w = await wire(arrange(env))
    await w.owner.slash(w.general, "alliance org add", name="Northwind Apparel", group="apparel-footwear")
    return w


@pytest.fixture
async def nora(world: World, env: simcord.Env) -> simcord.MemberActor:
    """A member of another brand and another working group (Apparel & Footwear)."""
    apparel = world.guild.create_text_channel("apparel-footwear")
    role = world.guild.create_role("Apparel WG")
    await world.owner.slash(world.general, "alliance group bind", group="apparel-footwear", channel=apparel, role=role)
    member = world.guild.add_member(env.create_user("nora"))
    await world.owner.slash(world.general, "alliance member link", user=member, org="Northwind Apparel")
    await grant_role(env, member, role)
    return member


async def share(
    world: World,
    actor: simcord.MemberActor,
    channel: simcord.ChannelHandle,
    *,
    title: str,
    body: str,
    indicators: str = "",
    **options: object,
) -> simcord.InteractionResult:
    shown = await actor.slash(channel, "intel share", **options)
    assert shown.modal is not None, shown.response.content if shown.response else shown
    return await actor.submit_modal(shown, {"title": title, "observed": body, "indicators": indicators})


async def reports(bot: AllianceBot) -> list[IntelReport]:
    async with bot.sessions() as session:
        return list(await session.scalars(select(IntelReport).order_by(IntelReport.id)))


def apparel(world: World) -> simcord.ChannelHandle:
    return world.guild.channels["apparel-footwear"]


# ---------------------------------------------------------------------- share


async def test_share_extracts_indicators_posts_a_card_and_opens_a_thread(world: World, bot: AllianceBot) -> None:
    result = await share(
        world,
        world.alice,
        world.watches,
        title="Fake Vantor dials from Guangzhou",
        body=f"Seller ships from a factory; call {PHONE} or mail Sales@Lucky-Star.example.com",
        indicators=f"{LISTING}\nwechat: lucky_star88\nsomething odd here",
    )
    assert result.ephemeral
    text = result.response.content
    assert "Shared **IN-000001** at TLP:AMBER with Watches & Jewellery" in text
    assert "phone: +86 138 0013 8000" in text and "wechat: lucky\\_star88" in text
    assert "email: sales@lucky-star.example.com" in text.lower()
    assert "listing: " in text and "something odd here" in text
    card = next(m for m in world.watches.history() if m.content.startswith("**IN-000001** · TLP:AMBER"))
    assert [c.label for row in card.components for c in row.children] == ["Seen it too", "Show network"]
    assert world.watches.threads and world.watches.threads[0].name.startswith("Fake Vantor dials")
    [report] = await reports(bot)
    assert {(i.type, i.value) for i in report.indicators} >= {("phone", "+8613800138000"), ("wechat", "lucky_star88")}


async def test_tlp_decides_who_sees_a_report(world: World, env: simcord.Env, nora: simcord.MemberActor) -> None:
    await share(world, world.alice, world.watches, title="Amber intel", body="group only")
    await share(world, world.alice, world.watches, title="Green intel", body="community", tlp="GREEN")
    await share(world, world.alice, world.watches, title="Clear intel", body="anyone", tlp="CLEAR")
    await share(world, world.alice, world.watches, title="Strict intel", body="group only", tlp="AMBER+STRICT")

    def visible(result: simcord.InteractionResult) -> bool:
        return "that you can see" not in result.response.content

    for actor, expected in (
        (world.lead, [True, True, True, True]),
        (nora, [False, True, True, False]),
        (world.outsider, [False, False, True, False]),
        (world.reviewer, [False, True, True, False]),
    ):
        seen = [visible(await actor.slash(world.general, "intel show", id=f"IN-00000{n}")) for n in range(1, 5)]
        assert seen == expected, actor.name


async def test_red_goes_only_to_named_recipients(world: World, nora: simcord.MemberActor) -> None:
    result = await share(
        world, world.alice, world.watches, title="Informant tip", body="do not spread", tlp="RED", recipient1=nora
    )
    assert "1 named recipient(s)" in result.response.content
    assert not any(m.content.startswith("**IN-000001**") for m in world.watches.history())
    dm = nora.user.dm_channel.last_message
    assert dm is not None and "Informant tip" in dm.content
    assert "that you can see" in (await world.lead.slash(world.general, "intel show", id="IN-000001")).response.content
    assert "Informant tip" in (await nora.slash(world.general, "intel show", id="IN-000001")).response.content
    missing = await world.alice.slash(world.watches, "intel share", tlp="RED")
    assert missing.modal is not None
    refused = await world.alice.submit_modal(missing, {"title": "x", "observed": "y", "indicators": ""})
    assert "needs one to five recipients" in refused.response.content


async def test_members_share_only_with_their_groups(world: World, nora: simcord.MemberActor) -> None:
    result = await share(world, nora, world.general, title="x", body="y", group="watches-jewellery")
    assert "not in Watches & Jewellery" in result.response.content
    outsider = await share(world, world.outsider, world.general, title="x", body="y")
    assert "not linked to a member organisation" in outsider.response.content


# ----------------------------------------------------------------- correlation


async def test_linked_reports_form_a_network_no_larger_than_clearance(world: World, nora: simcord.MemberActor) -> None:
    await share(world, world.alice, world.watches, title="A", body="factory", indicators=f"phone: {PHONE}")
    linked = await share(
        world,
        world.lead,
        world.watches,
        title="B",
        body="same phone",
        indicators=f"phone: {PHONE}\nwechat: lucky_star88",
    )
    assert "Linked to 1 report(s) you can see:** IN-000001" in linked.response.content
    await share(
        world,
        nora,
        apparel(world),
        title="C",
        body="wechat seen",
        tlp="GREEN",
        indicators="wechat: lucky_star88\naddress: 12 Baiyun Road, Guangzhou",
    )
    mine = await world.alice.slash(world.watches, "intel network", id="IN-000001")
    assert "**Network** of 3 report(s) from 2 brand(s)" in mine.response.content
    theirs = await nora.slash(apparel(world), "intel network", id="IN-000003")
    assert "**Network** of 1 report(s)" in theirs.response.content
    by_value = await world.lead.slash(world.watches, "intel network", id="wechat: lucky_star88")
    assert "IN-000001, IN-000002, IN-000003" in by_value.response.content


async def test_cross_group_match_tells_both_sides_without_detail(world: World, nora: simcord.MemberActor) -> None:
    await share(world, world.alice, world.watches, title="Secret factory", body="amber", indicators=f"phone: {PHONE}")
    result = await share(
        world, nora, apparel(world), title="Mine", body="green", tlp="GREEN", indicators=f"phone: {PHONE}"
    )
    assert "matches intel held by another working group" in result.response.content
    assert "Secret factory" not in result.response.content
    notice = world.watches.last_message
    assert notice is not None and "**Apparel & Footwear** matches intel your group holds" in notice.content
    assert [role.id for role in notice.role_mentions] == [world.watches_lead_role.id]
    assert "Mine" not in notice.content and "Northwind" not in notice.content


async def test_warninglist_values_never_link(world: World) -> None:
    added = await world.owner.slash(
        world.general, "intel warninglist add", value=f"phone: {PHONE}", note="platform hotline"
    )
    assert "On the warninglist" in added.response.content
    await share(world, world.alice, world.watches, title="A", body="x", indicators=f"phone: {PHONE}")
    second = await share(world, world.lead, world.watches, title="B", body="y", indicators=f"phone: {PHONE}")
    assert "on the warninglist: never links" in second.response.content and "Linked to" not in second.response.content
    listed = await world.owner.slash(world.general, "intel warninglist list")
    assert (
        "+86 138 0013 8000" in listed.response.content.replace("\\", "")
        and "platform hotline" in listed.response.content
    )
    refused = await world.alice.slash(world.watches, "intel warninglist add", value="qq: 123456")
    assert "admin role" in refused.response.content


# ---------------------------------------------------------- working with intel


async def test_sightings_once_per_member(world: World) -> None:
    await share(world, world.alice, world.watches, title="A", body="x")
    card = next(m for m in world.watches.history() if m.content.startswith("**IN-000001"))
    first = await world.lead.click(card, label="Seen it too")
    assert "seen by 1 member(s)" in first.response.content
    again = await world.lead.slash(world.watches, "intel sighting", id="IN-000001")
    assert "already reported a sighting" in again.response.content
    own = await world.alice.click(card, label="Seen it too")
    assert "your own report" in own.response.content
    network = await world.lead.click(card, label="Show network")
    assert "**Network** of 1 report(s)" in network.response.content


async def test_watch_notices_respect_tlp(world: World, nora: simcord.MemberActor) -> None:
    watched = await nora.slash(apparel(world), "intel watch", value="wechat: Lucky_Star88")
    assert "Watching wechat" in watched.response.content
    await share(world, world.alice, world.watches, title="Amber one", body="x", indicators="wechat: lucky_star88")
    assert nora.user.dm_channel.last_message is None
    await share(
        world, world.alice, world.watches, title="Green one", body="x", tlp="GREEN", indicators="wechat: lucky_star88"
    )
    dm = nora.user.dm_channel.last_message
    assert dm is not None and "IN-000002" in dm.content and "Amber one" not in dm.content
    gone = await nora.slash(apparel(world), "intel unwatch", value="wechat: lucky_star88")
    assert "No longer watching" in gone.response.content


async def test_search_finds_text_and_indicators_only_when_visible(world: World, nora: simcord.MemberActor) -> None:
    await share(
        world,
        world.alice,
        world.watches,
        title="Counterfeit movement supplier",
        body="Shenzhen workshop",
        indicators=f"phone: {PHONE}",
    )
    by_text = await world.lead.slash(world.watches, "intel search", query="workshop")
    assert "IN-000001" in by_text.response.content
    by_value = await world.lead.slash(world.watches, "intel search", query=PHONE)
    assert "IN-000001" in by_value.response.content
    hidden = await nora.slash(apparel(world), "intel search", query="workshop")
    assert "Nothing you can see matches" in hidden.response.content


async def test_retract_removes_a_report_from_every_view(world: World, bot: AllianceBot) -> None:
    await share(world, world.alice, world.watches, title="A", body="x", indicators=f"phone: {PHONE}")
    await share(world, world.lead, world.watches, title="B", body="y", indicators=f"phone: {PHONE}")
    refused = await world.lead.slash(world.watches, "intel retract", id="IN-000001")
    assert "No live intel report IN-000001 of yours" in refused.response.content
    done = await world.alice.slash(world.watches, "intel retract", id="IN-000001")
    assert "is retracted" in done.response.content
    assert "that you can see" in (await world.alice.slash(world.watches, "intel show", id="IN-000001")).response.content
    network = await world.lead.slash(world.watches, "intel network", id="IN-000002")
    assert "**Network** of 1 report(s)" in network.response.content
    card = next(m for m in world.watches.history() if "IN-000001" in m.content)
    assert "retracted" in card.content and card.components == []


async def test_edit_re_extracts_indicators(world: World, bot: AllianceBot) -> None:
    await share(world, world.alice, world.watches, title="A", body="x", indicators=f"phone: {PHONE}")
    shown = await world.alice.slash(world.watches, "intel edit", id="IN-000001")
    assert shown.modal is not None
    result = await world.alice.submit_modal(
        shown, {"title": "A (updated)", "observed": "x", "indicators": "qq: 123456789"}
    )
    assert "now has 1 indicator(s)" in result.response.content
    [report] = await reports(bot)
    assert report.title == "A (updated)" and [(i.type, i.value) for i in report.indicators] == [("qq", "123456789")]


# ------------------------------------------------------------------------ chat


async def test_chat_answers_known_listings_once_an_hour(world: World, env: simcord.Env, bot: AllianceBot) -> None:
    await share(world, world.alice, world.watches, title="A", body="x", indicators=LISTING)
    await world.lead.send(world.watches, f"look at this one {LISTING.replace('&spm=x', '')}")
    answer = world.watches.last_message
    assert answer is not None and answer.author.bot and "taobao:612345678901" in answer.content
    assert "intel network of 1 report(s)" in answer.content and not answer.mentions
    assert [c.label for row in answer.components for c in row.children] == ["File takedown"]
    await world.alice.send(world.watches, LISTING)
    assert not world.watches.last_message.author.bot  # quiet for an hour
    await env.advance_time(3601)
    await world.alice.send(world.watches, LISTING)
    assert world.watches.last_message.author.bot

    form = await world.alice.click(world.watches.last_message, label="File takedown")
    assert form.modal is not None
    filled = await world.alice.submit_modal(
        form, {"url": LISTING, "right": "TM-9", "reason": "counterfeit", "seller": "", "note": ""}
    )
    assert "has no registered right `TM-9`" in filled.response.content  # the same checks as /takedown file

    off = await world.lead.slash(world.watches, "intel autoreply", enabled=False)
    assert "now off" in off.response.content
    await env.advance_time(3601)
    await world.alice.send(world.watches, LISTING)
    assert not world.watches.last_message.author.bot
    refused = await world.alice.slash(world.watches, "intel autoreply", enabled=True)
    assert "lead role" in refused.response.content


async def test_unknown_listings_get_no_answer(world: World) -> None:
    await world.alice.send(world.watches, "https://www.ebay.com/itm/123456789")
    assert not world.watches.last_message.author.bot


async def test_export_has_only_exportable_levels_the_viewer_may_see(world: World, nora: simcord.MemberActor) -> None:
    import json

    await share(world, world.alice, world.watches, title="=cmd|' /C calc'!A0", body="x", indicators=f"phone: {PHONE}")
    await share(world, world.alice, world.watches, title="Strict", body="x", tlp="AMBER+STRICT")
    await share(world, world.alice, world.watches, title="Green", body="x", tlp="GREEN", indicators="qq: 123456789")
    result = await world.lead.slash(world.watches, "intel export", format="stix")
    message = result.followups[0] if result.followups else result.response
    bundle = json.loads(await message.attachments[0].read())
    names = sorted(obj["name"] for obj in bundle["objects"] if obj["type"] == "report")
    assert names == ["=cmd|' /C calc'!A0", "Green"]
    assert all(obj.get("object_marking_refs") for obj in bundle["objects"] if obj["type"] in ("report", "indicator"))
    csv_result = await nora.slash(apparel(world), "intel export", format="csv")
    message = csv_result.followups[0] if csv_result.followups else csv_result.response
    text = (await message.attachments[0].read()).decode("utf-8-sig")
    assert "Green" in text and "Strict" not in text and "calc" not in text


async def test_takedowns_and_intel_link_both_ways(world: World, bot: AllianceBot) -> None:
    from tests.e2e.test_takedowns import file

    await world.owner.slash(
        world.general,
        "alliance org right",
        org="Vantor Watches",
        kind="trademark",
        number="TM-778812",
        jurisdiction="CN",
    )
    await share(world, world.alice, world.watches, title="Listing seen", body="x", indicators=LISTING)
    await file(world, world.lead, url=LISTING)
    checked = await world.lead.slash(world.watches, "takedown check", url=LISTING)
    assert "In intel you can see: IN-000001" in checked.response.content
    status = await world.lead.slash(world.watches, "takedown status", id="TD-000001")
    assert "IN-000001" in status.response.content
    network = await world.alice.slash(world.watches, "intel network", id="IN-000001")
    assert "TD-000001 submitted" in network.response.content
