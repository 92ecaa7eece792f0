"""Indicators: every spelling of one trace has one value; reports yield them without surprises."""

from __future__ import annotations

import contextlib
import hashlib
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.services import indicators
from bot.services.indicators import (
    INDICATOR_TYPES,
    MAX_INDICATORS,
    Extraction,
    Indicator,
    extract,
    normalise,
    parse_lookup,
)
from tests.figures import record

# ------------------------------------------------------- variants → one value

# (type, value) → spellings of it, each given to normalise(type, spelling). A spelling may be a
# (text, default_region) pair.
VARIANTS: dict[tuple[str, str], list[str | tuple[str, str]]] = {
    ("phone", "+8613800138000"): [
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "+8613800138000",
        "008613800138000",
        "0086 138 0013 8000",
        "(+86)13800138000",
        "(+86) 138 0013 8000",
        "+86 (138) 0013-8000",
        "＋８６ １３８ ００１３ ８０００",
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "tel:+86-138-0013-8000",
        "+86\u200b138\u200b0013\u200b8000",
        ("+86 138 0013 8000", "US"),
        ("13800138000", "cn"),
    ],
    ("phone", "+16502530000"): [
        "+1 650-253-0000",
        "+1 (650) 253-0000",
        "+1.650.253.0000",
        ("(650) 253-0000", "US"),
        ("650 253 0000", "US"),
        ("1 650 253 0000", "US"),
        ("011 1 650 253 0000", "US"),
    ],
    ("phone", "+442079460958"): [
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        ("020 7946 0958", "GB"),
        "0044 20 7946 0958",
    ],
    ("phone", "+85291234567"): ["+852 9123 4567", "(+852) 9123-4567", ("9123 4567", "HK")],
    ("email", "sales@fake-rolex.com"): [
        "sales@fake-rolex.com",
        "Sales@Fake-Rolex.COM",
        "  SALES@FAKE-ROLEX.COM  ",
        "mailto:sales@fake-rolex.com",
        "<sales@fake-rolex.com>",
        "ｓａｌｅｓ＠ｆａｋｅ－ｒｏｌｅｘ．ｃｏｍ",
        "sales@fake-rolex.com.",
    ],
    ("email", "info@xn--bcher-kva.de"): ["info@bücher.de", "INFO@BÜCHER.DE", "info@xn--bcher-kva.de"],
    ("wechat", "lucky_shop88"): [
        "lucky_shop88",
        "Lucky_Shop88",
        "LUCKY_SHOP88",
        " lucky_shop88 ",
        "ｌｕｃｋｙ＿ｓｈｏｐ８８",
    ],
    ("wechat", "wxid-abc-123"): ["wxid-abc-123", "WXID-ABC-123", "wxid-abc-123\u200b"],
    ("qq", "12345678"): ["12345678", " 12345678 ", "１２３４５６７８", "1234 5678"],
    ("alipay", "+8613800138000"): ["13800138000", "+86 138 0013 8000", "008613800138000"],
    ("alipay", "pay@163.com"): ["pay@163.com", "PAY@163.COM", "mailto:Pay@163.com"],
    ("bank", "DE89370400440532013000"): [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "de89 3704 0044 0532 0130 00",
        "DE89-3704-0044-0532-0130-00",
    ],
    ("bank", "GB82WEST12345698765432"): ["GB82 WEST 1234 5698 7654 32", "gb82west12345698765432"],
    ("bank", "6222021234567890123"): [
        "6222 0212 3456 7890 123",
        "6222-0212-3456-7890-123",
        "6222021234567890123",
        "ICBC 6222 0212 3456 7890 123",
        "中国工商银行 6222 0212 3456 7890 123",
        "６２２２０２１２３４５６７８９０１２３",
    ],
    ("waybill", "SF123456789012"): [
        "SF 1234 5678 9012",
        "SF123456789012",
        "sf123456789012",
        "SF-1234-5678-9012",
        "ＳＦ１２３４５６７８９０１２",
    ],
    ("waybill", "1Z999AA10123456784"): ["1Z 999 AA1 0123 4567 84", "1z999aa10123456784"],
    ("waybill", "773123456789012"): ["773123456789012", "7731 2345 6789 012"],
    ("address", "广东省深圳市龙华区民治街道民康路123号a栋501"): [
        "广东省深圳市龙华区民治街道民康路123号A栋501",
        "广东省深圳市龙华区，民治街道民康路１２３号Ａ栋５０１",
        "广东省 深圳市 龙华区 民治街道 民康路 123号 A栋 501",
        "广东省深圳市龙华区民治街道民康路123号-A栋-501。",
        "  广东省深圳市\n龙华区民治街道民康路123号A栋501  ",
    ],
    ("address", "room 501 building a no 123 minkang road shenzhen"): [
        "Room 501, Building A, No. 123 Minkang Road, Shenzhen",
        "ROOM 501 BUILDING A NO 123 MINKANG ROAD SHENZHEN",
        "Room 501 , Building A ,No.123 Minkang Road. Shenzhen.",
        "room 501—building a—no 123 minkang road, shenzhen",
    ],
    ("company", "shenzhen acme trading co ltd"): [
        "Shenzhen Acme Trading Co., Ltd.",
        "SHENZHEN ACME TRADING CO LTD",
        "Shenzhen Acme Trading Co.,Ltd",
        "shenzhen  acme trading co. ltd.",
        "Ｓｈｅｎｚｈｅｎ Ａｃｍｅ Ｔｒａｄｉｎｇ Ｃｏ．，Ｌｔｄ．",
    ],
    ("company", "深圳市艾克美贸易有限公司"): [
        "深圳市艾克美贸易有限公司",
        "深圳市 艾克美 贸易有限公司",
        "（深圳市）艾克美贸易有限公司",
    ],
    ("seller", "taobao:shop123456"): [
        "https://shop123456.taobao.com/",
        "https://shop123456.taobao.com/index.htm?spm=a1z10.1-c.0.0",
        "shop123456.taobao.com",
        "http://SHOP123456.TAOBAO.COM/category.htm",
        "https://shop123456.world.taobao.com",
        "https://shop.m.taobao.com/shop/shop_index.htm?shop_id=123456",
        "taobao:shop123456",
        "Taobao : shop123456",
    ],
    ("seller", "aliexpress:912345"): [
        "https://www.aliexpress.com/store/912345",
        "https://fr.aliexpress.com/store/912345?spm=a2g0o.detail.1000007",
        "aliexpress.us/store/912345/pages/all-items.html",
        "https://www.aliexpress.com/store/product/Fake-Watch/912345_32812345678.html",
        "aliexpress:912345",
    ],
    ("seller", "shopee:sg:123456"): [
        "https://shopee.sg/shop/123456",
        "https://shopee.sg/shop/123456/search?page=1",
        "shopee:SG:123456",
        "https://shopee.sg/Fake-Watch-i.123456.987654321",
    ],
    ("seller", "amazon:com:A1B2C3D4E5F6G7"): [
        "https://www.amazon.com/sp?seller=A1B2C3D4E5F6G7",
        "https://www.amazon.com/sp?ie=UTF8&seller=a1b2c3d4e5f6g7&tab=home",
        "https://www.amazon.com/s?me=A1B2C3D4E5F6G7&marketplaceID=ATVPDKIKX0DER",
        "https://www.amazon.com/dp/B08N5WRWNW?smid=A1B2C3D4E5F6G7",
        "amazon:com:a1b2c3d4e5f6g7",
    ],
    ("seller", "ebay:lucky_watches"): [
        "https://www.ebay.com/usr/lucky_watches",
        "https://www.ebay.co.uk/usr/Lucky_Watches?_trksid=p2047675",
        "https://www.ebay.de/str/lucky_watches",
        "ebay:Lucky_Watches",
    ],
    ("seller", "lazada:my:acme-official-store"): [
        "https://www.lazada.com.my/shop/acme-official-store/",
        "https://www.lazada.com.my/shop/Acme-Official-Store/?path=promotion",
        "lazada:MY:acme-official-store",
    ],
    ("seller", "alibaba:acmewatch"): [
        "https://acmewatch.en.alibaba.com/",
        "https://acmewatch.en.alibaba.com/productlist.html",
        "alibaba:acmewatch",
    ],
    ("seller", "1688:shop1234567890"): ["https://shop1234567890.1688.com/", "1688:shop1234567890"],
    ("seller", "lucky watch store"): ["Lucky Watch Store", "  LUCKY   watch store ", "ＬＵＣＫＹ Watch Store"],
    ("listing", "taobao:612345678901"): [
        "https://item.taobao.com/item.htm?id=612345678901",
        "https://item.taobao.com/item.htm?spm=a230r.1.14.16&id=612345678901&ns=1#detail",
        "<https://item.taobao.com/item.htm?id=612345678901>",
        "item.taobao.com/item.htm?id=612345678901",
        "taobao:612345678901",
        "Taobao:0612345678901",
    ],
    ("listing", "shopee:sg:123456.987654321"): [
        "https://shopee.sg/product/123456/987654321",
        "shopee:SG:123456.987654321",
    ],
    ("listing", "amazon:co.uk:B08N5WRWNW"): [
        "https://www.amazon.co.uk/Some-Title/dp/B08N5WRWNW/ref=sr_1_1?keywords=x",
        "amazon:co.uk:b08n5wrwnw",
    ],
    ("listing", "lazada:my:1234567890"): [
        "https://www.lazada.com.my/products/x-i1234567890-s9.html",
        "lazada:my:1234567890",
    ],
    ("domain", "fake-rolex-deals.com"): [
        "fake-rolex-deals.com",
        "FAKE-ROLEX-DEALS.COM",
        "www.fake-rolex-deals.com",
        "https://shop.fake-rolex-deals.com/products/watch?utm_source=x",
        "http://fake-rolex-deals.com:8080/",
        "fake-rolex-deals[.]com",
        "hxxps://www[.]fake-rolex-deals[.]com/x",
        "fake-rolex-deals.com.",
    ],
    ("domain", "fake-nike.co.uk"): ["fake-nike.co.uk", "https://www.fake-nike.co.uk/", "shop.fake-nike.co.uk"],
    ("domain", "fakeshop.myshopify.com"): ["fakeshop.myshopify.com", "https://FakeShop.myshopify.com/products/x"],
    ("domain", "xn--bcher-kva.de"): ["bücher.de", "https://www.BÜCHER.de/", "xn--bcher-kva.de"],
}


