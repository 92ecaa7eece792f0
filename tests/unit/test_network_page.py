"""`/intel network`'s page: always one Discord message, whatever the network holds, with every
name and value shown literally."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.rendering import MESSAGE_LIMIT
from bot.services.networks import Hub, Network, NetworkRow, TakedownRef
from cogs.intel import network_page
from db.models import TakedownStatus, Tlp

MENTION = "@everyone <@&123456789012345678> **b** `c` "
WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def network(*, names: list[str], groups: list[str], hubs: list[Hub], truncated: bool = True) -> Network:
    return Network(
        ids=list(range(1, 101)),
        truncated=truncated,
        limit=100,
        brands=len(names) + 3,
        brand_names=names,
        groups=groups,
        first_seen=WHEN,
        last_seen=WHEN,
        values_by_type={kind: 1234 for kind in ("listing", "seller", "phone", "wechat", "qq", "address", "company")},
        hubs=hubs,
        recent=list(range(100, 90, -1)),
        takedowns={status: 10_000 for status in TakedownStatus},
        other_takedowns=28_000,
        takedown_ids=[],
        rows=[NetworkRow(1, Tlp.CLEAR, "g", WHEN, "t", ())],
        unexported=99,
    )


def test_an_ordinary_page_lists_everything() -> None:
    page = network_page(
        network(names=["Vantor Watches"], groups=["Watches & Jewellery"], hubs=[Hub("phone", "+8613800138000", 41)]),
        "IN-000123",
    )
    assert page.startswith("**Network** of 100 report(s) around `IN-000123`: cut at the 100 nearest, it is larger\n")
    assert "**Brands:** 4 (Vantor Watches in your groups) · **Working groups:** 1 (Watches & Jewellery)" in page
    assert "**Shared most:** phone `+8613800138000` in 41 reports" in page
    assert "**Newest:** IN-000100, IN-000099" in page
    assert "10,000 submitted · 10,000 needs\\_info" in page and "; 28,000 by other members" in page
    assert page.endswith("99 AMBER+STRICT or RED report(s) are counted here but never exported.")


def test_the_most_a_network_can_name_still_fits_one_message() -> None:
    """Thirty 120-character brand names, twelve 100-character group names and five 600-character
    values, all markup (each character escaped doubles): the page drops names, then the hubs."""
    names = [(MENTION * 4)[:119] + str(n) for n in range(30)]
    groups = [(MENTION * 3)[:99] + str(n) for n in range(12)]
    hubs = [Hub("address", "*" * 600, 50 - n) for n in range(5)]
    page = network_page(network(names=names, groups=groups, hubs=hubs), "x" * 300)
    assert len(page) <= MESSAGE_LIMIT
    assert page.startswith("**Network** of 100 report(s) around `" + "x" * 60 + "`")
    assert "**Brands:** 33 · **Working groups:** 12" in page and "**Newest:** IN-000100" in page
    assert "@everyone" not in page and "<@&" not in page.replace("<@\u200b&", "")


@given(
    names=st.lists(st.text(min_size=1, max_size=120), max_size=40),
    groups=st.lists(st.text(min_size=1, max_size=100), max_size=12),
    values=st.lists(st.text(min_size=1, max_size=600), max_size=5),
    origin=st.text(min_size=1, max_size=300),
)
def test_every_page_fits_one_message(names: list[str], groups: list[str], values: list[str], origin: str) -> None:
    hubs = [Hub("company", value, 2) for value in values]
    assert len(network_page(network(names=names, groups=groups, hubs=hubs), origin)) <= MESSAGE_LIMIT


def test_a_small_network_names_its_takedowns() -> None:
    small = replace(
        network(names=[], groups=["Watches & Jewellery"], hubs=[], truncated=False),
        takedown_ids=[TakedownRef(7, TakedownStatus.removed)],
    )
    page = network_page(small, "IN-000001")
    assert "**Takedowns on its listings:** TD-000007 removed; 28,000 by other members" in page
    assert "cut at" not in page
