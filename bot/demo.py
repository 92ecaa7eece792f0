"""Fictional demo data for the offline sandbox: brands, their IP rights, the people in it, and
the takedowns they have already filed.

Every name, registration number and listing here is invented (numbers start with `DEMO-`,
listing ids with 99 or `B0DEMO`), so a screenshot of the sandbox can never be mistaken for real
alliance data. Groups are named by slug only; the groups themselves come from the bot's
database, so renaming a default group never means editing this file, and `bot.sandbox` refuses
data that names a group that is gone.

SimCord's preview shows one channel, so everything a visitor should see happens in one:
#alliance-hq is the alliance's announcements channel, its takedown review channel and the home
of the start group, whose members are the demo users who file takedowns. The other groups keep
channels of their own, named after their slugs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from db.models import RightKind, TakedownReason

GUILD_NAME = "Alliance Sandbox"
BOT_NAME = "Alliance Bot"
ADMIN_ROLE = "Alliance Admin"
REVIEWER_ROLE = "IP Review Team"

# The preview opens on START_GROUP's channel: the group with the lead and the demo members who
# file takedowns, so its history shows their welcomes, review cards and SLA alerts.
START_GROUP = "apparel-footwear"
HQ_CHANNEL = "alliance-hq"
ANNOUNCEMENTS_CHANNEL = HQ_CHANNEL
REVIEW_CHANNEL = HQ_CHANNEL
GROUP_CHANNELS: dict[str, str] = {START_GROUP: HQ_CHANNEL}  # any other group: a channel named after its slug
# Where the demo admin and reviewer ran the slash commands that built the sandbox, so their
# private replies do not crowd the preview (review card buttons are pressed in the HQ channel).
SETUP_CHANNEL = "back-office"
CHANNEL_TOPICS: dict[str, str] = {
    HQ_CHANNEL: "Alliance HQ: announcements, takedown review and the Apparel & Footwear working group",
    SETUP_CHANNEL: "Where the admin and the reviewer ran the commands that set this sandbox up",
}


def channel_name(slug: str) -> str:
    """The channel a working group is bound to in the sandbox."""
    return GROUP_CHANNELS.get(slug, slug)


@dataclass(frozen=True)
class DemoRight:
    """An IP right; expiry is relative to the simulated "now", so the data never goes stale."""

    kind: RightKind
    number: str
    jurisdiction: str
    years_left: int | None = None

    def expires(self, today: date) -> str | None:
        """The `expires` option of `/alliance org right`: 31 December, `years_left` years on."""
        if self.years_left is None:
            return None
        return date(today.year + self.years_left, 12, 31).isoformat()


@dataclass(frozen=True)
class DemoOrg:
    name: str
    group: str  # slug of its home working group
    rights: tuple[DemoRight, ...]


@dataclass(frozen=True)
class DemoUser:
    """A person in the sandbox and the roles a moderator would give them."""

    username: str
    display_name: str
    can: str  # what this person is for, in one line, for the sandbox's instructions
    admin: bool = False
    reviewer: bool = False
    organisation: str | None = None
    groups: tuple[str, ...] = ()  # slugs of groups whose member role they hold
    leads: tuple[str, ...] = ()  # slugs of groups whose lead role they hold


TM, DESIGN, PATENT, COPYRIGHT = RightKind.trademark, RightKind.design, RightKind.patent, RightKind.copyright

ORGANISATIONS: tuple[DemoOrg, ...] = (
    DemoOrg(
        "Northwind Apparel",
        "apparel-footwear",
        (DemoRight(TM, "DEMO-TM-1001", "CN", 6), DemoRight(DESIGN, "DEMO-DS-1002", "EU", 3)),
    ),
    DemoOrg("Stridewell Footwear", "apparel-footwear", (DemoRight(TM, "DEMO-TM-1101", "US", 8),)),
    DemoOrg("Maison Oriel", "luxury-leather-goods", (DemoRight(TM, "DEMO-TM-1201", "EU", 9),)),
    DemoOrg(
        "Vantor Watches",
        "watches-jewellery",
        (DemoRight(TM, "DEMO-TM-1301", "CN", 5), DemoRight(DESIGN, "DEMO-DS-1302", "EU", 2)),
    ),
    DemoOrg(
        "Lumio Electronics",
        "consumer-electronics",
        (DemoRight(TM, "DEMO-TM-1401", "CN", 7), DemoRight(PATENT, "DEMO-PT-1402", "CN", 12)),
    ),
    DemoOrg("Kettleby Home", "home-appliances", (DemoRight(TM, "DEMO-TM-1501", "CN", 4),)),
    DemoOrg(
        "Axlegate Motor Parts",
        "automotive-parts",
        (DemoRight(TM, "DEMO-TM-1601", "US", 6), DemoRight(DESIGN, "DEMO-DS-1602", "CN", 3)),
    ),
    DemoOrg("Velora Cosmetics", "beauty-personal-care", (DemoRight(TM, "DEMO-TM-1701", "CN", 8),)),
    DemoOrg("Pawfield Foods", "food-beverage-pet", (DemoRight(TM, "DEMO-TM-1801", "EU", 5),)),
    DemoOrg(
        "Brickbloom Toys",
        "toys-games",
        (DemoRight(COPYRIGHT, "DEMO-CR-1901", "US"), DemoRight(TM, "DEMO-TM-1902", "CN", 7)),
    ),
    DemoOrg("Summitline Outdoor", "sports-outdoor", (DemoRight(TM, "DEMO-TM-2001", "US", 6),)),
)

USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "alex_admin",
        "Alex (alliance admin)",
        admin=True,
        can="alliance admin: /alliance setup, group bind/create/archive, org add/right, member link/unlink",
    ),
    DemoUser(
        "riley_review",
        "Riley (IP review team)",
        reviewer=True,
        can="the platform's IP reviewer: presses Removed / Rejected / Needs info on review cards, "
        "/takedown review and counter; sees every organisation's takedowns",
    ),
    DemoUser(
        "leo_lead",
        "Leo (Stridewell, group lead)",
        organisation="Stridewell Footwear",
        groups=("apparel-footwear",),
        leads=("apparel-footwear",),
        can="member of Stridewell Footwear and lead of Apparel & Footwear: files takedowns here",
    ),
    DemoUser(
        "mia_northwind",
        "Mia (Northwind Apparel)",
        organisation="Northwind Apparel",
        groups=("apparel-footwear",),
        can="member of Northwind Apparel in Apparel & Footwear: files takedowns here",
    ),
    DemoUser(
        "kenji_vantor",
        "Kenji (Vantor Watches)",
        organisation="Vantor Watches",
        groups=("watches-jewellery",),
        can="member of Vantor Watches in Watches & Jewellery (a group with its own channel)",
    ),
    DemoUser(
        "priya_oriel",
        "Priya (Maison Oriel)",
        organisation="Maison Oriel",
        groups=("luxury-leather-goods", "watches-jewellery"),
        can="member of Maison Oriel, in two groups (Luxury & Leather Goods, Watches & Jewellery)",
    ),
    DemoUser(
        "sofia_lumio",
        "Sofia (Lumio Electronics)",
        organisation="Lumio Electronics",
        groups=("consumer-electronics",),
        can="member of Lumio Electronics in Consumer Electronics",
    ),
    DemoUser("nina_new", "Nina (newcomer)", can="just joined: no organisation, no group; admin commands are refused"),
)


# ------------------------------------------------------------------ takedowns already filed


@dataclass(frozen=True)
class FileTakedown:
    """`/takedown file` in the preview channel, then "File takedown" on the confirmation."""

    label: str  # how later steps (and the instructions) refer to this request
    filer: str  # demo username; files for their organisation
    url: str
    right: str  # number of one of the filer's organisation's rights
    story: str  # what has become of it by the time the preview opens, for the instructions
    reason: TakedownReason = TakedownReason.counterfeit
    seller: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Review:
    """The reviewer decides: by the review card's button, or with `/takedown review`."""

    label: str
    decision: str  # removed | rejected | needs_info
    note: str | None = None
    by_button: bool = False