def _spellings() -> list[tuple[str, str, str, str]]:
    cases = []
    for (type_, value), spellings in VARIANTS.items():
        for spelling in spellings:
            text, region = spelling if isinstance(spelling, tuple) else (spelling, "CN")
            cases.append((type_, value, text, region))
    return cases


@pytest.mark.parametrize(("type_", "value", "text", "region"), _spellings())
def test_variants_normalise_to_one_value(type_: str, value: str, text: str, region: str) -> None:
    indicator = normalise(type_, text, default_region=region)
    assert (indicator.type, indicator.value) == (type_, value)
    assert indicator.display
    assert normalise(type_, indicator.value).value == value


def test_every_type_has_variants() -> None:
    covered = {type_ for type_, _ in VARIANTS}
    assert covered == set(INDICATOR_TYPES)
    for type_ in INDICATOR_TYPES:
        assert sum(len(spellings) for (t, _), spellings in VARIANTS.items() if t == type_) >= 3


@pytest.mark.parametrize(
    ("type_", "text", "display"),
    [
        ("phone", "008613800138000", "+86 138 0013 8000"),
        (
            "listing",
            "https://item.taobao.com/item.htm?spm=x&id=612345678901",
            "https://item.taobao.com/item.htm?id=612345678901",
        ),
        ("seller", "https://www.ebay.co.uk/usr/Lucky_Watches", "https://www.ebay.com/usr/lucky_watches"),
        ("seller", "https://shopee.sg/Fake-Watch-i.123456.987654321", "https://shopee.sg/shop/123456"),
        ("seller", "Lucky  Watch Store", "Lucky Watch Store"),
        ("domain", "https://www.bücher.de/x", "bücher.de (xn--bcher-kva.de)"),
        ("domain", "аpple.com", "аpple.com (xn--pple-43d.com)"),  # Cyrillic а: a look-alike shows its IDNA form
        ("bank", "gb82west12345698765432", "GB82 WEST 1234 5698 7654 32"),
        ("address", "广东省深圳市，龙华区", "广东省深圳市，龙华区"),
        ("wechat", "Lucky_Shop88\u200b", "Lucky_Shop88"),
        ("company", "Acme\u202eCo", "AcmeCo"),  # bidi overrides never reach a display
    ],
)
def test_display(type_: str, text: str, display: str) -> None:
    assert normalise(type_, text).display == display


