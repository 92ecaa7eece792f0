"""A reproducible synthetic alliance (seeded random), bulk-inserted with SQLAlchemy Core.

Run as `python -m bench.generate URL --reports N --indicators M --takedowns T --out meta.json`;
prints and writes per-table insert timings. Primary keys are assigned here, so nothing needs
RETURNING and the measuring process can find rows by id.

Distributions: listings and indicator values are drawn Zipf-like from shared pools, so some
listings carry many takedowns from many organisations and reports cluster into networks; a
handful of values (a platform hotline, a logistics hub's address, a marketplace domain) appear in
thousands of reports and are "common" (over the correlator's cap). Listing keys come from
`bot.services.listings.canonicalise` of real-looking URLs in every marketplace's format.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import random
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, insert, select, text

from bot.services.listings import canonicalise
from db.engine import create_engine
from db.migrate import refresh_statistics, upgrade
from db.models import (
    AuditEntry,
    Base,
    EnforcementCase,
    IntelIndicator,
    IntelRecipient,
    IntelReport,
    IntelSighting,
    IpRight,
    Member,
    Organisation,
    Takedown,
    WarninglistEntry,
    WorkingGroup,
)

NOW = datetime.now(UTC).replace(microsecond=0)  # data is relative to the run: the last week is "busy"
PLACEHOLDER_USER = 900_000_000_000_000  # member user ids; the bench re-keys some to SimCord users
BATCH = 20_000
GOOD_FAITH = "I state in good faith that the use is not authorised (synthetic)."


@dataclass
class Scale:
    organisations: int = 130
    members: int = 2_000
    takedowns: int = 200_000
    reports: int = 100_000
    indicators: int = 1_000_000
    cases: int = 5_000
    seed: int = 7

    @classmethod
    def for_indicators(cls, indicators: int, seed: int = 7) -> Scale:
        """Everything data-like scales with the indicators (10 per report, 2 takedowns per report)."""
        reports = max(indicators // 10, 100)
        return cls(
            takedowns=reports * 2, reports=reports, indicators=indicators, cases=max(reports // 20, 50), seed=seed
        )


WORDS = (  # noqa: SIM905 (one readable line of words per theme)
    "counterfeit replica fake copy logo watch strap dial handbag sneaker charger cable cream serum perfume "
    "toy figure bearing filter tyre lipstick supplement warehouse shipment seller shop listing mirror grade "
    "factory batch wholesale dropship packaging hologram serial invoice courier parcel customs seized "
    "仿冒 假货 工厂 仓库 发货 高仿 原单 批发 微信 联系"
).split()
CITIES = ["广州", "深圳", "义乌", "莆田", "东莞", "汕头", "Guangzhou", "Shenzhen", "Yiwu", "Putian"]


def zipf_picker(rng: random.Random, n: int, s: float = 1.1):
    """A function drawing indices 0..n-1 with P(i) ∝ 1/(i+1)^s."""
    weights = list(itertools.accumulate(1.0 / (i + 1) ** s for i in range(n)))
    total = weights[-1]
    return lambda: bisect.bisect_left(weights, rng.random() * total)


def listing_url(rng: random.Random, i: int) -> str:
    n = 600_000_000_000 + i * 7919
    form = i % 9
    if form == 0:
        return f"https://item.taobao.com/item.htm?id={n}&spm=a21bo.{rng.randint(1, 999)}"
    if form == 1:
        return f"https://detail.tmall.com/item.htm?id={n}"
    if form == 2:
        return f"https://www.aliexpress.com/item/{1005000000000000 + i}.html?spm=a2g0o"
    if form == 3:
        return f"https://www.amazon.com/dp/B0{i:08d}?smid=A{i % 5000:09d}"
    if form == 4:
        return f"https://www.ebay.com/itm/{300000000000 + i}"
    if form == 5:
        return f"https://shopee.sg/product/{10000 + i % 4000}/{2000000000 + i}"
    if form == 6:
        return f"https://www.lazada.com.my/products/item-i{3000000000 + i}-s{i}.html"
    if form == 7:
        return f"https://detail.1688.com/offer/{700000000000 + i}.html"
    return f"https://fake-outlet-{i % 3000}.shop/products/item-{i}"


class Pools:
    """Shared listing keys and indicator values."""

    def __init__(self, rng: random.Random, listings: int, values_per_type: int) -> None:
        self.listings = [canonicalise(listing_url(rng, i)) for i in range(listings)]
        self.listing_pick = zipf_picker(rng, listings, 0.9)
        self.values: dict[str, list[tuple[str, str]]] = {
            "phone": [(f"+86138{i:08d}", f"+86 138 {i // 10000:04d} {i % 10000:04d}") for i in range(values_per_type)],
            "wechat": [(f"lucky_{i}_star", f"Lucky_{i}_Star") for i in range(values_per_type)],
            "email": [
                (f"sales{i}@fake-outlet-{i % 3000}.shop", f"Sales{i}@fake-outlet-{i % 3000}.shop")
                for i in range(values_per_type)
            ],
            "domain": [(f"fake-outlet-{i}.shop", f"fake-outlet-{i}.shop") for i in range(values_per_type)],
            "waybill": [(f"SF{100000000000 + i}", f"SF {100000000000 + i}") for i in range(values_per_type)],
            "qq": [(str(100000 + i), str(100000 + i)) for i in range(values_per_type)],
            "seller": [(f"taobao:shop{1000 + i}", f"shop{1000 + i}.taobao.com") for i in range(values_per_type)],
            "address": [
                (
                    f"{CITIES[i % len(CITIES)].lower()} warehouse {i} road {i % 97}",
                    f"{CITIES[i % len(CITIES)]} Warehouse {i}, Road {i % 97}",
                )
                for i in range(values_per_type)
            ],
        }
        self.pickers = {kind: zipf_picker(rng, len(pool), 1.05) for kind, pool in self.values.items()}
        # A listing is one shop's page: every brand that files on it names the same seller (the
        # URL's, or one drawn once), and popular sellers own many listings.
        self.sellers = [
            listing.seller or self.values["seller"][self.pickers["seller"]()][0] for listing in self.listings
        ]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def alerted(filed: datetime, *, open_: bool) -> dict[str, datetime | None]:
    """The SLA alerts a running bot would already have sent for a request filed at `filed`."""
    at_risk, due = filed + timedelta(days=2), filed + timedelta(days=3)
    return {
        "at_risk_alerted_at": at_risk if open_ and at_risk < NOW else None,
        "breach_alerted_at": due if open_ and due < NOW else None,
    }


def moment(rng: random.Random, days: float = 730, busy_share: float = 0.04) -> datetime:
    """Spread over two years, busier recently; `busy_share` of rows fall in the last week."""
    if rng.random() < busy_share:
        return NOW - timedelta(seconds=rng.uniform(60, 7 * 86400))
    return NOW - timedelta(days=days * rng.random() ** 1.6, seconds=rng.uniform(0, 86400))


async def generate(url: str, scale: Scale) -> dict[str, Any]:
    rng = random.Random(scale.seed)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    engine = create_engine(url)
    t = time.perf_counter()
    await upgrade(engine)
    timings["migrations"] = time.perf_counter() - t
    dialect = engine.dialect.name

    async def bulk(table: Any, rows: list[dict[str, Any]], label: str) -> None:
        t0 = time.perf_counter()
        if dialect == "postgresql" and rows:
            await copy(table, rows)
        else:
            async with engine.begin() as connection:
                if dialect == "sqlite":  # a scratch database: a crash means generating again
                    await connection.execute(text("PRAGMA synchronous=OFF"))
                for start in range(0, len(rows), BATCH):
                    await connection.execute(insert(table), rows[start : start + BATCH])
        timings[label] = timings.get(label, 0.0) + time.perf_counter() - t0

    async def copy(table: Any, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL's COPY: a few times faster than executemany (triggers still fire per row).
        COPY applies no Python-side column defaults, so every row must name every such column."""
        columns = list(rows[0])
        missing = [c.name for c in table.columns if c.default is not None and c.name not in columns]
        if missing:
            raise ValueError(f"{table.name}: rows lack {missing}, which have Python-side defaults")
        as_json = {c.name for c in table.columns if isinstance(c.type, JSON)}
        records = [tuple(json.dumps(row[c]) if c in as_json else row[c] for c in columns) for row in rows]
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            for start in range(0, len(records), BATCH * 5):
                await raw.copy_records_to_table(table.name, records=records[start : start + BATCH * 5], columns=columns)

    async with engine.connect() as connection:
        groups = [row[0] for row in await connection.execute(select(WorkingGroup.id).order_by(WorkingGroup.id))]

    # ------------------------------------------------------------- organisations, rights, members
    orgs = []
    for i in range(1, scale.organisations + 1):
        name = f"{rng.choice(['Vantor', 'Northwind', 'Aurel', 'Kestrel', 'Lumen', 'Orchid', 'Solace'])} Brand {i}"
        orgs.append(
            {
                "id": i,
                "name": name,
                "name_key": name.casefold(),
                "working_group_id": groups[i % len(groups)],
                "created_at": moment(rng, 900, 0.02),
            }
        )
    rights, right_of_org = [], {}
    for org in orgs:
        for j in range(rng.randint(2, 4)):
            rid = len(rights) + 1
            kind = "trademark" if j == 0 else rng.choice(["trademark", "design", "copyright", "patent"])
            rights.append(
                {
                    "id": rid,
                    "organisation_id": org["id"],
                    "kind": kind,
                    "number": f"TM-{org['id']:03d}-{j}",
                    "jurisdiction": rng.choice(["CN", "EU", "US"]),
                    "expires_on": date(2030, 1, 1),
                    "created_at": org["created_at"],
                }
            )
            right_of_org.setdefault(org["id"], rid if kind == "trademark" else None)
    org_pick = zipf_picker(rng, scale.organisations, 0.8)  # a few big brands file most
    members = [
        {
            "user_id": PLACEHOLDER_USER + i,
            "organisation_id": 1 + (i % scale.organisations),
            "linked_at": moment(rng),
            "linked_by": 1,
        }
        for i in range(scale.members)
    ]
    await bulk(Organisation.__table__, orgs, "organisation")
    await bulk(IpRight.__table__, rights, "ip_right")
    await bulk(Member.__table__, members, "member")
    members_of: dict[int, list[int]] = {}
    for m in members:
        members_of.setdefault(m["organisation_id"], []).append(m["user_id"])

    # ------------------------------------------------------------------------------ takedowns
    pools = Pools(rng, max(scale.takedowns // 2, 1_000), max(scale.indicators // 30, 500))
    statuses = (
        ["submitted"] * 10
        + ["needs_info"] * 3
        + ["removed"] * 55
        + ["rejected"] * 20
        + ["withdrawn"] * 7
        + ["reinstated"] * 5
    )
    active = {"submitted", "needs_info", "removed"}
    taken: set[tuple[int, str]] = set()
    takedowns, audit = [], []
    for tid in range(1, scale.takedowns + 1):
        org_id = 1 + org_pick()
        status = rng.choice(statuses)
        while True:
            index = pools.listing_pick()
            listing = pools.listings[index]
            if status not in active or (org_id, listing.key) not in taken:
                break
            index = rng.randrange(len(pools.listings))
            listing = pools.listings[index]
            if (org_id, listing.key) not in taken:
                break
        if status in active:
            taken.add((org_id, listing.key))
        filed = moment(rng)
        decided = filed + timedelta(hours=rng.uniform(1, 60)) if status not in ("submitted", "needs_info") else None
        seller = pools.sellers[index]
        takedowns.append(
            {
                "id": tid,
                "organisation_id": org_id,
                "right_id": right_of_org[org_id],
                "working_group_id": orgs[org_id - 1]["working_group_id"],
                "guild_id": None,
                "filer_id": rng.choice(members_of[org_id]),
                "bulk_id": None,
                "marketplace": listing.marketplace,
                "listing_key": listing.key,
                "listing_url": listing.url,
                "submitted_url": listing.url,
                "reason": "counterfeit",
                "seller_key": seller,
                "seller_text": None,
                "note": "",
                "evidence": [],
                "good_faith_statement": GOOD_FAITH,
                "status": status,
                "filed_at": filed,
                "due_at": filed + timedelta(days=3),
                "at_risk_at": filed + timedelta(days=2),
                "decided_at": decided,
                "decided_by": 1 if decided else None,
                "closed_at": decided if status in ("rejected", "withdrawn") else None,
                # A running bot alerted these when they came due; without this, start-up would find
                # ~26,000 un-alerted breaches and post alerts all through the measurements.
                **alerted(filed, open_=status in ("submitted", "needs_info")),
                "counter_state": "upheld" if status == "removed" and rng.random() < 0.03 else None,
                "counter_filed_at": None,
                "counter_deadline": None,
                "counter_note": None,
                "review_channel_id": None,
                "review_message_id": None,
            }
        )
        audit.append(
            {
                "at": filed,
                "actor_id": takedowns[-1]["filer_id"],
                "action": "takedown.filed",
                "subject": f"takedown:{tid}",
                "details": {"listing": listing.key},
            }
        )
        if decided:
            audit.append(
                {
                    "at": decided,
                    "actor_id": 1,
                    "action": "takedown.reviewed",
                    "subject": f"takedown:{tid}",
                    "details": {"decision": status},
                }
            )
    await bulk(Takedown.__table__, takedowns, "takedown")
    listing_keys_used = sorted({row["listing_key"] for row in takedowns[:50_000]})
    del takedowns

    # ---------------------------------------------------------------------------------- intel
    tlps = ["CLEAR"] * 10 + ["GREEN"] * 35 + ["AMBER"] * 40 + ["AMBER+STRICT"] * 10 + ["RED"] * 5
    kinds = ["listing"] * 3 + ["phone"] * 2 + ["wechat"] * 2 + ["email", "domain", "waybill", "qq", "seller", "address"]
    common = [
        ("phone", "+8695188000", "95188 (platform hotline)"),
        ("address", "yiwu international trade city", "Yiwu International Trade City"),
        ("domain", "fake-outlet-0.shop", "fake-outlet-0.shop"),
    ]
    per_report = max(scale.indicators // scale.reports, 1)
    # Networks: each report belongs to a cluster; clusters share a private pool of values.
    network_pick = zipf_picker(rng, max(scale.reports // 5, 10), 0.7)
    reports, indicators, recipients, sightings = [], [], [], []
    iid = 0
    for rid in range(1, scale.reports + 1):
        org_id = 1 + org_pick()
        created = moment(rng, busy_share=0.03)
        tlp = rng.choice(tlps)
        reports.append(
            {
                "id": rid,
                "author_id": rng.choice(members_of[org_id]),
                "organisation_id": org_id,
                "working_group_id": orgs[org_id - 1]["working_group_id"],
                "guild_id": None,
                "tlp": tlp,
                "title": f"{sentence(rng, 4)} in {rng.choice(CITIES)}"[:200],
                "body": sentence(rng, rng.randint(25, 60)),
                "unrecognised": [],
                "created_at": created,
                "updated_at": created,
                "retracted_at": None,
                "card_channel_id": None,
                "card_message_id": None,
                "thread_id": None,
            }
        )
        cluster = network_pick()
        chosen: dict[tuple[str, str], str] = {}
        target = per_report + (rng.randint(-3, 3) if per_report > 4 else 0)
        if rng.random() < 0.05:
            kind, value, display = rng.choice(common)
            chosen[(kind, value)] = display
        while len(chosen) < target:
            kind = rng.choice(kinds)
            if kind == "listing":
                listing = (
                    pools.listings[(cluster * 31 + rng.randrange(6)) % len(pools.listings)]
                    if rng.random() < 0.6
                    else pools.listings[pools.listing_pick()]
                )
                chosen[("listing", listing.key)] = listing.url
                continue
            pool = pools.values[kind]
            index = (cluster * 13 + rng.randrange(4)) % len(pool) if rng.random() < 0.6 else pools.pickers[kind]()
            value, display = pool[index]
            chosen[(kind, value)] = display
        for (kind, value), display in chosen.items():
            iid += 1
            indicators.append({"id": iid, "report_id": rid, "type": kind, "value": value, "display": display})
        if tlp == "RED":
            for user in {rng.choice(members)["user_id"] for _ in range(2)}:
                recipients.append({"report_id": rid, "user_id": user})
        audit.append(
            {
                "at": created,
                "actor_id": reports[-1]["author_id"],
                "action": "intel.shared",
                "subject": f"intel:{rid}",
                "details": {"tlp": tlp},
            }
        )
        if rng.random() < 0.3:
            sightings.append(
                {
                    "id": len(sightings) + 1,
                    "report_id": rid,
                    "user_id": PLACEHOLDER_USER + rng.randrange(scale.members),
                    "organisation_id": None,
                    "note": "",
                    "at": created + timedelta(hours=rng.uniform(1, 48)),
                }
            )
    await bulk(IntelReport.__table__, reports, "intel_report")
    del reports
    await bulk(IntelIndicator.__table__, indicators, "intel_indicator")
    del indicators
    await bulk(IntelRecipient.__table__, recipients, "intel_recipient")
    await bulk(IntelSighting.__table__, sightings, "intel_sighting")
    await bulk(AuditEntry.__table__, audit, "audit_log")
    del audit
    warn = [
        {
            "id": i + 1,
            "type": "phone",
            "value": f"+86400{i:07d}",
            "display": f"+86 400 {i:07d}",
            "note": "hub",
            "added_by": 1,
            "added_at": NOW,
        }
        for i in range(20)
    ]
    await bulk(WarninglistEntry.__table__, warn, "warninglist")
    cases = [
        {
            "id": i,
            "working_group_id": rng.choice(groups),
            "logged_by": 1,
            "action_date": (created := moment(rng, busy_share=0.03)).date(),
            "arrests": rng.randint(0, 12),
            "locations": rng.randint(1, 5),
            "seizure_value": Decimal(rng.randint(1_000, 5_000_000)) / 100,
            "currency": rng.choice(["CNY", "USD", "EUR"]),
            "summary": sentence(rng, 20),
            "intel_report_id": None,
            "created_at": created,
        }
        for i in range(1, scale.cases + 1)
    ]
    await bulk(EnforcementCase.__table__, cases, "enforcement_case")
    if dialect == "postgresql":  # ids were given explicitly: move each sequence past them for the bot's inserts
        async with engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                column = table.columns.get("id")
                if column is None or not column.autoincrement or not column.primary_key:
                    continue
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                    )
                )
    t = time.perf_counter()
    if dialect == "postgresql":  # what autovacuum would have done by the time a deployment is this big
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    else:  # exactly what the bot gathers at start-up and daily, so the bench measures its plans
        await refresh_statistics(engine)
    timings["analyze"] = time.perf_counter() - t
    await engine.dispose()
    timings["total"] = time.perf_counter() - started
    return {
        "dialect": dialect,
        "scale": asdict(scale),
        "timings": timings,
        "indicators": iid,
        "common_values": [[kind, value] for kind, value, _ in common],
        "listing_urls": [pools.listings[i].url for i in range(min(len(pools.listings), 2_000))],
        "listing_keys_with_takedowns": listing_keys_used[:2_000],
        "search_terms": [
            "warehouse",
            "hologram",
            "仿冒",
            "Putian",
            "mirror grade",
            "+8613800000001",
            "wechat: lucky_3_star",
            "waybill: SF100000000005",
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--full", action="store_true", help="the issue's default alliance")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    scale = Scale() if args.full else Scale.for_indicators(args.indicators)
    meta = asyncio.run(generate(args.url, scale))
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(meta, handle)
    print(json.dumps({"scale": meta["scale"], "timings": {k: round(v, 2) for k, v in meta["timings"].items()}}))


if __name__ == "__main__":
    main()
