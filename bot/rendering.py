"""Turning domain data into Discord text: escaping, timestamps, and Jinja2 templates.

User-provided text is never a template. Templates live in `templates/` and every value they
print is escaped for Discord markdown and mentions unless it was built here as `Safe` (a
timestamp, an id, a mention the bot means to show). So `{{ report.title }}` can never ping
@everyone or break the layout, whatever a member typed.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_SOURCE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_INSTALLED_TEMPLATES = Path(__file__).resolve().parent / "templates"

_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()])")
_LINE_START = re.compile(r"(?m)^(\s*)([#\-+]|\d+\.)(?=[\s#]|$)")  # markup only before a space: 100.00 stays
_MENTION = re.compile(r"@(everyone|here|[!&]?\d{15,20})")
_ZERO_WIDTH_SPACE = "\u200b"


class Safe(str):
    """Text the bot built itself and means to show as Discord markup."""


def escape(text: object) -> str:
    """Show `text` literally in Discord: markdown neutralised, mentions broken, no line tricks."""
    if isinstance(text, Safe):
        return text
    value = str(text)
    value = _MARKDOWN.sub(r"\\\1", value)
    value = _LINE_START.sub(r"\1\\\2", value)  # headings and lists only start a line
    value = value.replace("<", "<" + _ZERO_WIDTH_SPACE)  # <@id>, <@&id>, <#id>, <t:…> stay literal
    return _MENTION.sub("@" + _ZERO_WIDTH_SPACE + r"\1", value)


def code(text: object, limit: int = 100) -> Safe:
    """User text as an inline code span, shown exactly as typed: Discord renders no markdown
    inside one (so nothing is backslash-escaped, which would show), and the only characters that
    could end the span early, backticks and line breaks, become `'` and spaces. Mentions are
    still broken with a zero-width space, should a client ever read them there."""
    value = " ".join(str(text).replace("`", "'").split())[:limit]
    return Safe("`" + _MENTION.sub("@" + _ZERO_WIDTH_SPACE + r"\1", value) + "`") if value else Safe("")


def timestamp(moment: datetime, style: str = "f") -> Safe:
    """A Discord timestamp: every reader sees it in their own time zone."""
    return Safe(f"<t:{int(moment.timestamp())}:{style}>")


def when(moment: datetime) -> Safe:
    """Absolute and relative: `<t:…:f> (<t:…:R>)`."""
    return Safe(f"{timestamp(moment, 'f')} ({timestamp(moment, 'R')})")


def user_mention(user_id: int) -> Safe:
    return Safe(f"<@{int(user_id)}>")


def role_mention(role_id: int | None) -> Safe:
    return Safe(f"<@&{int(role_id)}>") if role_id else Safe("—")


def channel_mention(channel_id: int | None) -> Safe:
    return Safe(f"<#{int(channel_id)}>") if channel_id else Safe("—")


_PLAIN_URL = re.compile(r"https?://[^\s<>`|*_~\\]+")


def link(url: str) -> str:
    """A URL shown as a clickable link without an embed preview, if it is plain enough to be
    safe; anything else is shown escaped, as text."""
    return Safe(f"<{url}>") if _PLAIN_URL.fullmatch(url) and "@" not in url else escape(url)


def _template_dir() -> Path:
    return _SOURCE_TEMPLATES if _SOURCE_TEMPLATES.is_dir() else _INSTALLED_TEMPLATES


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_template_dir()),
        undefined=StrictUndefined,
        finalize=escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,  # HTML escaping is wrong for Discord; `finalize` escapes for Discord instead
    )
    env.filters.update(
        ts=timestamp, when=when, user=user_mention, role=role_mention, channel=channel_mention, link=link, code=code
    )
    return env


def render(name: str, **context: Any) -> str:
    """Render `templates/<name>` with every printed value escaped for Discord."""
    return environment().get_template(name).render(**context).strip()


MESSAGE_LIMIT = 2000  # Discord's limit on message content


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split on line boundaries into messages of at most `limit` characters.

    Nothing is dropped: a single over-long line is cut at the limit and continues in the next
    message, so figures are never silently truncated.
    """
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks
