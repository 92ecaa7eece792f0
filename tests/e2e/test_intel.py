"""`/intel …` end to end through the real discord.py client in SimCord, on every engine."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import simcord
from sqlalchemy import select

from bot.app import AllianceBot
from bot.rendering import escape
from db.models import (
    IntelIndicator,
    IntelRecipient,
    IntelReport,
    IpRight,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    RightKind,
    Takedown,
    TakedownReason,
    TakedownStatus,
    Tlp,
    WarninglistEntry,
    WorkingGroup,
)
from tests.e2e.world import World, arrange, grant_role, wire
from tests.tlp_oracle import Report, User, expected_network

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


async def test_thread_discord_already_made_is_recorded_not_retried(
    world: World, env: simcord.Env, bot: AllianceBot
) -> None:
    """Discord answers 160004 when the card already has a thread (it made it, but the bot
    crashed before hearing so): a thread started from a message has the message's id, so the
    report records the card's id as its thread, and the outbox action ends delivered instead
    of failing as an HTTP 400 and leaving the report without a thread."""
    env.inject_error(
        "POST",
        f"/channels/{world.watches.id}/messages/*/threads",
        status=400,
        code=160004,
        message="A thread has already been created for this message",
        times=None,
    )
    result = await share(world, world.alice, world.watches, title="Dial factory", body="Seen in Guangzhou")
    assert "Shared **IN-000001**" in result.response.content, result.response.content
    await env.advance_time(3600)
    card = next(m for m in world.watches.history() if m.content.startswith("**IN-000001**"))
    [report] = await reports(bot)
    assert report.thread_id == card.id
    async with bot.sessions() as session:
        thread_action = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "intel:1:thread"))
    assert thread_action is not None
    assert (thread_action.status, thread_action.attempts, thread_action.last_error) == (
        OutboxStatus.delivered,
        1,
        None,
    )
    assert thread_action.message_id == card.id


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
    mine = answer(await world.alice.slash(world.watches, "intel network", id="IN-000001"))
    assert mine.content.startswith("**Network** of 3 report(s) around `IN-000001`\n**Brands:** 2 (Vantor Watches")
    theirs = answer(await nora.slash(apparel(world), "intel network", id="IN-000003"))
    assert theirs.content.startswith("**Network** of 1 report(s)")
    assert [row[0] for row in (await attached_rows(theirs))[1:]] == ["IN-000003"]
    by_value = answer(await world.lead.slash(world.watches, "intel network", id="wechat: lucky_star88"))
    assert "**Newest:** IN-000003, IN-000002, IN-000001" in by_value.content
    assert [row[0] for row in (await attached_rows(by_value))[1:]] == ["IN-000001", "IN-000002", "IN-000003"]
    card = next(m for m in world.watches.history() if m.content.startswith("**IN-000001**"))
    pressed = answer(await world.lead.click(card, label="Show network"))  # the card's button: the same page
    assert pressed.content == answer(await world.lead.slash(world.watches, "intel network", id="IN-000001")).content
    assert await attached_rows(pressed) == await attached_rows(by_value)


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
    network = answer(await world.lead.click(card, label="Show network"))
    assert network.content.startswith("**Network** of 1 report(s) around `IN-000001`")
    assert [row[:2] for row in await attached_rows(network)] == [["id", "tlp"], ["IN-000001", "TLP:AMBER"]]


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
    assert answer(network).content.startswith("**Network** of 1 report(s)")
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


# ------------------------------------------------------------------- networks

SEED_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PH1, PH2, HOT = ("phone", "+8613800000001"), ("phone", "+8613800000002"), ("phone", "+8613800000099")
WX1, WX2, SEL = ("wechat", "lucky_one"), ("wechat", "lucky_two"), ("seller", "taobao:shop_x")
LST1, LST2, ADDR = ("listing", "taobao:612345678901"), ("listing", "taobao:612345678902"), ("address", "12 baiyun rd")
COMMON = ("qq", "100008")


@dataclass(frozen=True)
class Seeded:
    """A network written straight into the database, with what is needed to predict its page."""

    ids: dict[str, int]  # label → report id
    spec: dict[int, Report]  # report id → the TLP oracle's view of it
    brand: dict[int, str]  # report id → organisation name
    group: dict[int, str]  # report id → working group name
    created: dict[int, datetime]
    title: dict[int, str]
    takedowns: list[tuple[int, int, str, TakedownStatus]]  # (id, organisation id, listing key, status)
    orgs: dict[str, int]  # organisation name → id
    group_ids: dict[str, int]  # working group slug → id


async def seed_network(world: World, nora: simcord.MemberActor, bot: AllianceBot) -> Seeded:
    """Twelve reports and fifty fillers. As Alice may see it, the network around R1 is R1 R2 R3 R4
    R5 R11: R1 -phone- R2, R11; R2 -wechat- R3; R3 -seller- R4, -listing- R11; R4 -address- R5 (RED,
    Alice named). Not in it: R6 (AMBER of a group Alice is not in), R7 (linked only through R6:
    hidden reports link nothing), R8 (only the warninglisted hotline), R9 (only a value in 53
    reports, over the cap of 50), R10 (retracted), R12 (RED for Nora only). The hotline and the
    common value are each in two reports of the network, yet bind nothing. A brand name carries
    markup and R1's title a spreadsheet formula."""
    alice, lead, other = world.alice.id, world.lead.id, 4242
    async with bot.sessions.begin() as session:
        group_ids = {g.slug: g.id for g in await session.scalars(select(WorkingGroup))}
        watches, apparel_id = group_ids["watches-jewellery"], group_ids["apparel-footwear"]
        electronics = group_ids["consumer-electronics"]
        for name, group in (("Lumen *Time*", watches), ("Orbit Electronics", electronics)):
            session.add(Organisation(name=name, name_key=name.lower(), working_group_id=group, created_at=SEED_NOW))
        await session.flush()
        orgs = {o.name: o.id for o in await session.scalars(select(Organisation))}
        rights = {}
        for number in orgs.values():
            right = IpRight(
                organisation_id=number,
                kind=RightKind.trademark,
                number=f"TM-{number}",
                jurisdiction="CN",
                created_at=SEED_NOW,
            )
            session.add(right)
            await session.flush()
            rights[number] = right.id
        session.add(WarninglistEntry(type=HOT[0], value=HOT[1], display=HOT[1], added_by=1, added_at=SEED_NOW))
        vantor, north = orgs["Vantor Watches"], orgs["Northwind Apparel"]
        lumen, orbit = orgs["Lumen *Time*"], orgs["Orbit Electronics"]
        plan = [  # label, author, organisation, group, level, recipients, values, title, retracted
            ("R1", alice, vantor, watches, Tlp.CLEAR, set(), {PH1, LST1, ("waybill", "SF1"), HOT}, "=SUM(A1)", False),
            ("R2", other, lumen, watches, Tlp.AMBER, set(), {PH1, WX1, COMMON}, "Lumen dials", False),
            ("R3", nora.id, north, apparel_id, Tlp.GREEN, set(), {WX1, SEL, LST2, COMMON}, "Sneaker *drop*", False),
            ("R4", lead, vantor, watches, Tlp.AMBER_STRICT, set(), {SEL, ADDR}, "Workshop", False),
            ("R5", other, orbit, electronics, Tlp.RED, {alice}, {ADDR, WX2}, "Informant", False),
            ("R6", nora.id, north, apparel_id, Tlp.AMBER, set(), {WX2, PH2}, "Apparel only", False),
            ("R7", other, orbit, electronics, Tlp.GREEN, set(), {PH2, ("waybill", "SF7")}, "Behind R6", False),
            ("R8", other, orbit, electronics, Tlp.CLEAR, set(), {HOT, ("waybill", "SF8")}, "Hotline", False),
            ("R9", other, orbit, electronics, Tlp.CLEAR, set(), {COMMON, ("waybill", "SF9")}, "Common", False),
            ("R10", other, lumen, watches, Tlp.AMBER, set(), {LST1}, "Retracted", True),
            ("R11", other, lumen, watches, Tlp.AMBER, set(), {LST2, PH1, HOT}, "Newest", False),
            ("R12", lead, vantor, watches, Tlp.RED, {nora.id}, {PH1}, "For Nora", False),
        ] + [(f"F{n}", other, orbit, electronics, Tlp.CLEAR, set(), {COMMON}, "Filler", False) for n in range(50)]
        rows = [
            IntelReport(
                author_id=author,
                organisation_id=org,
                working_group_id=group,
                tlp=level,
                title=title,
                body="seen",
                unrecognised=[],
                created_at=SEED_NOW - timedelta(hours=len(plan) - hour) if label != "R11" else SEED_NOW,
                updated_at=SEED_NOW,
                retracted_at=SEED_NOW if retracted else None,
                indicators=[IntelIndicator(type=t, value=v, display=v) for t, v in sorted(values)],
                recipients=[IntelRecipient(user_id=user) for user in recipients],
            )
            for hour, (label, author, org, group, level, recipients, values, title, retracted) in enumerate(plan)
        ]
        session.add_all(rows)
        await session.flush()
        takedowns = []
        for org, key, status in (
            (vantor, LST1[1], TakedownStatus.submitted),
            (vantor, LST2[1], TakedownStatus.removed),
            (north, LST2[1], TakedownStatus.submitted),
            (orbit, LST1[1], TakedownStatus.rejected),
            (vantor, "taobao:612345678909", TakedownStatus.submitted),  # a listing outside the network
        ):
            takedown = Takedown(
                organisation_id=org,
                right_id=rights[org],
                filer_id=1,
                marketplace="taobao",
                listing_key=key,
                listing_url=f"https://item.taobao.com/item.htm?id={key[7:]}",
                submitted_url=f"https://item.taobao.com/item.htm?id={key[7:]}",
                reason=TakedownReason.counterfeit,
                good_faith_statement="good faith",
                status=status,
                filed_at=SEED_NOW,
                due_at=SEED_NOW + timedelta(days=1),
                at_risk_at=SEED_NOW + timedelta(hours=18),
            )
            session.add(takedown)
            await session.flush()
            takedowns.append((takedown.id, org, key, status))
        names = {number: name for name, number in orgs.items()}
        group_names = {g.id: g.name for g in await session.scalars(select(WorkingGroup))}
    return Seeded(
        ids={entry[0]: row.id for entry, row in zip(plan, rows, strict=True)},
        spec={
            row.id: Report(author, group, level, frozenset(recipients), frozenset(values), retracted)
            for (_label, author, _org, group, level, recipients, values, _title, retracted), row in zip(
                plan, rows, strict=True
            )
        },
        brand={row.id: names[row.organisation_id] for row in rows},
        group={row.id: group_names[row.working_group_id] for row in rows},
        created={row.id: row.created_at for row in rows},
        title={row.id: row.title for row in rows},
        takedowns=takedowns,
        orgs=orgs,
        group_ids=group_ids,
    )


def answer(result: simcord.InteractionResult) -> simcord.Message:
    """The one message a deferred command answers with."""
    messages = [m for m in (result.response, *result.followups) if m is not None and (m.content or m.attachments)]
    assert len(messages) == 1, [m.content[:80] for m in messages]
    return messages[0]


async def attached_rows(message: simcord.Message) -> list[list[str]]:
    [attachment] = message.attachments
    assert attachment.filename == "intel-network.csv"
    return list(csv.reader(io.StringIO((await attachment.read()).decode("utf-8-sig"))))


def stamp(moment: datetime) -> str:
    seconds = int(moment.timestamp())
    return f"<t:{seconds}:f> (<t:{seconds}:R>)"


def expected_page(
    seeded: Seeded, user: User, start: list[int], origin: str, *, sees_all_takedowns: bool = False
) -> str:
    """The page, line by line, from the TLP oracle's network and the seeded rows alone."""
    network = expected_network(user, seeded.spec, start, warned=[HOT])
    ids = network.ids
    own = sorted({seeded.brand[n] for n in ids if seeded.spec[n].group in user.groups})
    groups = sorted({seeded.group[n] for n in ids})
    names = f" ({', '.join(escape(name) for name in own)} in your groups)" if own else ""
    listings = {value for n in ids for kind, value in seeded.spec[n].values if kind == "listing"}
    on_listings = [t for t in seeded.takedowns if t[2] in listings]
    visible = [t for t in on_listings if sees_all_takedowns or t[1] == user.organisation]
    counts = sorted(network.values_by_type.items(), key=lambda item: (-item[1], item[0]))
    newest = sorted(ids, key=lambda n: (seeded.created[n], n), reverse=True)
    lines = [
        f"**Network** of {len(ids)} report(s) around `{origin}`",
        f"**Brands:** {len({seeded.brand[n] for n in ids})}{names} · **Working groups:** {len(groups)}"
        f" ({', '.join(groups)})",
        f"**Seen** first {stamp(seeded.created[newest[-1]])}, last {stamp(seeded.created[newest[0]])}",
        "**Indicators:** " + " · ".join(f"{count} {kind}" for kind, count in counts),
    ]
    if network.hubs:
        lines.append("**Shared most:** " + " · ".join(f"{t} `{v}` in {n} reports" for t, v, n in network.hubs))
    lines.append("**Newest:** " + ", ".join(f"IN-{n:06d}" for n in newest[:10]))
    if on_listings:
        named = ", ".join(f"TD-{number:06d} {status.value}" for number, _org, _key, status in visible)
        others = len(on_listings) - len(visible)
        parts = [named] * bool(visible) + [f"{others} by other members"] * bool(others)
        lines.append("**Takedowns on its listings:** " + "; ".join(parts))
    left_out = len(ids) - len(network.file)
    lines.append(
        f"The attached file lists {len(network.file)} report(s) with their linking indicators"
        + (f"; {left_out} AMBER+STRICT or RED report(s) are counted here but never exported." if left_out else ".")
    )
    return "\n".join(lines)


def expected_file(seeded: Seeded, user: User, start: list[int]) -> list[list[str]]:
    """The attachment: the CLEAR, GREEN and AMBER reports of the oracle's network, each with the
    values it shares with another of them, cells a spreadsheet would run written as text."""
    network = expected_network(user, seeded.spec, start, warned=[HOT])

    def cell(text: str) -> str:
        return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

    return [["id", "tlp", "group", "created_at", "title", "linking_indicators"]] + [
        [
            f"IN-{n:06d}",
            f"TLP:{seeded.spec[n].tlp.value}",
            seeded.group[n],
            seeded.created[n].strftime("%Y-%m-%dT%H:%M:%SZ"),
            cell(seeded.title[n]),
            "; ".join(f"{kind}: {value}" for kind, value in linking),
        ]
        for n, linking in sorted(network.file.items())
    ]


async def test_the_network_page_and_file_are_the_oracles_for_every_viewer(
    world: World, nora: simcord.MemberActor, bot: AllianceBot
) -> None:
    seeded = await seed_network(world, nora, bot)
    r = seeded.ids
    watches, apparel_id = seeded.group_ids["watches-jewellery"], seeded.group_ids["apparel-footwear"]
    alice = User(world.alice.id, seeded.orgs["Vantor Watches"], frozenset({watches}), reviewer=False, admin=False)
    assert expected_network(alice, seeded.spec, [r["R1"]], warned=[HOT]).ids == {
        r[label] for label in ("R1", "R2", "R3", "R4", "R5", "R11")
    }  # the seed holds what its docstring says

    result = await world.alice.slash(world.watches, "intel network", id=f"IN-{r['R1']:06d}")
    page = answer(result)
    assert result.ephemeral and page.ephemeral  # mentions: tests/e2e/test_mentions.py checks every message
    assert page.content == expected_page(seeded, alice, [r["R1"]], f"IN-{r['R1']:06d}")
    assert "(Lumen \\*Time\\*, Vantor Watches in your groups)" in page.content  # brand names escaped
    assert "**Shared most:** phone `+8613800000001` in 3 reports · address `12 baiyun rd` in 2 reports" in page.content
    rows = await attached_rows(page)
    assert rows == expected_file(seeded, alice, [r["R1"]])
    assert [row[0] for row in rows[1:]] == [f"IN-{r[label]:06d}" for label in ("R1", "R2", "R3", "R11")]
    assert rows[1][4] == "'=SUM(A1)"  # a formula is written as text

    by_value = answer(await world.alice.slash(world.watches, "intel network", id="phone: +86 138 0000 0001"))
    holders = [r["R1"], r["R2"], r["R11"]]
    assert by_value.content == expected_page(seeded, alice, holders, "phone: +86 138 0000 0001")
    assert await attached_rows(by_value) == expected_file(seeded, alice, holders)

    northwind = User(nora.id, seeded.orgs["Northwind Apparel"], frozenset({apparel_id}), reviewer=False, admin=False)
    for label in ("R3", "R6", "R12"):  # R3 alone; R6 with R7; R12 (RED for Nora) with R1
        shown = answer(await nora.slash(apparel(world), "intel network", id=f"IN-{r[label]:06d}"))
        assert shown.content == expected_page(seeded, northwind, [r[label]], f"IN-{r[label]:06d}"), label
        assert await attached_rows(shown) == expected_file(seeded, northwind, [r[label]]), label

    rita = User(world.reviewer.id, None, frozenset(), reviewer=True, admin=False)
    shown = answer(await world.reviewer.slash(world.general, "intel network", id=f"IN-{r['R1']:06d}"))
    assert shown.content == expected_page(seeded, rita, [r["R1"]], f"IN-{r['R1']:06d}", sees_all_takedowns=True)
    assert "; " not in shown.content.split("**Takedowns on its listings:** ")[1].split("\n")[0]  # all hers to see

    hidden = await world.outsider.slash(world.general, "intel network", id=f"IN-{r['R2']:06d}")
    assert f"No intel report IN-{r['R2']:06d} that you can see." in answer(hidden).content
    assert not answer(hidden).attachments
