"""Free text that members type (titles, observations, notes, summaries) as the bot keeps it."""

from __future__ import annotations

# C0 controls except tab and line feed, DEL and the C1 controls: they mean nothing in a Discord
# message, terminals and spreadsheets may act on them, and PostgreSQL cannot store NUL at all.
_CONTROLS = dict.fromkeys([*(code for code in range(0x20) if chr(code) not in "\t\n"), *range(0x7F, 0xA0)])


def plain_text(value: str) -> str:
    """`value` trimmed and without control characters; everything else is kept literally."""
    return value.translate(_CONTROLS).strip()
