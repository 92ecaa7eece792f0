"""Hostile and malformed input against every parser that takes user text.

Each property runs 10,000 generated inputs: control characters, NUL bytes, zero-width and
right-to-left characters, mixed scripts, lone BOMs, other encodings (UTF-16, latin-1), huge
values, and for the bulk CSV parser formula cells, quotes and CR/LF mixes. A parser must either
return a well-formed result or refuse with `InvalidInput` (a message written for the user);
any other exception would reach the user as an error reference, so it fails the property.

The URL canonicaliser and indicator extractor have their own 10,000-example properties in
tests/unit/test_listings.py and tests/unit/test_indicators.py.

The last test prints `hostile inputs: <parser>=<n> ...` with the inputs each parser was given.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import InvalidInput
from bot.ids import parse_id
from bot.rendering import escape
from bot.services.alliance import clean_name
from bot.services.cases import MAX_SEIZURE, _amount, _date
from bot.services.digests import parse_cron
from bot.services.takedown_csv import MAX_ROWS, BulkRow, parse_bulk
from tests.figures import record

HOSTILE = settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# ------------------------------------------------------------------ building blocks

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
CONTROLS = "".join(chr(code) for code in range(0x20)) + "\x7f\x85\u2028\u2029"
MIXED_SCRIPTS = "Vаntоr Wаtсhеs 店铺 واتش ש ΑΒΓ Ωmega ｆｕｌｌ１２３ ١٢٣ ۴۵ ߁ 𝟏𝟐 ²³ Ⅻ"  # Cyrillic look-alikes
MENTIONS = (
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123456789012345678>",
    "<#123456789012345678>",
    "@\u200beveryone",
    "＠everyone",
    "<@&0>",
    "<t:1:R>",
    "||x||",
    "```",
    "{{ 7*7 }}",
)
SPECIAL = ZERO_WIDTH + BIDI + CONTROLS + MIXED_SCRIPTS + "\"',;=+-@\t\r\n`*_~|>[]()#\\/:%{}<>"

special_char = st.sampled_from(SPECIAL)
any_char = st.characters(codec="utf-8")  # every code point that can be encoded (no lone surrogates)
fragment = st.one_of(
    st.text(any_char, max_size=12),
    st.text(special_char, min_size=1, max_size=8),
    st.sampled_from(MENTIONS),
    st.builds(lambda ch, n: ch * n, st.sampled_from('a9 ,"\n\t\u202e\u200b@<'), st.integers(0, 300)),
)
hostile_text = st.lists(fragment, max_size=4).map("".join)


def _tried(name: str) -> None:
    record("hostile inputs tried", name)


# ------------------------------------------------------------------ bulk CSV

CELL_VALUES = st.one_of(
    st.sampled_from(
        [
            "https://item.taobao.com/item.htm?id=612345678901",
            "https://www.amazon.de/dp/B0TEST0001",
            "TM-778812",
            "counterfeit",
            '=HYPERLINK("http://evil","x")',
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(1,1)",
            "\t=1",
            "\r=1",
            "",
            " ",
            '"',
            '""',
            'a"b',
            "\x00",
        ]
    ),
    st.text(st.one_of(special_char, any_char), max_size=12),
)


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


@st.composite
def csv_documents(draw: st.DrawFn) -> bytes:
    header = draw(
        st.one_of(
            st.just(["url", "right", "reason", "seller", "note"]),
            st.just(["URL", " Right ", "reason"]),
            st.permutations(["url", "right", "reason", "seller", "note"]).map(list),
            st.lists(st.sampled_from(["url", "right", "reason", "seller", "note", "", "extra", "=1"]), max_size=7),
        )
    )
    rows = draw(st.lists(st.lists(CELL_VALUES, max_size=6), max_size=6))
    quoting = draw(st.sampled_from(["minimal", "all", "none"]))
    newline = st.sampled_from(["\n", "\r\n", "\r", "\n\r", ""])

    def render(cells: list[str]) -> str:
        if quoting == "all":
            return ",".join(_quote(cell) for cell in cells)
        if quoting == "none":
            return ",".join(cells)
        return ",".join(_quote(cell) if re.search(r'[",\r\n]', cell) else cell for cell in cells)

    text = render(header)
    for cells in rows:
        text += draw(newline) + render(cells)
    if draw(st.booleans()):
        text += draw(newline)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    prefix = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"]))
    return prefix + data


HUGE_FILES = [
    b"url,right,reason\n" + b"x" * (5 * 1024 * 1024),  # over 5 MB
    b"url,right,reason\n" + b"a" * 200_000 + b",TM,counterfeit\n",  # a cell beyond the csv field limit
    b"url,right,reason\n" + b"u,r,c\n" * (MAX_ROWS + 1),  # too many rows
    b"url,right,reason\n" + b"u,r,c\n" * MAX_ROWS,  # exactly the limit
    b"url,right,reason\n" + (b"," * 100_000) + b"\n",  # a very wide row
]


@HOSTILE
@given(
    st.one_of(
        csv_documents(),
        st.binary(max_size=300),
        hostile_text.map(lambda text: ("url,right,reason,seller,note\n" + text).encode("utf-8")),
        st.builds(
            lambda cell, n: b"url,right,reason\n" + (cell * n) + b",TM-1,counterfeit\n",
            st.sampled_from([b"a", b'"', b"\xe2\x80\xae", b"=1", b"\r\n"]),
            st.integers(0, 20_000),
        ),
    )
)
def test_bulk_csv_returns_rows_or_refuses(data: bytes) -> None:
    _check_bulk(data)


@pytest.mark.parametrize(
    "data", HUGE_FILES, ids=["over-5MB", "cell-over-field-limit", "too-many-rows", "row-limit", "very-wide-row"]
)
def test_huge_bulk_files_are_refused_or_parsed(data: bytes) -> None:
    _check_bulk(data)


def _check_bulk(data: bytes) -> None:
    _tried("parse_bulk")
    try:
        rows = parse_bulk(data)
    except InvalidInput as refusal:
        assert refusal.message and len(refusal.message) < 500
        return
    assert 1 <= len(rows) <= MAX_ROWS
    lines = [row.line for row in rows]
    assert lines == sorted(lines) and lines[0] >= 2
    for row in rows:
        assert isinstance(row, BulkRow)
        for value in (row.url, row.right, row.reason, row.seller, row.note):
            assert isinstance(value, str)
            assert "\x00" not in value
            assert value == value.strip()


# ------------------------------------------------------------------ cron

cron_token = st.one_of(
    st.sampled_from(
        [
            "*",
            "0",
            "9",
            "1",
            "7",
            "59",
            "60",
            "24",
            "31",
            "32",
            "12",
            "13",
            "-1",
            "*/5",
            "*/0",
            "1-5",
            "5-1",
            "mon",
            "sun-sat",
            "mon-fri",
            "fri-mon",
            "jan",
            "L",
            "?",
            "1,2,3",
            ",",
            "-",
            "/",
            "1/",
            "*/",
            "٣",
            "²",
            "１",
            "0x10",
            "1e3",
            "99999999999999999999999",
            "last",
            "#",
            "1-7/2",
            "0-7",
            "7",
            "8",
            "xyz",
            "*/999999999",
            "1-7/99999999999999999999999",
        ]
    ),
    st.text(any_char, min_size=1, max_size=6).filter(lambda token: token.split() == [token]),
)
cron_expression = st.one_of(
    st.lists(cron_token, min_size=5, max_size=5).map(" ".join),
    st.lists(cron_token, min_size=0, max_size=7).map(" ".join),
    hostile_text,
)
time_zone = st.one_of(
    st.sampled_from(
        [
            "Asia/Shanghai",
            "UTC",
            "Europe/Paris",
            "America/New_York",
            "",
            " ",
            "America",
            "Asia",
            "../../../../etc/passwd",
            "/etc/passwd",
            "zone.tab",
            "tzdata.zi",
            "posixrules",
            "Etc/GMT+14",
            "a" * 300,
            "Asia/" + "x" * 1000,
            "Asia/Shanghai\x00",
            "\u202eUTC",
            "UTC\u200b",
            ".",
        ]
    ),
    hostile_text,
)


@HOSTILE
@given(cron_expression, time_zone)
def test_cron_parser_returns_a_trigger_or_refuses(expression: str, timezone: str) -> None:
    _tried("parse_cron")
    try:
        trigger = parse_cron(expression, timezone)
    except InvalidInput as refusal:
        assert refusal.message and len(refusal.message) < 500
        return
    assert isinstance(trigger, CronTrigger)


# ------------------------------------------------------------------ public ids

id_text = st.one_of(
    st.builds(
        lambda p, sep, zeros, n, pad: f"{pad}{p}{sep}{zeros}{n}{pad}",
        st.sampled_from(["TD", "td", "IN", "CASE", "", "T D", "ТD"]),  # the last one has a Cyrillic Т
        st.sampled_from(["-", "", "--", " ", "\u2011", "\u200b"]),
        st.sampled_from(["", "0", "000000", "0" * 50]),
        st.one_of(st.integers(-10, 10**15), st.sampled_from(["١٢٣", "１２３", "𝟏", "²", "1e3", "0x1F"])),
        st.sampled_from(["", " ", "\t", "\n", "\u3000", "\u202e"]),
    ),
    hostile_text,
)


@HOSTILE
@given(st.sampled_from(["TD", "IN", "CASE"]), id_text)
def test_id_parser_returns_a_positive_id_or_refuses(prefix: str, text: str) -> None:
    _tried("parse_id")
    try:
        number = parse_id(prefix, text)
    except InvalidInput as refusal:
        assert "ids look like" in refusal.message
        assert len(refusal.message) < 200
        return
    assert isinstance(number, int)
    assert 0 < number < 10**12


# ------------------------------------------------------------------ names


@HOSTILE
@given(st.one_of(hostile_text, st.text(any_char, max_size=150)), st.integers(1, 200))
def test_clean_name_returns_a_visible_single_line_name_or_refuses(name: str, limit: int) -> None:
    _tried("clean_name")
    try:
        cleaned = clean_name(name, "organisation name", limit)
    except InvalidInput as refusal:
        assert "organisation name" in refusal.message
        return
    assert 0 < len(cleaned) <= limit
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert not any(ch in cleaned for ch in CONTROLS + ZERO_WIDTH + BIDI)


# ------------------------------------------------------------------ enforcement case figures

amount_text = st.one_of(
    st.sampled_from(
        [
            "125000",
            "125,000.50",
            "1 000 000",
            "0",
            "-0",
            "-1",
            "0.001",
            "1e12",
            "1e12.5",
            "1E+999999999",
            "1E-999999999",
            "NaN",
            "sNaN",
            "-sNaN",
            "Infinity",
            "-inf",
            "",
            " ",
            "١٢٣",
            "１２３",
            "1_000",
            "999999999999.99",
            "1000000000000.01",
            "1" * 5000,
            "0." + "0" * 5000 + "1",
            "0E+999999999",
            "12,34,5.6",
            "$100",
            "100 CNY",
            "1.2.3",
            "\u202e100",
            "100\u200b",
            "1e-2",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(str),
    hostile_text,
)


@HOSTILE
@given(amount_text)
def test_seizure_amount_is_a_cent_value_in_range_or_refused(text: str) -> None:
    _tried("case_amount")
    try:
        value = _amount(text)
    except InvalidInput as refusal:
        assert refusal.message and len(refusal.message) < 200
        return
    assert isinstance(value, Decimal) and value.is_finite()
    assert Decimal(0) <= value <= MAX_SEIZURE
    assert value == value.quantize(Decimal("0.01"))


date_text = st.one_of(
    st.dates().map(date.isoformat),
    st.sampled_from(
        [
            "2026-02-30",
            "2026-13-01",
            "0000-01-01",
            "9999-12-31",
            "20260314",
            "2026-W11-6",
            "2026-073",
            "2026-03-14T10:00",
            "２０２６-０３-１４",
            "٢٠٢٦-٠٣-١٤",
            "2026-3-14",
            "14/03/2026",
            "",
            " ",
            "2026-03-14\x00",
            "\u202e2026-03-14",
            "2026-03-14\u200b",
            "9" * 5000,
        ]
    ),
    hostile_text,
)


@HOSTILE
@given(date_text)
def test_case_date_is_a_date_or_refused(text: str) -> None:
    _tried("case_date")
    try:
        value = _date(text)
    except InvalidInput as refusal:
        assert "YYYY-MM-DD" in refusal.message
        return
    assert isinstance(value, date)


# ------------------------------------------------------------------ escaping

LIVE_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>|<t:\d+(:[a-zA-Z])?>")


@HOSTILE
@given(st.one_of(hostile_text, st.text(any_char), st.lists(st.sampled_from(MENTIONS + tuple(SPECIAL))).map("".join)))
def test_escaped_text_never_mentions_and_keeps_its_letters(text: str) -> None:
    _tried("escape")
    shown = escape(text)
    assert LIVE_MENTION.search(shown) is None
    # nothing is lost: removing the escaping (backslashes, zero-width spaces) gives back the text
    assert shown.replace("\\", "").replace("\u200b", "") == text.replace("\\", "").replace("\u200b", "")


def test_escape_breaks_mentions_hidden_behind_invisible_characters() -> None:
    for text in ("@\u200deveryone", "<\u200d@123456789012345678>", "@\u2060here", "\u202e@everyone"):
        assert LIVE_MENTION.search(escape(text)) is None