@dataclass(frozen=True)
class CounterNotice:
    """The reviewer records the seller's counter-notice with `/takedown counter`."""

    label: str
    note: str


@dataclass(frozen=True)
class Wait:
    """Let business time pass on the simulated clock (the bot's SLA sweep runs meanwhile)."""

    business_time: timedelta


DemoStep = FileTakedown | Review | CounterNotice | Wait

LUCKY_STAR = "Lucky Star Trading"
REPEAT_INFRINGER_LISTING = "https://item.taobao.com/item.htm?id=990000000102"

# SimCord's clock starts on 1 January, a public holiday in China, so the first requests wait for
# the next working day; twelve business hours later the reviewer decides them, and six more
# (and a minute) put the one left open at risk, so its SLA alert is in the channel.
TAKEDOWN_SCRIPT: tuple[DemoStep, ...] = (
    FileTakedown(
        "lucky-1",
        "mia_northwind",
        "https://item.taobao.com/item.htm?id=990000000101&spm=a21bo.demo",
        "DEMO-TM-1001",
        "removed: Riley pressed Removed on its card",
        seller=LUCKY_STAR,
        note="Northwind logo on the hang tag; sold at a third of the price",
    ),
    FileTakedown(
        "lucky-2",
        "mia_northwind",
        REPEAT_INFRINGER_LISTING,
        "DEMO-TM-1001",
        "removed with /takedown review; its seller is now a repeat infringer",
        seller=LUCKY_STAR,
    ),
    FileTakedown(
        "lucky-3",
        "mia_northwind",
        "https://item.taobao.com/item.htm?id=990000000103",
        "DEMO-TM-1001",
        "removed, then the seller's counter-notice: Mia must answer with /takedown respond",
        reason=TakedownReason.trademark,
        seller=LUCKY_STAR,
    ),
    FileTakedown(
        "shared",
        "mia_northwind",
        "https://www.amazon.de/dp/B0DEMO0001",
        "DEMO-DS-1002",
        "open and at risk (the SLA alert is in the channel); Stridewell reported the same listing",
        reason=TakedownReason.design,
        note="Copies the registered Northwind jacket design",
    ),
    FileTakedown(
        "rejected",
        "leo_lead",
        "https://www.aliexpress.com/item/1005009900000001.html",
        "DEMO-TM-1101",
        "rejected: genuine stock, resold",
    ),
    Wait(timedelta(hours=12)),
    Review("lucky-1", "removed", by_button=True),
    Review("lucky-2", "removed"),
    Review("lucky-3", "removed"),
    Review("rejected", "rejected", note="Genuine Stridewell stock from an authorised retailer; not a counterfeit."),
    CounterNotice("lucky-3", "The seller says the goods are genuine stock bought from a distributor."),
    FileTakedown(
        "shared-too",
        "leo_lead",
        "https://www.amazon.de/-/en/Running-Shoes/dp/B0DEMO0001/ref=sr_1_3?keywords=running",
        "DEMO-TM-1101",
        "open; the same listing as Northwind's request, so it is also reported by 1 other member",
        seller="Stepfast Outlet",
    ),
    FileTakedown(
        "needs-info",
        "leo_lead",
        "https://www.ebay.com/itm/990000000001",
        "DEMO-TM-1101",
        "needs info: Riley asked for a test-buy photo; Leo answers with /takedown respond",
    ),
    Review("needs-info", "needs_info", note="Please attach a photo of a test buy.", by_button=True),
    Wait(timedelta(hours=6, minutes=1)),
)

