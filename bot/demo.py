"""Fictional demo data for the offline sandbox: brands, their IP rights, the people in it, the
takedowns they have already filed and the intel they have already shared.

Every name, registration number, listing and indicator here is invented (numbers start with
`DEMO-`, listing ids with 99 or `B0DEMO`, phones with +86 138 0000 00 or +86 400 000, WeChat ids
with `demo_`, addresses on Demo Road, domains under example.com), so a screenshot of the sandbox
can never be mistaken for real alliance data. Groups are named by slug only; the groups
themselves come from the bot's database, so renaming a default group never means editing this
file, and `bot.sandbox` refuses data that names a group that is gone.

SimCord's preview shows one channel, so everything a visitor should see happens in one:
#alliance-hq is the alliance's announcements channel, its takedown review channel and the home
of the start group, whose members are the demo users who file takedowns and share the intel
whose cards, cross-group notice and chat answer the page shows. The other groups keep channels
of their own, named after their slugs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from db.models import RightKind, TakedownReason, Tlp

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
        can="alliance admin: /alliance setup, group bind/create/archive, org add/right, member link/unlink, "
        "/intel warninglist",
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
        can="member of Stridewell Footwear and lead of Apparel & Footwear: files takedowns and shares intel here; "
        "/intel autoreply",
    ),
    DemoUser(
        "mia_northwind",
        "Mia (Northwind Apparel)",
        organisation="Northwind Apparel",
        groups=("apparel-footwear",),
        can="member of Northwind Apparel in Apparel & Footwear: files takedowns and shares intel here",
    ),
    DemoUser(
        "kenji_vantor",
        "Kenji (Vantor Watches)",
        organisation="Vantor Watches",
        groups=("watches-jewellery",),
        can="member of Vantor Watches in Watches & Jewellery (a group with its own channel); "
        "Apparel's AMBER intel is closed to him",
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
    DemoUser(
        "nina_new",
        "Nina (newcomer)",
        can="just joined: no organisation, no group; admin commands are refused, only TLP:CLEAR intel is open to her",
    ),
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


# ------------------------------------------------------------------ intel already shared


@dataclass(frozen=True)
class AddToWarninglist:
    """`/intel warninglist add` by the demo admin: a known-benign value that never links reports."""

    value: str  # `type: value`
    note: str


@dataclass(frozen=True)
class ShareIntel:
    """`/intel share` in the group's channel, then the form: title, what was observed, indicators."""

    label: str  # how later steps (and the instructions) refer to this report
    author: str  # demo username; shares for their organisation
    group: str  # slug of the working group it is shared with, in that group's channel
    tlp: Tlp
    title: str
    observed: str
    indicators: tuple[str, ...]  # the form's indicator lines, one per line
    story: str  # what it shows, for the instructions


@dataclass(frozen=True)
class SeenItToo:
    """A member presses "Seen it too" on a report's card."""

    label: str
    by: str


@dataclass(frozen=True)
class PostInChat:
    """A member writes in a group's channel; a known listing link in it is answered by the group."""

    author: str
    group: str
    content: str


IntelStep = AddToWarninglist | ShareIntel | SeenItToo | PostInChat | Wait

SHARED_PHONE = "+86 138 0000 0001"
SHARED_WECHAT = "demo_wechat_1"
PLATFORM_HOTLINE = "+86 400 000 0000"
WORKSHOP = "Demo Road 18, Baiyun District, Guangzhou"
# For a visitor to paste (reported twice and in intel): a group answers a listing once an hour per
# channel, and the preview's simulated clock stands still, so the link seeded in chat stays quiet.
ASKED_LISTING = "https://www.amazon.de/dp/B0DEMO0001"

