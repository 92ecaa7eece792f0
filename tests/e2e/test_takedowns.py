"""`/takedown …` end to end through the real discord.py client in SimCord, on every engine."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import simcord
from sqlalchemy import func, select

from bot.app import AllianceBot, create_bot
from bot.settings import Settings
from db.models import AuditEntry, OutboxMessage, Takedown, TakedownStatus
from tests.e2e.world import World, arrange, wire
from tests.figures import record

LISTING = "https://item.taobao.com/item.htm?id=612345678901&spm=a21bo.123&scm=1007"
LISTING_VARIANT = "HTTPS://h5.m.taobao.com/awp/core/detail.htm?id=612345678901#reviews"


@pytest.fixture
async def world(env: simcord.Env) -> World:
    w = await wire(arrange(env))
    await w.owner.slash(
        w.general, "alliance org right", org="Vantor Watches", kind="trademark", number="TM-778812", jurisdiction="CN"
    )
    await w.owner.slash(w.general, "alliance org add", name="Northwind Apparel", group="apparel-footwear")
    await w.owner.slash(
        w.general, "alliance org right", org="Northwind Apparel", kind="trademark", number="EU-0099", jurisdiction="EU"
    )
    return w


async def right_id(bot: AllianceBot, number: str) -> str:
    from db.models import IpRight

    async with bot.sessions() as session:
        return str(await session.scalar(select(IpRight.id).where(IpRight.number == number)))


async def file(
    world: World, actor: simcord.MemberActor, url: str = LISTING, number: str = "TM-778812", **options: object
):
    bot = world.env.bot
    assert isinstance(bot, AllianceBot)
    shown = await actor.slash(
        world.watches, "takedown file", url=url, right=await right_id(bot, number), reason="counterfeit", **options
    )
    if shown.response is not None and "File takedown" in str(shown.response.components):
        return await actor.click(shown.response, label="File takedown")
    return shown


async def takedowns(bot: AllianceBot) -> list[Takedown]:
    async with bot.sessions() as session:
        return list(await session.scalars(select(Takedown).order_by(Takedown.id)))


def review_card(world: World) -> object:
    cards = [m for m in world.review.history() if m.content.startswith("**TD-")]
    assert cards, f"no review card was posted: {[m.content[:80] for m in world.review.history()]} {world.env.errors}"
    return cards[-1]


# ---------------------------------------------------------------------- filing


async def test_file_confirms_good_faith_then_files_and_posts_a_review_card(world: World, bot: AllianceBot) -> None:
    shown = await world.alice.slash(
        world.watches,
        "takedown file",
        url=LISTING,
        right=await right_id(bot, "TM-778812"),
        reason="counterfeit",
        seller="Shop  Lucky-Star",
        note="Fake dial @everyone",
        evidence=("proof.png", b"\x89PNG fake image bytes"),
    )
    assert shown.ephemeral
    assert "I state in good faith" in shown.response.content
    assert "taobao:612345678901" in shown.response.content
    assert await takedowns(bot) == []  # nothing is filed before the statement is made

    done = await world.alice.click(shown.response, label="File takedown")
    assert "Filed **TD-000001**" in done.response.content
    assert "SLA due <t:" in done.response.content
    [takedown] = await takedowns(bot)
    assert takedown.status == TakedownStatus.submitted
    assert takedown.listing_key == "taobao:612345678901"
    assert takedown.working_group is not None and takedown.working_group.slug == "watches-jewellery"
    assert takedown.evidence[0]["filename"] == "proof.png" and len(takedown.evidence[0]["sha256"]) == 64
    assert "good faith" in takedown.good_faith_statement
    card = review_card(world)
    assert "TD-000001" in card.content and "Vantor Watches" in card.content
    assert "@everyone" not in card.content.replace("@\u200beveryone", "") and not card.mention_everyone
    labels = [child.label for row in card.components for child in row.children]
    assert labels == ["Removed", "Rejected", "Needs info"]


async def test_cancel_files_nothing(world: World, bot: AllianceBot) -> None:
    shown = await world.alice.slash(
        world.watches, "takedown file", url=LISTING, right=await right_id(bot, "TM-778812"), reason="counterfeit"
    )
    cancelled = await world.alice.click(shown.response, label="Cancel")
    assert "nothing was filed" in cancelled.response.content
    assert await takedowns(bot) == []


async def test_only_linked_members_may_file_and_only_on_their_own_rights(world: World, bot: AllianceBot) -> None:
    outsider = await world.outsider.slash(
        world.general, "takedown file", url=LISTING, right=await right_id(bot, "TM-778812"), reason="counterfeit"
    )
    assert "not linked to a member organisation" in outsider.response.content
    foreign = await world.alice.slash(
        world.watches, "takedown file", url=LISTING, right=await right_id(bot, "EU-0099"), reason="counterfeit"
    )
    assert "has no registered right" in foreign.response.content
    wrong_kind = await world.alice.slash(
        world.watches, "takedown file", url=LISTING, right=await right_id(bot, "TM-778812"), reason="patent"
    )
    assert "must rest on a patent right" in wrong_kind.response.content
    bad_url = await world.alice.slash(
        world.watches,
        "takedown file",
        url="javascript:alert(1)",
        right=await right_id(bot, "TM-778812"),
        reason="counterfeit",
    )
    assert bad_url.ephemeral and bad_url.response.content
    assert await takedowns(bot) == []


async def test_right_autocomplete_offers_only_my_organisations_rights(world: World) -> None:
    choices = await world.alice.autocomplete(world.watches, "takedown file", "right", "")
    assert [choice["name"] for choice in choices] == ["trademark TM-778812 (CN)"]


async def test_duplicates_across_variants_and_organisations(world: World, env: simcord.Env, bot: AllianceBot) -> None:
    first = await file(world, world.alice)
    assert "TD-000001" in first.response.content
    again = await world.lead.slash(
        world.watches,
        "takedown file",
        url=LISTING_VARIANT,
        right=await right_id(bot, "TM-778812"),
        reason="counterfeit",
    )
    assert "already has **TD-000001**" in again.response.content

    nora = world.guild.add_member(env.create_user("nora"))
    await world.owner.slash(world.general, "alliance member link", user=nora, org="Northwind Apparel")
    shown = await nora.slash(
        world.general, "takedown file", url=LISTING_VARIANT, right=await right_id(bot, "EU-0099"), reason="counterfeit"
    )
    other = await nora.click(shown.response, label="File takedown")
    assert "Filed **TD-000002**" in other.response.content
    assert "also reported by 1 other member(s)" in other.response.content.lower()
    assert "Vantor" not in other.response.content
    first_request, second_request = await takedowns(bot)
    assert first_request.working_group is not None and first_request.working_group.slug == "watches-jewellery"
    assert second_request.working_group is not None and second_request.working_group.slug == "apparel-footwear"


async def test_rate_limit_says_when_to_try_again(tmp_path: object) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/rate.db",
        discord_token=None,
        takedown_rate_per_minute=2,
        _env_file=None,
    )  # type: ignore[call-arg]
    bot = create_bot(settings)
    async with simcord.run(bot, check_errors=False) as env:
        w = await wire(arrange(env))
        await w.owner.slash(
            w.general, "alliance org right", org="Vantor Watches", kind="trademark", number="TM-1", jurisdiction="CN"
        )
        for item in range(2):
            done = await file(w, w.alice, url=f"https://www.ebay.com/itm/10000{item}", number="TM-1")
            assert "Filed" in done.response.content
        refused = await w.alice.slash(
            w.watches,
            "takedown file",
            url="https://www.ebay.com/itm/999",
            right=await right_id(bot, "TM-1"),
            reason="counterfeit",
        )
        assert "try again at <t:" in refused.response.content
        await env.advance_time(61)
        later = await file(w, w.alice, url="https://www.ebay.com/itm/999", number="TM-1")
        assert "Filed" in later.response.content


# ---------------------------------------------------------------------- review


async def test_review_buttons_work_after_a_restart_and_the_filer_is_told(
    world: World, env: simcord.Env, settings: Settings
) -> None:
    await file(world, world.alice)
    await env.restart_bot(create_bot(settings))
    card = review_card(world)
    decided = await world.reviewer.click(card, label="Removed")
    assert decided.ephemeral and "TD-000001 is now **removed**" in decided.response.content
    dm = world.alice.user.dm_channel.last_message
    assert dm is not None and "is **removed**" in dm.content
    edited = review_card(world)
    assert "· removed" in edited.content and edited.components == []
    assert (await takedowns(env.bot))[0].decided_by == world.reviewer.id  # type: ignore[arg-type]


async def test_members_cannot_press_review_buttons(world: World, bot: AllianceBot) -> None:
    await file(world, world.alice)
    refused = await world.alice.click(review_card(world), label="Removed")
    assert "reviewer role" in refused.response.content
    assert (await takedowns(bot))[0].status == TakedownStatus.submitted


async def test_needs_info_pauses_the_clock_and_provide_info_resumes_it(
    world: World, env: simcord.Env, bot: AllianceBot
) -> None:
    await file(world, world.alice)
    due_before = (await takedowns(bot))[0].due_at
    modal = await world.reviewer.click(review_card(world), label="Needs info")
    assert modal.modal is not None
    await world.reviewer.submit_modal(modal, {"note": "Send the trademark certificate"})
    [takedown] = await takedowns(bot)
    assert takedown.status == TakedownStatus.needs_info
    assert "Send the trademark certificate" in world.alice.user.dm_channel.last_message.content

    illegal = await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="removed")
    assert "is needs_info" in illegal.response.content

    await env.advance_time(3 * 24 * 3600)
    answered = await world.alice.slash(
        world.watches,
        "takedown respond",
        id="TD-000001",
        action="provide_info",
        note="Certificate attached",
        evidence=("cert.pdf", b"%PDF-1.4"),
    )
    assert "now **submitted**" in answered.response.content
    [takedown] = await takedowns(bot)
    assert takedown.due_at > due_before  # the paused days do not count
    assert "new information" in world.review.last_message.content


async def test_withdraw_before_decision_and_illegal_transitions(world: World, bot: AllianceBot) -> None:
    await file(world, world.alice)
    withdrawn = await world.alice.slash(world.watches, "takedown respond", id="TD-000001", action="withdraw")
    assert "now **withdrawn**" in withdrawn.response.content
    late = await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="removed")
    assert "TD-000001 is withdrawn" in late.response.content
    again = await world.alice.slash(world.watches, "takedown respond", id="TD-000001", action="withdraw")
    assert "is withdrawn" in again.response.content


async def test_counter_notice_deadline_passes_while_the_bot_is_down(
    world: World, env: simcord.Env, settings: Settings
) -> None:
    await file(world, world.alice)
    await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="removed")
    recorded = await world.reviewer.slash(
        world.general, "takedown counter", id="TD-000001", note="Seller claims genuine"
    )
    assert "must answer by <t:" in recorded.response.content
    assert "counter-notice" in world.alice.user.dm_channel.last_message.content
    assert "counter-notice: awaiting\\_filer" in review_card(world).content  # Discord shows awaiting_filer

    deadline = (await takedowns(env.bot))[0].counter_deadline  # type: ignore[arg-type]
    assert deadline is not None
    env.bot.delivery.stop()  # type: ignore[attr-defined]  # the bot is down: nothing timed runs
    await env.advance_time((deadline - env.now()).total_seconds() + 60)
    assert (await takedowns(env.bot))[0].status == TakedownStatus.removed  # type: ignore[arg-type]
    await env.restart_bot(create_bot(settings))
    await env.advance_time(5)
    [takedown] = await takedowns(env.bot)  # type: ignore[arg-type]
    assert takedown.status == TakedownStatus.reinstated
    assert "reinstated" in world.alice.user.dm_channel.last_message.content
    async with env.bot.sessions() as session:  # type: ignore[attr-defined]
        reinstatements = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "takedown.reinstated_by_deadline")
        )
    assert reinstatements == 1


async def test_counter_notice_upheld_by_filer_then_final_review(world: World, bot: AllianceBot) -> None:
    await file(world, world.alice)
    await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="removed")
    early = await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="upheld")
    assert "no counter-notice" in early.response.content
    await world.reviewer.slash(world.general, "takedown counter", id="TD-000001")
    no_evidence = await world.alice.slash(world.watches, "takedown respond", id="TD-000001", action="uphold")
    assert "needs evidence" in no_evidence.response.content
    upheld = await world.alice.slash(
        world.watches, "takedown respond", id="TD-000001", action="uphold", evidence=("test-buy.jpg", b"jpeg")
    )
    assert "awaiting_review" in upheld.response.content
    final = await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="upheld")
    assert "counter-notice: upheld" in final.response.content
    [takedown] = await takedowns(bot)
    assert takedown.status == TakedownStatus.removed


# ------------------------------------------------------------------------- SLA


async def test_sla_alerts_fire_once_each(world: World, env: simcord.Env, bot: AllianceBot) -> None:
    await file(world, world.alice)
    [takedown] = await takedowns(bot)
    await env.advance_time((takedown.at_risk_at - env.now()).total_seconds() + 30)
    assert "SLA at risk" in world.review.last_message.content
    await env.advance_time((takedown.due_at - env.now()).total_seconds() + 30)
    assert "SLA breached" in world.review.last_message.content
    await env.advance_time(3 * 24 * 3600)
    alerts = [m.content for m in world.review.history() if m.content.startswith("**SLA")]
    assert len(alerts) == 2
    sla = await world.reviewer.slash(world.general, "takedown sla")
    assert "**Overdue:** 1" in sla.response.content and "TD-000001" in sla.response.content


async def test_sla_figures_count_decisions_within_business_time(world: World, bot: AllianceBot) -> None:
    for item in range(3):
        await file(world, world.alice, url=f"https://www.amazon.de/dp/B0TEST000{item}")
    for item in range(3):
        await world.reviewer.slash(world.general, "takedown review", id=f"TD-00000{item + 1}", decision="rejected")
    sla = await world.alice.slash(world.general, "takedown sla")
    assert "100.0 % on time (3 of 3)" in sla.response.content


# -------------------------------------------------------------------- checking


async def test_status_check_list_and_visibility(world: World, env: simcord.Env, bot: AllianceBot) -> None:
    await file(world, world.alice, seller="lucky-star")
    status = await world.alice.slash(world.watches, "takedown status", id="TD-000001")
    assert "**TD-000001** · **submitted**" in status.response.content and "filed by" in status.response.content
    nora = world.guild.add_member(env.create_user("nora"))
    await world.owner.slash(world.general, "alliance member link", user=nora, org="Northwind Apparel")
    hidden = await nora.slash(world.general, "takedown status", id="TD-000001")
    assert "No takedown TD-000001 that you can see" in hidden.response.content
    reviewer = await world.reviewer.slash(world.general, "takedown status", id="1")
    assert "TD-000001" in reviewer.response.content

    checked = await nora.slash(world.general, "takedown check", url=LISTING_VARIANT)
    assert "taobao:612345678901" in checked.response.content
    assert "Also reported by 1 other member(s)" in checked.response.content
    assert "Vantor" not in checked.response.content
    unknown = await nora.slash(world.general, "takedown check", url="https://www.ebay.co.uk/itm/123456")
    assert "No takedown has been filed" in unknown.response.content

    listed = await world.alice.slash(world.watches, "takedown list")
    assert "TD-000001" in listed.response.content and "Page 1 of 1" in listed.response.content
    assert "No takedowns match" in (await nora.slash(world.general, "takedown list")).response.content


async def copies_on_listing(bot: AllianceBot, of: int, organisations: dict[str, int]) -> None:
    """Settled copies of request `of` on its listing, by organisation name: a popular listing."""
    from db.models import Organisation

    async with bot.sessions() as session, session.begin():
        original = await session.get_one(Takedown, of)
        columns = {c.key: getattr(original, c.key) for c in Takedown.__table__.columns if c.key != "id"}
        for name, count in organisations.items():
            organisation = await session.scalar(select(Organisation.id).where(Organisation.name == name))
            for _ in range(count):
                session.add(Takedown(**columns | {"organisation_id": organisation, "status": TakedownStatus.rejected}))


async def test_a_popular_listing_lists_its_newest_requests_and_counts_the_rest(
    world: World, env: simcord.Env, bot: AllianceBot
) -> None:
    await file(world, world.alice, seller="lucky-star")
    await copies_on_listing(bot, 1, {"Vantor Watches": 14, "Northwind Apparel": 3})  # TD-000002 … TD-000018

    mine = await world.alice.slash(world.watches, "takedown check", url=LISTING_VARIANT)
    assert not mine.followups, "one message, however many requests the listing has"
    shown = [line for line in mine.response.content.splitlines() if line.startswith("- **TD-")]
    assert [line[4:13] for line in shown] == [f"TD-{n:06d}" for n in range(15, 5, -1)]  # Vantor's newest ten
    assert "…and 5 earlier request(s) on this listing that you can see." in mine.response.content
    assert "Also reported by 1 other member(s)." in mine.response.content

    everyone = await world.reviewer.slash(world.general, "takedown check", url=LISTING)
    shown = [line for line in everyone.response.content.splitlines() if line.startswith("- **TD-")]
    assert [line[4:13] for line in shown] == [f"TD-{n:06d}" for n in range(18, 8, -1)]
    assert "…and 8 earlier request(s)" in everyone.response.content and "Also reported" not in everyone.response.content

    status = await world.alice.slash(world.watches, "takedown status", id="TD-000001")
    linked = ", ".join(f"TD-{n:06d} (rejected)" for n in range(6, 16))
    expected = f"**Linked requests:** {linked} and 4 earlier; also reported by 1 other member(s)"
    assert expected in status.response.content


async def test_list_pages_with_buttons(world: World, bot: AllianceBot) -> None:
    for item in range(12):
        await file(world, world.alice, url=f"https://www.ebay.com/itm/2000{item:02d}")
    first = await world.alice.slash(world.watches, "takedown list")
    assert "TD-000012" in first.response.content and "Page 1 of 2" in first.response.content
    second = await world.alice.click(first.response, label="Older ▶")
    assert "Page 2 of 2" in second.response.content and "TD-000001" in second.response.content


async def test_export_neutralises_formula_cells(world: World, bot: AllianceBot) -> None:
    await file(world, world.alice, note='=HYPERLINK("http://evil")')
    result = await world.alice.slash(world.watches, "takedown export")
    [attachment] = (result.followups[0] if result.followups else result.response).attachments
    rows = list(csv.reader(io.StringIO((await attachment.read()).decode("utf-8-sig"))))
    assert rows[0][0] == "id" and rows[1][0] == "TD-000001"
    assert rows[1][-1] == '\'=HYPERLINK("http://evil")'


# ------------------------------------------------------------------------ bulk


def bulk_file(*rows: str) -> tuple[str, bytes]:
    return ("takedowns.csv", ("\ufeffurl,right,reason,seller,note\n" + "\n".join(rows) + "\n").encode("utf-8"))


async def test_bulk_files_good_rows_and_reports_every_row(world: World, bot: AllianceBot) -> None:
    await file(world, world.alice, url="https://www.ebay.com/itm/300001")
    upload = bulk_file(
        "https://www.amazon.com/dp/B000000001,TM-778812,counterfeit,shop-a,",
        "https://www.amazon.com/gp/product/B000000001?ref=x,TM-778812,counterfeit,,same listing",
        "https://www.ebay.com/itm/300001,TM-778812,counterfeit,,",
        "not a url,TM-778812,counterfeit,,",
        "https://www.ebay.com/itm/300002,NOPE,counterfeit,,",
        "https://www.ebay.com/itm/300003,TM-778812,bogus,,",
        "https://detail.1688.com/offer/55501.html,tm-778812,Trademark,,=cmd",
    )
    shown = await world.alice.slash(world.watches, "takedown bulk", csv=upload)
    assert "**2** can be filed · **2** duplicate(s) · **3** refused (of 7 rows)" in shown.response.content
    assert len(await takedowns(bot)) == 1  # the dry run filed nothing
    done = await world.alice.click(shown.response, label="File all")
    assert "**2** filed" in done.response.content
    rows = list(csv.reader(io.StringIO((await done.response.attachments[0].read()).decode("utf-8-sig"))))
    outcomes = {row[0]: (row[2], row[3], row[4]) for row in rows[1:]}
    assert outcomes["2"][0] == "filed" and outcomes["2"][1].startswith("TD-")
    assert outcomes["3"] == ("duplicate", "", "same listing as line 2")
    assert outcomes["4"][0] == "duplicate"
    assert outcomes["5"][0] == "refused" and outcomes["6"][0] == "refused" and "bogus" in outcomes["7"][2]
    assert len(await takedowns(bot)) == 3


FAIL_BULK_SUMMARY = {
    "sqlite": [
        "CREATE TRIGGER fail_bulk BEFORE INSERT ON audit_log WHEN NEW.action = 'takedown.bulk_filed' "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_bulk() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN IF NEW.action = 'takedown.bulk_filed' THEN RAISE EXCEPTION 'injected failure'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER fail_bulk BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fail_bulk()",
    ],
}


@pytest.mark.allow_bot_errors
async def test_bulk_is_all_or_nothing_when_its_last_write_fails(world: World, bot: AllianceBot) -> None:
    """The batched inserts share the filing's transaction: a failure at its very end (the bulk's
    own audit entry, refused by a trigger) leaves no request, entry or bulk behind."""
    from sqlalchemy import text

    upload = bulk_file(*(f"https://www.ebay.com/itm/4000{n:02d},TM-778812,counterfeit,shop-{n}," for n in range(30)))
    shown = await world.alice.slash(world.watches, "takedown bulk", csv=upload)
    assert "**30** can be filed" in shown.response.content
    async with bot.engine.begin() as connection:
        for statement in FAIL_BULK_SUMMARY[connection.dialect.name]:
            await connection.execute(text(statement))
    done = await world.alice.click(shown.response, label="File all")
    assert any("nothing was changed" in message.content for message in done.followups)
    assert await takedowns(bot) == []
    async with bot.sessions() as session:
        filed = await session.scalar(select(func.count()).where(AuditEntry.action == "takedown.filed"))
    assert filed == 0


async def test_bulk_with_no_valid_row_files_nothing(world: World, bot: AllianceBot) -> None:
    shown = await world.alice.slash(world.watches, "takedown bulk", csv=bulk_file("nope,TM-778812,counterfeit,,"))
    assert "nothing will be filed" in shown.response.content
    assert shown.response.components == []
    assert await takedowns(bot) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"link,right\nx,y\n", "header lacks url"),
        (b"url,right,reason\n\xff\xfe,bad,bytes\n", "not UTF-8"),
    ],
)
async def test_bulk_refuses_broken_files(world: World, bot: AllianceBot, data: bytes, message: str) -> None:
    shown = await world.alice.slash(world.watches, "takedown bulk", csv=("x.csv", data))
    assert message in shown.followups[0].content if shown.followups else message in shown.response.content
    assert await takedowns(bot) == []


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SIX_MB = ("url,right,reason\n" + "https://www.ebay.com/itm/1,TM-778812,counterfeit\n" * 130_000).encode()


@pytest.mark.parametrize(
    ("filename", "data", "claimed_size", "message"),
    [
        ("takedowns.csv", PNG, None, "not UTF-8"),  # an image renamed to .csv
        ("takedowns.csv", "url,right,reason\nx,y,z\n".encode("utf-16"), None, "not UTF-8"),  # wrong encoding
        ("takedowns.csv", b"url,right,reason\n\x00\x00,TM,counterfeit\n", None, "NUL bytes"),
        ("takedowns.csv", SIX_MB, 2_048, "is 6.1 MB; at most 5 MB"),  # says 2 KB, delivers 6 MB
        ("takedowns.csv", b"url,right,reason\n", 50 * 1_048_576, "is 50.0 MB; at most 5 MB"),  # says 50 MB
    ],
    ids=["image-named-csv", "utf-16", "nul-bytes", "understated-size", "overstated-size"],
)
async def test_bulk_refuses_attachments_that_lie_about_type_or_size(
    world: World, bot: AllianceBot, env: simcord.Env, filename: str, data: bytes, claimed_size: int | None, message: str
) -> None:
    """The file is judged by its bytes, never by its name or declared type; the declared size
    only decides whether to download it at all, and the downloaded bytes are measured again."""
    if claimed_size is not None:
        store = env.backend.cdn.store_attachment

        def lying_store(*args: Any, **kwargs: Any) -> dict[str, Any]:
            return {**store(*args, **kwargs), "size": claimed_size}

        env.backend.cdn.store_attachment = lying_store  # type: ignore[method-assign]
    shown = await world.alice.slash(world.watches, "takedown bulk", csv=(filename, data))
    answer = shown.followups[0] if shown.followups else shown.response
    assert shown.ephemeral and message in answer.content, answer.content
    assert answer.components == []
    assert await takedowns(bot) == []
    record("faults survived", "attachments lying about type or size")


async def test_outbox_delivers_each_notice_once(world: World, env: simcord.Env, bot: AllianceBot) -> None:
    env.inject_error("POST", "/channels/*/messages", status=503, times=8)
    await file(world, world.alice)
    await env.advance_time(3600)
    cards = [m for m in world.review.history() if m.content.startswith("**TD-000001")]
    assert len(cards) == 1
    async with bot.sessions() as session:
        pending = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "delivered")
        )
    assert pending == 0


async def test_decisions_fall_back_to_the_group_channel_when_dms_are_closed(world: World, env: simcord.Env) -> None:
    await file(world, world.alice)
    env.inject_error(
        "POST",
        f"/channels/{world.alice.user.dm_channel.id}/messages",
        status=403,
        code=50007,
        message="Cannot send messages to this user",
        times=None,
    )
    await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="rejected")
    notice = world.watches.last_message
    assert notice is not None and "was **rejected**" in notice.content
    assert [user.id for user in notice.mentions] == [world.alice.id]


async def test_repeat_infringers_are_flagged(world: World, bot: AllianceBot) -> None:
    for item in range(3):
        await file(world, world.alice, url=f"https://www.ebay.com/itm/40000{item}", seller="Lucky Star Shop")
        await world.reviewer.slash(world.general, "takedown review", id=f"TD-00000{item + 1}", decision="removed")
    checked = await world.alice.slash(world.watches, "takedown check", url="https://www.ebay.com/itm/400000")
    assert "is flagged: repeat infringer" in checked.response.content
    status = await world.alice.slash(world.watches, "takedown status", id="TD-000003")
    assert "flagged: repeat infringer" in status.response.content


async def test_good_faith_standing_in_whoami_and_for_admins(world: World) -> None:
    for item in range(2):
        await file(world, world.alice, url=f"https://www.ebay.com/itm/50000{item}")
    await world.reviewer.slash(world.general, "takedown review", id="TD-000001", decision="removed")
    await world.reviewer.slash(world.general, "takedown review", id="TD-000002", decision="rejected")
    me = await world.alice.slash(world.watches, "alliance whoami")
    assert "50 % removed" in me.response.content and "below the programme's thresholds" in me.response.content
    table = await world.admin.slash(world.general, "alliance org standing")
    assert "**Vantor Watches**: 2 decided, 50 % removed" in table.response.content
    refused = await world.alice.slash(world.watches, "alliance org standing")
    assert "admin role" in refused.response.content


async def test_a_command_beyond_the_concurrency_limit_is_refused_at_once_and_does_nothing(
    world: World, bot: AllianceBot
) -> None:
    """The gate (bot/admission.py) is filled as if `limit` commands were still running: the
    next command is answered "busy" ephemerally, writes nothing, and once there is room the same
    command works. Every command, answered or refused, leaves the gate as it found it."""
    for _ in range(bot.gate.limit):
        assert bot.gate.try_enter()
    refused = await file(world, world.alice)
    assert refused.ephemeral and refused.response is not None
    assert "The bot is busy right now" in refused.response.content
    assert "nothing was done" in refused.response.content
    assert await takedowns(bot) == []
    for _ in range(bot.gate.limit):
        bot.gate.leave()

    await file(world, world.alice)
    assert len(await takedowns(bot)) == 1
    refusal = await world.alice.slash(world.watches, "takedown status", id="TD-999999")
    assert refusal.response is not None and "No takedown" in refusal.response.content
    assert (bot.gate.running, bot.gate.refused) == (0, 1)