COMMANDS_TO_TRY: tuple[tuple[str, str], ...] = (
    ("/alliance whoami", "your organisation, groups, roles and what you may see (try it as each user)"),
    ("/alliance group list", "every working group and the channel and roles it is bound to"),
    ("/alliance org add", "as Alex: add a brand, e.g. name: Ferngrove Tea, group: Food, Beverage & Pet"),
    ("/alliance org right", "as Alex: register a right, e.g. org: Ferngrove Tea, kind: trademark"),
    ("/alliance member link", "as Alex: link Nina to an organisation, then run /alliance whoami as Nina"),
    ("/alliance setup", "as Alex: re-wire announcements, review channel and roles; as Nina: refused"),
    ("/alliance group archive", "as Alex: archive a group; its history is kept and its channel is freed"),
    ("/alliance group create", "as Alex: a new group in a freed channel goes live at once"),
    (
        "/takedown file",
        "as Mia or Leo, e.g. url: https://item.taobao.com/item.htm?id=990000000999; its card shows here",
    ),
    ("Removed / Rejected / Needs info", "as Riley (or Alex): press a button on an open review card"),
    ("/takedown bulk", "as Mia or Leo: attach a CSV with the columns url,right,reason,seller,note"),
    ("/takedown status", "id: {shared}: its history with every note, SLA and linked requests"),
    ("/takedown check", f"url: {REPEAT_INFRINGER_LISTING}: who reported it, and seller flags"),
    ("/takedown list", "your organisation's requests (Riley: everyone's), filtered by status or group"),
    ("/takedown export", "the same as a CSV file"),
    ("/takedown review", "as Riley: id: {shared-too}, decision: removed (or rejected, needs_info)"),
    ("/takedown respond", "as Leo: id: {needs-info}, action: provide_info; as Mia: id: {lucky-3}, uphold or withdraw"),
    ("/takedown counter", "as Riley: record a seller's counter-notice on a removed request, e.g. {lucky-1}"),
    ("/takedown sla", "the share decided within 24 business hours; what is open, at risk, overdue"),
)
DM_NOTE = (
    "Filers are told of decisions and counter-notices by DM, which this one-channel page does not show; "
    "/takedown status shows every step of a request, with the reviewer's notes."
)