def test_distinct_things_stay_distinct() -> None:
    assert normalise("phone", "13800138000").value != normalise("phone", "13800138001").value
    assert normalise("phone", "020 8765 4321", default_region="GB").value == "+442087654321"
    assert normalise("phone", "020 8765 4321", default_region="CN").value == "+862087654321"  # Guangzhou
    assert normalise("qq", "12345678").value == normalise("bank", "12345678").value  # same digits, different types:
    assert normalise("qq", "12345678").type != normalise("bank", "12345678").type  # correlation matches on both
    assert normalise("address", "Room 501").value != normalise("address", "Room 50 1").value
    assert normalise("seller", "shopee:sg:1").value != normalise("seller", "shopee:my:1").value
    assert normalise("domain", "fakeshop.myshopify.com").value != normalise("domain", "othershop.myshopify.com").value


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("type_", "text", "reason"),
    [
        ("phone", "12345", "not a valid phone number"),
        ("phone", "+86 138 0013 800", "not a valid phone number"),
        ("phone", "+1 555 0100", "not a valid phone number"),
        ("phone", "call me", "not a valid phone number"),
        ("phone", "650 253 0000", "for region CN"),
        ("email", "sales(at)fake.com", "name@example.com"),
        ("email", "sales@localhost", "domain"),
        ("email", "sales@fake.c", "domain"),
        ("email", "sa les@fake.com", "name@example.com"),
        ("email", "..x@fake.com", "before `@`"),
        ("email", "ü@fake.com", "before `@`"),
        ("wechat", "12345", "starts with a letter"),
        ("wechat", "abc", "6 to 20"),
        ("wechat", "a" * 21, "6 to 20"),
        ("wechat", "abc def", "6 to 20"),
        ("qq", "01234567", "does not start with 0"),
        ("qq", "1234", "5 to 11"),
        ("qq", "123456789012", "5 to 11"),
        ("alipay", "not an account", "email address or a phone"),
        ("bank", "DE88 3704 0044 0532 0130 00", "check digits do not match"),
        ("bank", "1234567", "8 to 30 digits"),
        ("bank", "ICBC 6222 0212 3456 and 6222 0212 3457", "8 to 30 digits"),
        ("waybill", "SF12", "8 to 40"),
        ("waybill", "NOTAVAILABLE", "some digits"),
        ("waybill", "SF1234567890/SF1234567891", "8 to 40"),
        ("address", "，。、", "no letters or digits"),
        ("company", "\u200b\u200b", "empty"),
        ("listing", "https://fake-shop.com/product/1", "not a marketplace listing"),
        ("listing", "https://s.taobao.com/search?q=watch", "search page"),
        ("listing", "taobao:abc", "taobao listing key"),
        ("listing", "lazada:xx:123", "lazada listing key"),
        ("seller", "https://item.taobao.com/item.htm?id=1", "names no marketplace seller"),
        ("seller", "https://www.taobao.com/", "no item id"),
        ("domain", "taobao.com", "marketplace"),
        ("domain", "https://bit.ly/abc", "link shortener"),
        ("domain", "https://www.facebook.com/fakeshop", "social network"),
        ("domain", "http://localhost:8000/", "localhost"),
        ("domain", "http://192.168.0.1/", "IP address"),
        ("domain", "ftp://fake-shop.com/", "web links"),
        ("domain", "co.uk", "public suffix"),
        ("domain", "shop.invalidtld", "public domain suffix"),
        ("email", "x@" + "a" * 300 + ".com", "at most 300"),
        ("address", "x" * 301, "at most 300"),
        ("company", "x" * 100_000, "at most 300"),
        ("seller", "x" * 301, "at most 300"),
        ("listing", "https://item.taobao.com/item.htm?id=1&" + "x" * 100_000, "at most"),
        ("colour", "red", "not an indicator type"),
        ("phone", "", "empty"),
    ],
)
def test_refusals_say_why(type_: str, text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        normalise(type_, text)


def test_long_listing_links_are_accepted() -> None:
    """Values are at most 300 characters; a pasted listing link with its tracking noise may be longer."""
    text = "https://item.taobao.com/item.htm?id=612345678901&spm=" + "a" * 600
    assert normalise("listing", text).value == "taobao:612345678901"


# --------------------------------------------------------------- extraction

BODY = """\
Counterfeit watches sold as "factory seconds". Listing https://item.taobao.com/item.htm?spm=a1z10.3&id=612345678901
(also mirrored at <https://shopee.sg/Rolx-Sub-i.123456.987654321?sp_atk=abc>). Their own shop is
www.fake-rolex-deals.com/shop/, and an older one hxxps://rolex-outlet[.]co.uk/ was taken down.
Buyers are told to pay via WhatsApp +86 138 0013 8000 or email Sales@Fake-Rolex.com.
链接：https://detail.tmall.com/item.htm?id=600123456789，请查看。
Not indicators: http://localhost:8000/admin, http://10.0.0.1/, ftp://files.example.com/, https://bit.ly/3xYz,
a national number 138 0013 8001, an IBAN in prose DE89 3704 0044 0532 0130 00, +12 3.
"""

LINES = """\
- WeChat: Lucky_Shop88
微信：lucky_shop88
QQ号：12345678, 87654321
Tracking No.: SF 1234 5678 9012
地址：广东省深圳市龙华区，民治街道民康路１２３号
Company: Shenzhen Acme Trading Co., Ltd.
bank: DE89 3704 0044 0532 0130 00
GB82 WEST 1234 5698 7654 32
sales@fake-rolex.com
**Seller:** https://shop123456.taobao.com/
+44 20 7946 0958
alipay: 13900139000

note: the seller also uses a second phone
just some words
phone: 12345
email: ops@fake-rolex.com, not-an-email
https://bit.ly/3xYz
http://localhost/x
www.taobao.com
foo: bar
"""

EXPECTED = [
    ("wechat", "lucky_shop88", "Lucky_Shop88"),
    ("qq", "12345678", "12345678"),
    ("qq", "87654321", "87654321"),
    ("waybill", "SF123456789012", "SF 1234 5678 9012"),
    ("address", "广东省深圳市龙华区民治街道民康路123号", "广东省深圳市龙华区，民治街道民康路１２３号"),
    ("company", "shenzhen acme trading co ltd", "Shenzhen Acme Trading Co., Ltd."),
    ("bank", "DE89370400440532013000", "DE89 3704 0044 0532 0130 00"),
    ("bank", "GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32"),
    ("email", "sales@fake-rolex.com", "sales@fake-rolex.com"),
    ("seller", "taobao:shop123456", "https://shop123456.taobao.com"),
    ("phone", "+442079460958", "+44 20 7946 0958"),
    ("alipay", "+8613900139000", "+86 139 0013 9000"),
    ("email", "ops@fake-rolex.com", "ops@fake-rolex.com"),
    # the body, in reading order
    ("listing", "taobao:612345678901", "https://item.taobao.com/item.htm?id=612345678901"),
    ("listing", "shopee:sg:123456.987654321", "https://shopee.sg/product/123456/987654321"),
    ("seller", "shopee:sg:123456", "https://shopee.sg/shop/123456"),
    ("domain", "fake-rolex-deals.com", "fake-rolex-deals.com"),
    ("domain", "rolex-outlet.co.uk", "rolex-outlet.co.uk"),
    ("phone", "+8613800138000", "+86 138 0013 8000"),
    ("listing", "tmall:600123456789", "https://detail.tmall.com/item.htm?id=600123456789"),
]
UNRECOGNISED = [
    "note: the seller also uses a second phone",
    "just some words",
    "phone: 12345",
    "email: ops@fake-rolex.com, not-an-email",
    "https://bit.ly/3xYz",
    "http://localhost/x",
    "www.taobao.com",
    "foo: bar",
]


def test_extract_realistic_report() -> None:
    extraction = extract(BODY, LINES)
    assert isinstance(extraction, Extraction)
    assert [(i.type, i.value, i.display) for i in extraction.indicators] == EXPECTED
    assert list(extraction.unrecognised) == UNRECOGNISED


def test_body_only_and_lines_only() -> None:
    assert extract("").indicators == ()
    assert extract("nothing to see here", "") == Extraction((), ())
    body_only = extract(BODY)
    assert body_only.unrecognised == ()
    assert [i.type for i in body_only.indicators] == [
        "listing", "listing", "seller", "domain", "domain", "phone", "email", "listing",
    ]  # fmt: skip
    assert body_only.indicators[6].display == "Sales@Fake-Rolex.com"  # first spelling wins


def test_de_duplication_keeps_the_first_spelling() -> None:
    lines = (
        "wechat: Lucky_Shop88\nWX: LUCKY_SHOP88\nphone: 138 0013 8000\n+86 138 0013 8000\nwaybill: sf-1234-5678-9012"
    )
    body = "Call +86-138-0013-8000 or +86 (138) 0013 8000. See https://item.taobao.com/item.htm?id=1 and " * 3
    extraction = extract(body + "item.taobao.com/item.htm?id=01 https://item.taobao.com/item.htm?id=1&spm=x", lines)
    assert [(i.type, i.value, i.display) for i in extraction.indicators] == [
        ("wechat", "lucky_shop88", "Lucky_Shop88"),
        ("phone", "+8613800138000", "+86 138 0013 8000"),
        ("waybill", "SF123456789012", "sf-1234-5678-9012"),
        ("listing", "taobao:1", "https://item.taobao.com/item.htm?id=1"),
    ]
    assert extraction.unrecognised == ()


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("mail me at x.y+tag@Example.org!", [("email", "x.y+tag@example.org")]),
        ("<https://www.fake-shop.com/a>", [("domain", "fake-shop.com")]),
        ("(see https://fake-shop.com/a_(b))", [("domain", "fake-shop.com")]),
        ("**https://fake-shop.com/x**", [("domain", "fake-shop.com")]),
        (
            "Links: https://a-shop.com/1, https://b-shop.com/2; https://c-shop.com.",
            [("domain", "a-shop.com"), ("domain", "b-shop.com"), ("domain", "c-shop.com")],
        ),
        ("https://fake-shop.com/contact?email=owner@fake-shop.com", [("domain", "fake-shop.com")]),
        ("电话：+86 138 0013 8000，微信同号", [("phone", "+8613800138000")]),
        ("+86 138 0013 8000 2024-05-01", [("phone", "+8613800138000")]),
        ("call 138 0013 8000 or 0086 138 0013 8000", []),  # only +international numbers are bare values
        ("IBAN DE89 3704 0044 0532 0130 00", []),  # IBANs only in indicator lines
        ("wechat: lucky_shop88 qq: 12345678", []),  # prefixes only in indicator lines
        ("http://localhost/x http://127.0.0.1/ https://[::1]/ javascript:alert(1) https://t.co/x", []),
        ("https://www.google.com/search?q=fake https://www.facebook.com/marketplace/item/1", []),
        ("https://www.taobao.com/ https://s.taobao.com/search?q=x", []),
        ("x@y 1+1=2 a@b.c +1 +12 www. http:// https://", []),
    ],
)
def test_body_scanning(body: str, found: list[tuple[str, str]]) -> None:
    assert [(i.type, i.value) for i in extract(body).indicators] == found


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("  * QQ：12345678  ", [("qq", "12345678")]),
        ("Listing 2: https://item.taobao.com/item.htm?id=1", [("listing", "taobao:1")]),
        ("1. email: a@b.com; c@d.com", [("email", "a@b.com"), ("email", "c@d.com")]),
        ("Tracking #: SF1234567890 | SF1234567891", [("waybill", "SF1234567890"), ("waybill", "SF1234567891")]),
        ("WhatsApp：+86 138 0013 8000 / +852 9123 4567", [("phone", "+8613800138000"), ("phone", "+85291234567")]),
        ("wechat id: abc123 def456", [("wechat", "abc123"), ("wechat", "def456")]),
        ("微信: 13800138000", [("phone", "+8613800138000")]),  # a WeChat given as its phone number
        ("支付宝：pay@163.com", [("alipay", "pay@163.com")]),
        ("zfb: 138 0013 8000", [("alipay", "+8613800138000")]),
        ("iban: gb82 west 1234 5698 7654 32", [("bank", "GB82WEST12345698765432")]),
        ("银行卡号：6222 0212 3456 7890 123", [("bank", "6222021234567890123")]),
        ("运单号：SF 1234 5678 9012", [("waybill", "SF123456789012")]),
        ("工厂：东莞市某某五金制品厂", [("company", "东莞市某某五金制品厂")]),
        ("Manufacturer: Acme Watch Factory, Inc.", [("company", "acme watch factory inc")]),
        ("Address: Room 501, No. 123 Minkang Rd", [("address", "room 501 no 123 minkang rd")]),
        ("domain: fake-shop.com, other-shop.net", [("domain", "fake-shop.com"), ("domain", "other-shop.net")]),
        ("website: https://www.fake-shop.com/x", [("domain", "fake-shop.com")]),
        ("url: shopee.sg/shop/123456", [("seller", "shopee:sg:123456")]),
        ("link: https://shopee.sg/product/1/2", [("listing", "shopee:sg:1.2"), ("seller", "shopee:sg:1")]),
        ("listing: taobao:612345678901", [("listing", "taobao:612345678901")]),
        ("seller: ebay:Lucky_Watches", [("seller", "ebay:lucky_watches")]),
        ("store: Lucky Watch Store", [("seller", "lucky watch store")]),
        ("seller: https://item.taobao.com/item.htm?id=1", [("listing", "taobao:1")]),
        ("mailto:Sales@Fake.com", [("email", "sales@fake.com")]),
        ("tel:+86-138-0013-8000", [("phone", "+8613800138000")]),
        ("+86 138 0013 8000", [("phone", "+8613800138000")]),
        ("DE89 3704 0044 0532 0130 00", [("bank", "DE89370400440532013000")]),
        ("hxxps://fake-shop[.]com/", [("domain", "fake-shop.com")]),
        ("<https://shopee.sg/shop/123456>", [("seller", "shopee:sg:123456")]),
        ("\u202ewechat: abc123\u202c", [("wechat", "abc123")]),  # bidi controls are dropped, never displayed
    ],
)
def test_indicator_lines(line: str, found: list[tuple[str, str]]) -> None:
    extraction = extract("", line)
    assert [(i.type, i.value) for i in extraction.indicators] == found
    assert extraction.unrecognised == ()


