"""Escaping and templates: user text is shown literally and pings no one."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.rendering import Safe, code, escape, render, split_message, timestamp, when

MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>|<#\d+>")


def test_mentions_are_broken_and_markdown_neutralised() -> None:
    text = escape("@everyone @here <@123456789012345678> <@&123456789012345678> **bold** `code` [x](http://y)")
    assert MENTION.search(text) is None
    assert "\\*\\*bold\\*\\*" in text
    assert "\\`code\\`" in text
    assert "\\[x\\]\\(http://y\\)" in text


def test_line_start_markup_is_escaped_but_inner_dashes_kept() -> None:
    assert escape("# Title\n- item\nLouis-Vuitton") == "\\# Title\n\\- item\nLouis-Vuitton"


@given(st.text())
def test_no_escaped_text_can_mention(text: str) -> None:
    assert MENTION.search(escape(text)) is None


def test_safe_text_passes_unchanged() -> None:
    assert escape(Safe("<t:1:f>")) == "<t:1:f>"


def test_timestamps() -> None:
    moment = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert timestamp(moment) == f"<t:{int(moment.timestamp())}:f>"
    assert when(moment) == f"<t:{int(moment.timestamp())}:f> (<t:{int(moment.timestamp())}:R>)"


def test_templates_escape_every_value_and_never_evaluate_user_text() -> None:
    text = render("group_welcome.md.j2", group_name="{{ 7*7 }} @everyone", user_id=42)
    assert "49" not in text
    assert "{{ 7\\*7 }}" in text or "{{ 7*7 }}" in text.replace("\\", "")
    assert "@everyone" not in text
    assert "<@42>" in text


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=2500), max_size=30))
def test_split_message_keeps_every_character_within_the_limit(lines: list[str]) -> None:
    text = "\n".join(lines)
    parts = split_message(text, limit=2000)
    assert all(len(part) <= 2000 for part in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")


def test_code_spans_show_user_text_as_typed_and_cannot_be_broken_out_of() -> None:
    assert code("web:shop.example.com/item/__y__") == "`web:shop.example.com/item/__y__`"
    shown = code("a`b\n@everyone **x**")
    assert shown == "`a'b @\u200beveryone **x**`"
    assert shown.count("`") == 2 and code("") == ""


def test_a_chat_answer_says_when_the_network_was_cut_at_the_walk_limit() -> None:
    from bot.services.intel import ChatFinding

    def answer(cut: bool) -> str:
        finding = ChatFinding(key="taobao:1", url="https://item.taobao.com/item.htm?id=1", takedowns=0,
                              latest_status=None, network=100, network_cut=cut, report_ids=["IN-000001"])
        return render("intel_chat.md.j2", findings=[finding])

    assert "intel network of more than 100 report(s)" in answer(True)
    assert "intel network of 100 report(s)" in answer(False)
