"""Fictional demo data for the offline sandbox: brands, their IP rights, and the people in it.

Every name and registration number here is invented (numbers start with `DEMO-`), so a
screenshot of the sandbox can never be mistaken for real alliance data. Groups are named by
slug only; the groups themselves come from the bot's database, so renaming a default group
never means editing this file, and `bot.sandbox` refuses data that names a group that is gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db.models import RightKind

GUILD_NAME = "Alliance Sandbox"
BOT_NAME = "Alliance Bot"
ADMIN_ROLE = "Alliance Admin"
REVIEWER_ROLE = "IP Review Team"
ANNOUNCEMENTS_CHANNEL = "announcements"
REVIEW_CHANNEL = "takedown-review"


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
        can="the platform's IP reviewer: sees every organisation's takedowns; no admin commands",
    ),
    DemoUser(
        "leo_lead",
        "Leo (Stridewell, group lead)",
        organisation="Stridewell Footwear",
        groups=("apparel-footwear",),
        leads=("apparel-footwear",),
        can="member of Stridewell Footwear and lead of Apparel & Footwear",
    ),
    DemoUser(
        "mia_northwind",
        "Mia (Northwind Apparel)",
        organisation="Northwind Apparel",
        groups=("apparel-footwear",),
        can="member of Northwind Apparel in Apparel & Footwear",
    ),
    DemoUser(
        "kenji_vantor",
        "Kenji (Vantor Watches)",
        organisation="Vantor Watches",
        groups=("watches-jewellery",),
        can="member of Vantor Watches in Watches & Jewellery",
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

# The preview opens here: the group with the lead and most demo members, so its history shows
# the bot's announcement and its welcomes, and every demo user can read it.
START_GROUP = "apparel-footwear"

COMMANDS_TO_TRY: tuple[tuple[str, str], ...] = (
    ("/alliance whoami", "your organisation, groups, roles and what you may see (try it as each user)"),
    ("/alliance group list", "every working group and the channel and roles it is bound to"),
    ("/alliance org add", "as Alex: add a brand, e.g. name: Ferngrove Tea, group: Food, Beverage & Pet"),
    ("/alliance org right", "as Alex: register a right, e.g. org: Ferngrove Tea, kind: trademark"),
    ("/alliance member link", "as Alex: link Nina to an organisation, then run /alliance whoami as Nina"),
    ("/alliance setup", "as Alex: re-wire announcements, review channel and roles; as Nina: refused"),
    ("/alliance group archive", "as Alex: archive a group; its history is kept and its channel is freed"),
    ("/alliance group create", "as Alex: a new group in a freed channel goes live at once"),
)