@pytest.mark.parametrize(
    "line",
    [
        "foo: bar",
        "taobao:612345678901",  # a bare key could be a listing or a seller: say which
        "138 0013 8000",  # a national number needs `phone:`
        "lucky_shop88",
        "12345678",
        "SF1234567890",
        "DE88 3704 0044 0532 0130 00",  # fails mod-97
        "fake-shop.com",  # a bare host needs `domain:` (or a scheme / www.)
        "wechat:",
        "wechat: 12345",
        "qq: 12345678, 0123",  # one of the two could be used; the line is kept too
        "https://www.google.com/search?q=x",
        "ftp://fake-shop.com/",
        "http://[::1]/",
        "domain: taobao.com",
        "phone: " + "1" * 400,
        "https:// fake-shop.com",
    ],
)
def test_unrecognised_lines_are_kept_verbatim(line: str) -> None:
    extraction = extract("", f"\n  {line}  \n\n")
    assert extraction.unrecognised == (line.strip(),)


def test_at_most_200_indicators() -> None:
    lines = "\n".join(f"qq: {10000 + i}" for i in range(MAX_INDICATORS))
    assert len(extract("", lines).indicators) == MAX_INDICATORS
    assert len(extract("", lines + "\nqq: 10000").indicators) == MAX_INDICATORS  # duplicates do not count
    with pytest.raises(InvalidInput, match="at most 200 indicators"):
        extract("", lines + "\nqq: 99999")
    with pytest.raises(InvalidInput, match="at most 200 indicators"):
        extract(" ".join(f"https://shop{i}.com/" for i in range(MAX_INDICATORS + 1)))
    with pytest.raises(InvalidInput, match="at most 200 indicators"):
        extract("", "qq: " + ", ".join(str(10000 + i) for i in range(MAX_INDICATORS + 1)))


