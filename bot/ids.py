"""Short, stable public ids: `TD-000123`, `IN-000123`, `CASE-000123`."""

from __future__ import annotations

import re

from bot.errors import InvalidInput
from bot.rendering import code

PREFIXES = {"TD": "takedown", "IN": "intel report", "CASE": "enforcement case"}


def format_id(prefix: str, number: int) -> str:
    """`format_id("TD", 123)` → `TD-000123` (more digits once past a million)."""
    return f"{prefix}-{number:06d}"


def parse_id(prefix: str, text: str) -> int:
    """Accept `TD-000123`, `td-123`, `TD123` or `123`; refuse anything else with a clear reason."""
    match = re.fullmatch(rf"\s*(?:{re.escape(prefix)}-?)?0*(\d{{1,12}})\s*", text, re.IGNORECASE)
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(f"{code(text, 40)} is not a {PREFIXES[prefix]} id; ids look like {format_id(prefix, 123)}.")
    return int(match.group(1))