# Two Apparel brands' AMBER reports share a phone and a WeChat id (one network, two brands, with
# the takedowns on its listings); the marketplace hotline is on the warninglist, so the GREEN
# report that also prints it stays apart; a Watches report with the same workshop address tells
# Apparel's leads that another group holds matching intel. Reports go to their group's channel,
# so only the Apparel cards (and the cross-group notice) are on the preview's page.
INTEL_SCRIPT: tuple[IntelStep, ...] = (
    AddToWarninglist(
        f"phone: {PLATFORM_HOTLINE}", "The demo marketplace's customer hotline: printed on every invoice, never a lead"
    ),
    ShareIntel(
        "workshop",
        "mia_northwind",
        "apparel-footwear",
        Tlp.AMBER,
        "Lucky Star Trading's fake Northwind jackets come from a Demo Road workshop",
        "A test buy from Lucky Star Trading (the listing we had removed) arrived from a workshop on Demo Road. "
        "For bulk orders the seller moves buyers to WeChat and to a mobile number.",
        (
            REPEAT_INFRINGER_LISTING,
            f"seller: {LUCKY_STAR}",
            f"phone: {SHARED_PHONE}",
            f"wechat: {SHARED_WECHAT}",
            f"address: {WORKSHOP}",
            "ships in unbranded boxes; hang tags sewn in afterwards",
        ),
        "its listing carries {lucky-2}; one line was kept as text; Leo pressed Seen it too",
    ),
    Wait(timedelta(hours=1)),
    ShareIntel(
        "reseller",
        "leo_lead",
        "apparel-footwear",
        Tlp.AMBER,
        "Stepfast Outlet resells fake Stridewell runners with Lucky Star's contacts",
        "Stepfast Outlet's Amazon listing (reported by Northwind and by us) gives the same WeChat id and mobile "
        "number as Lucky Star Trading. Its invoices print the marketplace's customer hotline.",
        (
            ASKED_LISTING,
            "seller: Stepfast Outlet",
            "phone: 0086 138 0000 0001",
            "wechat: Demo_WeChat_1",
            f"phone: {PLATFORM_HOTLINE}",
            "email: orders@stepfast-outlet.example.com",
        ),
        "same phone and WeChat as {workshop} (spelt differently): one network of 2 reports from 2 brands",
    ),
    SeenItToo("workshop", "leo_lead"),
    ShareIntel(
        "invoices",
        "sofia_lumio",
        "consumer-electronics",
        Tlp.GREEN,
        "Fake Lumio chargers ship with forged invoices",
        "Parcels of counterfeit Lumio chargers hold forged invoices that print the marketplace's customer hotline "
        "and a QQ number for after-sales. Check your own test buys for the same layout.",
        (f"phone: {PLATFORM_HOTLINE}", "qq: 10000001", "waybill: YT0000000001"),
        "prints the warninglisted hotline, so it does not link to {reseller}",
    ),
    ShareIntel(
        "phishing",
        "priya_oriel",
        "luxury-leather-goods",
        Tlp.CLEAR,
        "Phishing mails pretend to come from the alliance",
        "Mails signed 'Brand Protection Alliance' ask members to log in on a look-alike site to confirm their "
        "takedowns. The alliance never asks for passwords by mail.",
        ("https://alliance-login.example.com/verify", "email: notices@alliance-login.example.com"),
        "for anyone, even Nina",
    ),
    ShareIntel(
        "dials",
        "kenji_vantor",
        "watches-jewellery",
        Tlp.AMBER,
        "Counterfeit Vantor dials are finished at a Demo Road workshop",
        "A courier collecting counterfeit Vantor watches gave the Demo Road workshop as the sender; "
        "the parcels went out with SF Express.",
        ("address: demo road 18 · Baiyun District · Guangzhou", "waybill: SF 0000 0000 01", "wechat: demo_wechat_2"),
        "the same workshop as {workshop}, which Kenji cannot see: Apparel's leads were told in #alliance-hq",
    ),
    PostInChat("mia_northwind", START_GROUP, f"Is Lucky Star back? {REPEAT_INFRINGER_LISTING}&spm=a21bo.demo"),
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
    ("/intel share", "as Mia or Leo: pick a TLP level, then fill the form; try the line wechat: demo_wechat_1"),
    ("/intel show", "id: {workshop} as Mia or Leo; as Kenji, Riley, Alex or Nina it is refused (AMBER)"),
    ("/intel network", "id: {workshop} as Mia: 2 reports from 2 brands, her takedowns on their listings (Leo: his)"),
    ("/intel search", "query: Demo Road, or a value such as wechat: demo_wechat_1 (as Mia, then as Kenji)"),
    ("Seen it too / Show network", "the buttons on an intel card, e.g. as Mia on {reseller}'s"),
    ("/intel sighting", "the same as Seen it too, with a note; once per member and report"),
    ("/intel watch", f"value: wechat: {SHARED_WECHAT}: a DM when a new report you may see has it; /intel unwatch"),
    ("/intel export", "format: stix or csv: the CLEAR, GREEN and AMBER reports you may see"),
    ("/intel edit", "as Mia: id: {workshop}; /intel retract takes a report of yours out of every view"),
    ("/intel autoreply", "as Leo (lead): enabled: False stops the group's answers to listing links; as Mia: refused"),
    ("/intel warninglist list", "as Alex: the hotline that never links reports; add and remove values"),
    ("a listing link", f"post {ASKED_LISTING} here: the group says what it knows, with a File takedown button"),
)
DM_NOTE = (
    "Filers are told of decisions and counter-notices by DM, and watchers of new intel; this one-channel page "
    "does not show DMs. /takedown status shows every step of a request, with the reviewer's notes."
)
# The preview's channel must be open to every demo user, so everyone sees the Apparel group's AMBER
# cards on the page; the commands keep to TLP all the same.
TLP_NOTE = (
    "TLP 2.0 decides who may see intel: CLEAR anyone; GREEN every member of a brand, Riley and Alex; AMBER the "
    "report's working group only (not Riley or Alex unless they join it); RED only the people named. "
    f"On a real server #{HQ_CHANNEL} would be private to the group; here every demo user may open it, so its "
    "AMBER cards are on the page for all, but /intel show, search, network and export keep to TLP."
)