def test_default_region() -> None:
    assert extract("", "phone: (650) 253-0000", default_region="US").indicators[0].value == "+16502530000"
    assert extract("", "phone: (650) 253-0000").unrecognised == ("phone: (650) 253-0000",)
    assert parse_lookup("phone: 020 7946 0958", default_region="GB").value == "+442079460958"
    assert normalise("phone", "+86 138 0013 8000", default_region="nowhere").value == "+8613800138000"
    with pytest.raises(InvalidInput, match="valid phone number"):
        normalise("phone", "138 0013 8000", default_region="")


# ------------------------------------------------------------------ lookups


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("wechat: Lucky_Shop88", ("wechat", "lucky_shop88")),
        ("微信：lucky_shop88", ("wechat", "lucky_shop88")),
        ("wx: 13800138000", ("phone", "+8613800138000")),
        ("qq 号：12345678", ("qq", "12345678")),
        ("phone: 138 0013 8000", ("phone", "+8613800138000")),
        ("+86 138 0013 8000", ("phone", "+8613800138000")),
        ("Sales@Fake-Rolex.com", ("email", "sales@fake-rolex.com")),
        ("GB82 WEST 1234 5698 7654 32", ("bank", "GB82WEST12345698765432")),
        ("https://item.taobao.com/item.htm?id=612345678901&spm=x", ("listing", "taobao:612345678901")),
        ("<https://shopee.sg/product/1/2>", ("listing", "shopee:sg:1.2")),
        ("seller: https://shopee.sg/product/1/2", ("seller", "shopee:sg:1")),
        ("https://shop123456.taobao.com", ("seller", "taobao:shop123456")),
        ("www.fake-rolex-deals.com", ("domain", "fake-rolex-deals.com")),
        ("domain: fake-rolex-deals.com", ("domain", "fake-rolex-deals.com")),
        ("listing: taobao:612345678901", ("listing", "taobao:612345678901")),
        ("seller: Lucky Watch Store", ("seller", "lucky watch store")),
        ("waybill: sf 1234 5678 9012", ("waybill", "SF123456789012")),
        ("address: 广东省 深圳市", ("address", "广东省深圳市")),
        ("`company: ACME CO., LTD.`", ("company", "acme co ltd")),
    ],
)
def test_parse_lookup(text: str, found: tuple[str, str]) -> None:
    indicator = parse_lookup(text)
    assert (indicator.type, indicator.value) == found


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Give a value"),
        ("   ", "Give a value"),
        ("lucky_shop88", "type: value"),
        ("taobao:612345678901", "type: value"),
        ("13800138000", "type: value"),
        ("foo: bar", "type: value"),
        ("wechat: 12345", "starts with a letter"),
        ("https://bit.ly/abc", "short link"),
        ("https://www.google.com/search?q=x", "search engine"),
        ("seller: https://item.taobao.com/item.htm?id=1", "names no marketplace seller"),
        ("domain: http://localhost", "localhost"),
    ],
)
def test_parse_lookup_refusals(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        parse_lookup(text)


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidInput):
        normalise("phone", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        parse_lookup(None)  # type: ignore[arg-type]


# -------------------------------------------------------- no network, ever


def test_public_suffixes_come_from_the_bundled_snapshot_without_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(requests.Session, "send", refuse)
    # The environment cannot switch fetching back on, and nothing is cached on disk.
    monkeypatch.setenv("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "https://publicsuffix.org/list/public_suffix_list.dat")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    indicators._tld_extractor.cache_clear()
    indicators._registrable.cache_clear()
    try:
        found = extract("https://shop.fake-nike.co.uk/x https://fakeshop.myshopify.com/ https://例子.中国/").indicators
    finally:
        indicators._tld_extractor.cache_clear()
        indicators._registrable.cache_clear()
    assert [i.value for i in found] == ["fake-nike.co.uk", "fakeshop.myshopify.com", "xn--fsqu00a.xn--fiqs8s"]
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ adversarial

_ADVERSARIAL = {
    "letters": "a" * 100_000,
    "ats": "a@" * 50_000,
    "long locals": ("x" * 70 + "@") * 1_400,
    "dashes": "a@" + "a-" * 50_000,
    "schemes": "http://" * 14_285,
    "one long url": "https://" + "a" * 100_000,
    "wwws": "www." * 25_000,
    "pluses": "+1 " * 33_333,
    "plus digits": "+123456" * 14_285,
    "spaced digits": "+8 6 1 3 8 0 0 1 3 8 0 0 1 " * 3_800,
    "bad urls": "".join(f"http://{i} " for i in range(11_000)),
    "parens": "http://a-shop.com/" + ")" * 100_000,
    "many parens": ("http://a-shop.com/" + ")" * 2_000 + " ") * 50,
    "distinct phones": "".join(f"+86 138 {i:04d} {i:04d} " for i in range(6_000)),
    "invalid phones": "".join(f"+1 555 {i:04d} " for i in range(8_400)),
    "trimmed phones": "".join(f"+44 {i:05d} {i:05d} 99 99 " for i in range(4_600)),
    "distinct lines": "".join(f"phone: +86 138 0013 {i:04d}\n" for i in range(4_000)),
    "distinct bad lines": "".join(f"wechat: {i:08d}\n" for i in range(6_000)),
    "defanged": "hxxp://a" + "[.]" * 33_000,
    "colons": ":" * 100_000,
    "prefix lines": "wechat: x\n" * 10_000,
    "long prefixed": "wechat:" + "a" * 100_000,
    "full-width commas": "链接：https://a-shop.com/" + "，" * 100_000,
    "separators": "qq: " + ",," * 50_000,
    "hidden": "\u200b\u202e" * 50_000,
    "phones": "phone: +86 138 0013 8000\n" * 4_000,
}


class _Hung(Exception):
    pass


@contextlib.contextmanager
def _hang_guard(seconds: int = 60) -> Iterator[None]:
    """Fail instead of hanging CI if a pattern backtracks catastrophically. Not a speed check
    (the speed of these inputs is measured by `python -m bench.parsers`)."""

    def hung(_signum: int, _frame: object) -> None:
        raise _Hung(f"still running after {seconds}s: catastrophic backtracking?")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", list(_ADVERSARIAL))
def test_adversarial_inputs_end_in_a_result_or_a_refusal(name: str) -> None:
    text = _ADVERSARIAL[name]
    assert len(text) >= 99_000
    with _hang_guard():
        for body, lines in ((text, ""), ("", text)):
            try:
                extraction = extract(body, lines)
            except InvalidInput as refusal:
                assert refusal.message
            else:
                assert len(extraction.indicators) <= MAX_INDICATORS
        for type_ in INDICATOR_TYPES:
            for kind, value in ((type_, text), ("lookup", f"{type_}: {text}")):
                try:
                    parse_lookup(value) if kind == "lookup" else normalise(kind, value)
                except InvalidInput as refusal:
                    assert refusal.message


# ------------------------------------------------------------- properties

# Reports are drawn as byte strings read through token tables (fast to generate, easy to shrink):
# prefixes, real values of every type, near-misses, separators, hidden and bidi characters, mixed
# scripts, and the occasional huge value.
_PREFIXES = [
    "", "", "", "", "wechat: ", "微信：", "WX:", "qq: ", "QQ号：", "phone: ", "Tel：", "WhatsApp: ", "email: ",
    "mailto:", "alipay: ", "支付宝：", "bank: ", "IBAN: ", "account: ", "waybill: ", "Tracking No.: ", "运单：",
    "address: ", "地址：", "company: ", "工厂：", "seller: ", "shop: ", "domain: ", "website: ", "listing: ",
    "url: ", "foo: ", "- ", "1. ", "**Seller:** ", "`", ":", "：",
]  # fmt: skip
_VALUES = [
    "+86 138 0013 8000", "008613800138000", "(+86)13800138000", "13800138000", "+1 650-253-0000", "+44 20 7946 0958",
    "+12", "+", "Sales@Fake-Rolex.com", "a@b.c", "x@bücher.de", "@", "lucky_shop88", "Lucky-Shop", "12345678",
    "0123", "DE89 3704 0044 0532 0130 00", "DE88 3704 0044 0532 0130 00", "GB82WEST12345698765432",
    "6222 0212 3456 7890 123", "SF 1234 5678 9012", "1Z999AA10123456784", "广东省深圳市，龙华区１２３号",
    "Room 501, No. 123 Minkang Rd.", "Shenzhen Acme Trading Co., Ltd.", "深圳市某某贸易有限公司",
    "https://item.taobao.com/item.htm?id=612345678901&spm=x", "https://shopee.sg/Rolx-i.123456.987654321",
    "https://shop123.taobao.com/", "https://www.aliexpress.com/store/912345", "https://www.amazon.com/sp?seller=A1B2C3D4E5",
    "https://www.ebay.com/usr/Lucky_Watches", "https://www.lazada.com.my/shop/acme/", "https://acme.en.alibaba.com/",
    "www.fake-rolex-deals.com/shop", "hxxps://evil[.]example[.]org/", "https://fakeshop.myshopify.com", "https://例子.中国/",
    "https://bücher.de", "http://localhost/", "http://127.0.0.1/", "https://[::1]/", "ftp://x.com", "https://bit.ly/x",
    "https://www.google.com/search?q=x", "https://www.taobao.com/", "taobao:612345678901", "shopee:sg:1.2",
    "amazon:com:a1b2c3d4e5", "ebay:Lucky", "fake-shop.com", "co.uk", "https://", "http://a", "www.",
]  # fmt: skip
_NOISE = [
    " ", " ", " ", "\n", "\n", "\t", "\r\n", ",", ";", "、", "|", " / ", ".", "。", "，", "：", ":", "@", "+", "-", "(",
    ")", "[.]", "<", ">", "*", "`", "#", "%", "/", "?", "&", "=", "0", "1", "9", "a", "Z", "é", "e\u0301", "ß", "İ",
    "ﬁ", "Ⅸ", "ａ", "１", "＋", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066",
    "\u2069", "\ufeff", "\u00ad", "\x00", "\x1b", "\x7f", "\x85", "\u00a0", "\u3000", "\u2028", "\u2029", "\ud800",
    "\U000e0041", "\ue000", "\uffff", "е", "а", "ρ", "ا", "א", "क", "ก", "中", "文", "한", "カ", "\u3099", "🙂",
    "👍🏽", "٣", "۴", "१", "xn--", "xn--zz",
]  # fmt: skip
_HUGE = [
    "x" * 301,
    "1" * 2_000,
    "a@" * 200,
    "+1 " * 150,
    "https://a-shop.com/" + "a" * 3_000,
    "中" * 400,
    "\u200b" * 500,
]


def _report(data: bytes) -> str:
    """Tokens chosen by a hash of each byte pair: Hypothesis favours zero bytes, which would always
    pick the first option."""
    out = []
    digest = hashlib.blake2b(data, digest_size=64).digest()
    for i, byte in enumerate(data):
        choice = digest[i % 64] ^ byte
        kind = choice % 16
        if kind < 4:
            out.append(_PREFIXES[byte % len(_PREFIXES)] + _VALUES[(byte * 7 + i) % len(_VALUES)])
        elif kind < 6:
            out.append(_VALUES[byte % len(_VALUES)])
        elif kind < 15:
            out.append(_NOISE[(byte + i) % len(_NOISE)])
        elif i % 8 == 0:
            out.append(_HUGE[byte % len(_HUGE)])
        else:
            out.append("\n")
    return "".join(out)


def _check_extraction(body: str, lines: str) -> None:
    record("hostile inputs tried", "indicator extractor")
    try:
        extraction = extract(body, lines)
    except InvalidInput as refusal:
        assert "at most 200 indicators" in refusal.message
        return
    assert len(extraction.indicators) <= MAX_INDICATORS
    assert len({(i.type, i.value) for i in extraction.indicators}) == len(extraction.indicators)
    stripped_lines = {line.strip() for line in lines.splitlines()}
    for line in extraction.unrecognised:
        assert line and line == line.strip() and line in stripped_lines
    for indicator in extraction.indicators:
        assert isinstance(indicator, Indicator)
        assert indicator.type in INDICATOR_TYPES
        assert indicator.value and indicator.display
        assert len(indicator.value) <= 300 and len(indicator.display) <= 2048
        again = normalise(indicator.type, indicator.value)
        assert again.value == indicator.value, indicator
        assert again.type == indicator.type


@settings(max_examples=10_000, deadline=None)
@given(st.binary(max_size=48), st.binary(max_size=48))
def test_extract_never_fails_and_values_are_idempotent(body: bytes, lines: bytes) -> None:
    _check_extraction(_report(body), _report(lines))


@settings(max_examples=1_500, deadline=None)
@given(
    st.text(st.characters(exclude_categories=()), max_size=200),
    st.text(st.characters(exclude_categories=()), max_size=200),
)
def test_extract_arbitrary_text(body: str, lines: str) -> None:
    _check_extraction(body, lines)


@settings(max_examples=2_500, deadline=None)
@given(st.sampled_from(INDICATOR_TYPES), st.binary(max_size=12))
def test_normalise_and_lookup_are_total_and_idempotent(type_: str, data: bytes) -> None:
    text = _report(data)
    record("hostile inputs tried", "indicator normaliser", 3)
    for kind, given_text in ((type_, text), ("lookup", text), ("lookup", f"{type_}: {text}")):
        try:
            indicator = parse_lookup(given_text) if kind == "lookup" else normalise(kind, given_text)
        except InvalidInput as refusal:
            assert refusal.message
            continue
        assert indicator.type in INDICATOR_TYPES and indicator.value
        assert normalise(indicator.type, indicator.value).value == indicator.value


def test_dotted_capital_i_is_not_a_wechat_letter() -> None:
    """Found by the property test: "İ" case-folds to "i" plus a combining dot, so a WeChat id
    containing it matched case-insensitively but its folded value no longer did."""
    extraction = extract("", "wechat: lucky_shop88\u0130")
    assert extraction.indicators == ()
    assert extraction.unrecognised == ("wechat: lucky_shop88\u0130",)
