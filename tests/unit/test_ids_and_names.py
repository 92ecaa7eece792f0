"""Public ids, slugs and name hygiene."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.ids import format_id, parse_id
from bot.services.alliance import clean_name, slugify


def test_format_and_parse_round_trip() -> None:
    assert format_id("TD", 123) == "TD-000123"
    assert format_id("CASE", 1234567) == "CASE-1234567"
    for text in ("TD-000123", "td-123", "TD123", "123", " TD-00000123 "):
        assert parse_id("TD", text) == 123


@pytest.mark.parametrize("text", ["IN-000123", "TD-", "TD-0", "abc", "TD-12a", ""])
def test_parse_refuses_other_ids(text: str) -> None:
    with pytest.raises(InvalidInput, match="ids look like TD-000123"):
        parse_id("TD", text)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Food, Beverage & Pet", "food-beverage-pet"),
        ("Watches & Jewellery", "watches-jewellery"),
        ("  Électronique grand public ", "electronique-grand-public"),
        ("玩具", ""),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_clean_name_collapses_space_and_refuses_hidden_characters() -> None:
    assert clean_name("  Vantor   Watches ", "name") == "Vantor Watches"
    with pytest.raises(InvalidInput, match="invisible"):
        clean_name("Van\u200btor", "name")
    with pytest.raises(InvalidInput, match="cannot be empty"):
        clean_name(" \t ", "name")
    with pytest.raises(InvalidInput, match="at most 5"):
        clean_name("abcdefgh", "name", limit=5)
